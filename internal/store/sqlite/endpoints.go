package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

const endpointColumns = `id, app_id, uid, url, description, version, rate_limit, filter_types,
	channels, disabled, metadata, secret, old_secrets, headers, sensitive, options, created_at, updated_at, revision,
	disabled_at, disabled_reason`

// endpointColumnsOf is endpointColumns qualified with the table alias e.
const endpointColumnsOf = `e.id, e.app_id, e.uid, e.url, e.description, e.version, e.rate_limit, e.filter_types,
	e.channels, e.disabled, e.metadata, e.secret, e.old_secrets, e.headers, e.sensitive, e.options, e.created_at, e.updated_at, e.revision,
	e.disabled_at, e.disabled_reason`

// endpointDest returns the scan destinations for endpointColumns and a
// function that finishes ep once the row is scanned.
func endpointDest(ep *hookrelay.Endpoint) ([]any, func() error) {
	var uid, filterTypes, channels, metadata, oldSecrets, headers, sensitive, disabledReason sql.NullString
	var rate, disabledAt sql.NullInt64
	var disabled int
	var options string
	var created, updated int64
	dest := []any{&ep.ID, &ep.AppID, &uid, &ep.URL, &ep.Description, &ep.Version, &rate,
		&filterTypes, &channels, &disabled, &metadata, &ep.Secret, &oldSecrets, &headers,
		&sensitive, &options, &created, &updated, &ep.Revision, &disabledAt, &disabledReason}
	finish := func() error {
		ep.UID = fromNullString(uid)
		ep.RateLimit = fromNullInt(rate)
		ep.Disabled = disabled != 0
		for _, c := range []struct {
			v    sql.NullString
			dst  any
			name string
		}{
			{filterTypes, &ep.FilterTypes, "filter_types"},
			{channels, &ep.Channels, "channels"},
			{metadata, &ep.Metadata, "metadata"},
			{oldSecrets, &ep.OldSecrets, "old_secrets"},
			{headers, &ep.Headers, "headers"},
			{sensitive, &ep.Sensitive, "sensitive"},
		} {
			if err := decodeJSON(c.v, c.dst, c.name); err != nil {
				return err
			}
		}
		var err error
		if ep.Options, err = store.DecodeOptions([]byte(options)); err != nil {
			return err
		}
		if disabledReason.Valid {
			if ep.DisabledReason, err = store.DecodeDisabled(fromNullMicros(disabledAt), []byte(disabledReason.String)); err != nil {
				return err
			}
		}
		ep.CreatedAt = fromMicros(created)
		ep.UpdatedAt = fromMicros(updated)
		return nil
	}
	return dest, finish
}

func scanEndpoint(sc scanner) (*hookrelay.Endpoint, error) {
	var ep hookrelay.Endpoint
	dest, finish := endpointDest(&ep)
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return &ep, nil
}

// endpointArgs returns the values of every column after id and app_id up to
// options, in endpointColumns order.
func endpointArgs(ep *hookrelay.Endpoint) ([]any, error) {
	filterTypes, err := jsonSlice(ep.FilterTypes)
	if err != nil {
		return nil, err
	}
	channels, err := jsonSlice(ep.Channels)
	if err != nil {
		return nil, err
	}
	metadata, err := jsonMap(ep.Metadata)
	if err != nil {
		return nil, err
	}
	for i := range ep.OldSecrets {
		ep.OldSecrets[i].ExpiresAt = normTime(ep.OldSecrets[i].ExpiresAt)
	}
	oldSecrets, err := jsonSlice(ep.OldSecrets)
	if err != nil {
		return nil, err
	}
	headers, err := jsonMap(ep.Headers)
	if err != nil {
		return nil, err
	}
	sensitive, err := jsonSlice(ep.Sensitive)
	if err != nil {
		return nil, err
	}
	optionsJSON, err := store.EncodeOptions(ep.Options)
	options := string(optionsJSON)
	if err != nil {
		return nil, err
	}
	return []any{nullString(ep.UID), ep.URL, ep.Description, ep.Version, nullInt(ep.RateLimit),
		filterTypes, channels, boolInt(ep.Disabled), metadata, ep.Secret, oldSecrets, headers,
		sensitive, options}, nil
}

