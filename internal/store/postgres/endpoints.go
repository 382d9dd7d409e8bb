package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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
	var metadata, oldSecrets, headers, options, disabledReason []byte
	var disabledAt *time.Time
	dest := []any{&ep.ID, &ep.AppID, &ep.UID, &ep.URL, &ep.Description, &ep.Version, &ep.RateLimit,
		&ep.FilterTypes, &ep.Channels, &ep.Disabled, &metadata, &ep.Secret, &oldSecrets, &headers,
		&ep.Sensitive, &options, &ep.CreatedAt, &ep.UpdatedAt, &ep.Revision, &disabledAt, &disabledReason}
	finish := func() error {
		if err := decodeJSON(metadata, &ep.Metadata, "metadata"); err != nil {
			return err
		}
		if err := decodeJSON(oldSecrets, &ep.OldSecrets, "old_secrets"); err != nil {
			return err
		}
		if err := decodeJSON(headers, &ep.Headers, "headers"); err != nil {
			return err
		}
		var err error
		if ep.DisabledReason, err = store.DecodeDisabled(normTimePtr(disabledAt), disabledReason); err != nil {
			return err
		}
		ep.Options, err = store.DecodeOptions(options)
		return err
	}
	return dest, finish
}

func scanEndpoint(row pgx.Row) (*hookrelay.Endpoint, error) {
	var ep hookrelay.Endpoint
	dest, finish := endpointDest(&ep)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return &ep, nil
}

// endpointArgs returns the values of every column after id and app_id up to
// options, in endpointColumns order. It normalises the expiry times of
// ep.OldSecrets.
func endpointArgs(ep *hookrelay.Endpoint) ([]any, error) {
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
	options, err := store.EncodeOptions(ep.Options)
	if err != nil {
		return nil, err
	}
	return []any{ep.UID, ep.URL, ep.Description, ep.Version, ep.RateLimit,
		ep.FilterTypes, ep.Channels, ep.Disabled, metadata, ep.Secret, oldSecrets, headers,
		ep.Sensitive, options}, nil
}

// disabledArgs returns the values of disabled_at and disabled_reason: ep's
// DisabledReason while it is disabled, else NULL.
func disabledArgs(ep *hookrelay.Endpoint) ([]any, error) {
	at, reason, err := store.EncodeDisabled(ep)
	if err != nil || reason == nil {
		return []any{nil, nil}, err
	}
	return []any{normTime(*at), reason}, nil
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
	args = append(args, ep.CreatedAt, ep.UpdatedAt, firstRevision)
	args = append(args, off...)
	_, err = s.pool.Exec(ctx,
		`INSERT INTO endpoints (`+endpointColumns+`)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`, args...)
	if err != nil {
		return fmt.Errorf("create endpoint: %w", mapErr(err))
	}
	ep.Revision = firstRevision
	return nil
}

// firstRevision is the revision of a new endpoint.
const firstRevision int64 = 1

// GetEndpoint finds an endpoint of appID by ID, or else by uid.
func (s *Store) GetEndpoint(ctx context.Context, appID, idOrUID string) (*hookrelay.Endpoint, error) {
	if !textKeys(appID, idOrUID) {
		return nil, fmt.Errorf("get endpoint: %w", hookrelay.ErrNotFound)
	}
	row := s.pool.QueryRow(ctx,
		`SELECT `+endpointColumns+` FROM endpoints
		 WHERE app_id = $1 AND (id = $2 OR uid = $2)
		 ORDER BY id = $2 DESC LIMIT 1`,
		appID, idOrUID)
	ep, err := scanEndpoint(row)
	if err != nil {
		return nil, fmt.Errorf("get endpoint: %w", mapErr(err))
	}
	return ep, nil
}

// UpdateEndpoint writes every mutable field of the endpoint with ep.ID in
// ep.AppID, if its stored revision is still ep.Revision, and then moves
// ep.Revision to the new stored one. A stored revision that moved on is
// ErrStale and writes nothing. UpdatedAt is set to now when zero.
//
// A concurrent update of the same row waits for the first to commit and
// then finds the revision moved (READ COMMITTED re-checks the WHERE clause
// on the new row version), so only one of two writers over one revision
// succeeds.
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
	args := append(vals, ep.UpdatedAt)
	args = append(args, off...)
	args = append(args, ep.ID, ep.AppID, ep.Revision)
	err = mustAffect(s.pool.Exec(ctx,
		`UPDATE endpoints SET uid = $1, url = $2, description = $3, version = $4, rate_limit = $5,
		 filter_types = $6, channels = $7, disabled = $8, metadata = $9, secret = $10, old_secrets = $11,
		 headers = $12, sensitive = $13, options = $14, updated_at = $15, disabled_at = $16,
		 disabled_reason = $17, revision = revision + 1
		 WHERE id = $18 AND app_id = $19 AND revision = $20`, args...))
	if errors.Is(err, hookrelay.ErrNotFound) {
		// Either the endpoint is gone or it was written since ep was read.
		var exists bool
		if serr := s.pool.QueryRow(ctx,
			`SELECT EXISTS (SELECT 1 FROM endpoints WHERE id = $1 AND app_id = $2)`, ep.ID, ep.AppID).Scan(&exists); serr != nil {
			err = serr
		} else if exists {
			err = hookrelay.ErrStale
		}
	}
	if err != nil {
		return fmt.Errorf("update endpoint: %w", mapErr(err))
	}
	ep.Revision++
	if !ep.Disabled {
		// Done after the write: a claim that parks after it sees the
		// endpoint enabled and parks nothing. Should it fail, the parked
		// deliveries are due again at the time they were parked until.
		_ = s.unpark(ctx, ep.ID, time.Now())
	}
	return nil
}

// DeleteEndpoint removes the endpoint with its deliveries and their attempts.
func (s *Store) DeleteEndpoint(ctx context.Context, appID, id string) error {
	err := mustAffect(s.pool.Exec(ctx,
		`DELETE FROM endpoints WHERE id = $1 AND app_id = $2`, id, appID))
	if err != nil {
		return fmt.Errorf("delete endpoint: %w", err)
	}
	return nil
}

// ListEndpoints lists the endpoints of appID by ID in page.Order.
func (s *Store) ListEndpoints(ctx context.Context, appID string, page store.Page) ([]hookrelay.Endpoint, error) {
	var q query
	q.add(`SELECT ` + endpointColumns + ` FROM endpoints WHERE app_id = ` + q.arg(appID))
	q.page("id", page)
	out, err := queryList(ctx, s.pool, &q, scanEndpoint)
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
	var q query
	q.add(`SELECT d.status, coalesce(d.status = 1 AND d.lease_until > ` + q.arg(time.Now()) + `, false), count(*)
		FROM deliveries d`)
	if since != nil || until != nil {
		q.add(` JOIN messages m ON m.id = d.msg_id`)
	}
	q.add(` WHERE d.endpoint_id = ` + q.arg(endpointID) + ` AND d.app_id = ` + q.arg(appID))
	if since != nil {
		q.add(` AND m.created_at >= ` + q.arg(*since))
	}
	if until != nil {
		q.add(` AND m.created_at < ` + q.arg(*until))
	}
	q.add(` GROUP BY 1, 2`)

	// The existence check and the counts run in one round trip.
	b := &pgx.Batch{}
	var exists bool
	b.Queue(`SELECT EXISTS (SELECT 1 FROM endpoints WHERE id = $1 AND app_id = $2)`, endpointID, appID).
		QueryRow(func(row pgx.Row) error { return row.Scan(&exists) })
	b.Queue(q.String(), q.args...).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var status int
			var sending bool
			var n int64
			if err := rows.Scan(&status, &sending, &n); err != nil {
				return err
			}
			switch {
			case sending:
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
		return rows.Err()
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return hookrelay.EndpointStats{}, fmt.Errorf("endpoint stats: %w", err)
	}
	if !exists {
		return hookrelay.EndpointStats{}, fmt.Errorf("endpoint stats: %w", hookrelay.ErrNotFound)
	}
	return st, nil
}