// disabledArgs returns the values of disabled_at and disabled_reason: ep's
// DisabledReason while it is disabled, else NULL.
func disabledArgs(ep *hookrelay.Endpoint) ([]any, error) {
	at, reason, err := store.EncodeDisabled(ep)
	if err != nil || reason == nil {
		return []any{nil, nil}, err
	}
	return []any{micros(*at), string(reason)}, nil
}

// CreateEndpoint stores ep, giving it an ID and times when they are unset.
// A uid taken in the application is ErrConflict; a missing application is
// ErrNotFound.
func (s *Store) CreateEndpoint(ctx context.Context, ep *hookrelay.Endpoint) error {
	if ep.ID == "" {
		ep.ID = hookrelay.NewID(hookrelay.PrefixEndpoint)
	}
	ep.CreatedAt = nowOr(ep.CreatedAt)
	if ep.UpdatedAt.IsZero() {
		ep.UpdatedAt = ep.CreatedAt
	}
	ep.UpdatedAt = normTime(ep.UpdatedAt)
	vals, err := endpointArgs(ep)
	if err != nil {
		return fmt.Errorf("create endpoint: %w", err)
	}
	off, err := disabledArgs(ep)
	if err != nil {
		return fmt.Errorf("create endpoint: %w", err)
	}
	args := append([]any{ep.ID, ep.AppID}, vals...)
	args = append(args, micros(ep.CreatedAt), micros(ep.UpdatedAt), firstRevision)
	args = append(args, off...)
	_, err = s.writeEndpoints(ctx,
		`INSERT INTO endpoints (`+endpointColumns+`)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	if err != nil {
		return fmt.Errorf("create endpoint: %w", mapInsertErr(err))
	}
	ep.Revision = firstRevision
	return nil
}

// firstRevision is the revision of a new endpoint.
const firstRevision = 1

// GetEndpoint finds an endpoint of appID by ID, or else by uid.
func (s *Store) GetEndpoint(ctx context.Context, appID, idOrUID string) (*hookrelay.Endpoint, error) {
	row := s.rdb.QueryRowContext(ctx,
		`SELECT `+endpointColumns+` FROM endpoints
		 WHERE app_id = ? AND (id = ? OR uid = ?)
		 ORDER BY id = ? DESC LIMIT 1`,
		appID, idOrUID, idOrUID, idOrUID)
	ep, err := scanEndpoint(row)
	if err != nil {
		return nil, fmt.Errorf("get endpoint: %w", notFound(err))
	}
	return ep, nil
}

// UpdateEndpoint writes every mutable field of the endpoint with ep.ID in
// ep.AppID, if its stored revision is still ep.Revision, and then moves
// ep.Revision to the new stored one. A stored revision that moved on is
// ErrStale and writes nothing. UpdatedAt is set to now when zero.
func (s *Store) UpdateEndpoint(ctx context.Context, ep *hookrelay.Endpoint) error {
	ep.UpdatedAt = nowOr(ep.UpdatedAt)
	vals, err := endpointArgs(ep)
	if err != nil {
		return fmt.Errorf("update endpoint: %w", err)
	}
	off, err := disabledArgs(ep)
	if err != nil {
		return fmt.Errorf("update endpoint: %w", err)
	}
	args := append(vals, micros(ep.UpdatedAt))
	args = append(args, off...)
	args = append(args, ep.ID, ep.AppID, ep.Revision)
	err = mustAffect(s.writeEndpoints(ctx,
		`UPDATE endpoints SET uid = ?, url = ?, description = ?, version = ?, rate_limit = ?,
		 filter_types = ?, channels = ?, disabled = ?, metadata = ?, secret = ?, old_secrets = ?,
		 headers = ?, sensitive = ?, options = ?, updated_at = ?, disabled_at = ?, disabled_reason = ?,
		 revision = revision + 1
		 WHERE id = ? AND app_id = ? AND revision = ?`, args...))
	if errors.Is(err, hookrelay.ErrNotFound) {
		// Either the endpoint is gone or it was written since ep was read.
		var one int
		if serr := s.rdb.QueryRowContext(ctx,
			`SELECT 1 FROM endpoints WHERE id = ? AND app_id = ?`, ep.ID, ep.AppID).Scan(&one); serr == nil {
			err = hookrelay.ErrStale
		} else if !errors.Is(serr, sql.ErrNoRows) {
			err = serr
		}
	}
	if err != nil {
		return fmt.Errorf("update endpoint: %w", mapInsertErr(err))
	}
	ep.Revision++
	if !ep.Disabled {
		// Done after the write: a claim that parks after it sees the
		// endpoint enabled and parks nothing. Should it fail, the parked
		// deliveries are due again at the time they were parked until.
		_ = s.unpark(ctx, ep.ID, normTime(time.Now()))
	}
	return nil
}

// DeleteEndpoint removes the endpoint with its deliveries and their attempts.
func (s *Store) DeleteEndpoint(ctx context.Context, appID, id string) error {
	err := mustAffect(s.writeEndpoints(ctx,
		`DELETE FROM endpoints WHERE id = ? AND app_id = ?`, id, appID))
	if err != nil {
		return fmt.Errorf("delete endpoint: %w", err)
	}
	return nil
}

// ListEndpoints lists the endpoints of appID by ID in page.Order.
func (s *Store) ListEndpoints(ctx context.Context, appID string, page store.Page) ([]hookrelay.Endpoint, error) {
	cond, order, args := pageClause("id", page, []any{appID})
	out, err := queryList(ctx, s.rdb,
		`SELECT `+endpointColumns+` FROM endpoints WHERE app_id = ?`+cond+order+` LIMIT ?`,
		append(args, limitArg(page)), scanEndpoint)
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	return out, nil
}

// EndpointStats counts the endpoint's deliveries by status, only those whose
// message was created in [since, until) when the bounds are given. A
// pending delivery under a live lease counts as sending.
func (s *Store) EndpointStats(ctx context.Context, appID, endpointID string, since, until *time.Time) (hookrelay.EndpointStats, error) {
	var st hookrelay.EndpointStats
	var exists int
	err := s.rdb.QueryRowContext(ctx,
		`SELECT 1 FROM endpoints WHERE id = ? AND app_id = ?`, endpointID, appID).Scan(&exists)
	if err != nil {
		return st, fmt.Errorf("endpoint stats: %w", notFound(err))
	}
	q := `SELECT d.status, d.status = 1 AND d.lease_until > ?, count(*) FROM deliveries d`
	args := []any{micros(now())}
	where := ` WHERE d.endpoint_id = ? AND d.app_id = ?`
	if since != nil || until != nil {
		q += ` JOIN messages m ON m.id = d.msg_id`
		if since != nil {
			where += ` AND m.created_at >= ?`
		}
		if until != nil {
			where += ` AND m.created_at < ?`
		}
	}
	args = append(args, endpointID, appID)
	if since != nil {
		args = append(args, micros(*since))
	}
	if until != nil {
		args = append(args, micros(*until))
	}
	rows, err := s.rdb.QueryContext(ctx, q+where+` GROUP BY 1, 2`, args...)
	if err != nil {
		return st, fmt.Errorf("endpoint stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var status int
		var sending sql.NullBool
		var n int64
		if err := rows.Scan(&status, &sending, &n); err != nil {
			return st, fmt.Errorf("endpoint stats: %w", err)
		}
		switch {
		case sending.Bool:
			st.Sending += n
		case hookrelay.MessageStatus(status) == hookrelay.StatusSuccess:
			st.Success += n
		case hookrelay.MessageStatus(status) == hookrelay.StatusPending:
			st.Pending += n
		case hookrelay.MessageStatus(status) == hookrelay.StatusFail:
			st.Fail += n
		case hookrelay.MessageStatus(status) == hookrelay.StatusSending:
			st.Sending += n
		}
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("endpoint stats: %w", err)
	}
	return st, nil
}
