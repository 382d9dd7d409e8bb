package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

const attemptColumns = `a.id, a.delivery_id, a.msg_id, a.app_id, a.endpoint_id, a.url, a.status,
	a.response_status_code, a.response, a.response_duration_ms, a.trigger_type, a.created_at, a.outcome`

func scanAttempt(sc scanner) (*hookrelay.Attempt, error) {
	var a hookrelay.Attempt
	var status, trigger, outcome int
	var created int64
	if err := sc.Scan(&a.ID, &a.DeliveryID, &a.MsgID, &a.AppID, &a.EndpointID, &a.URL, &status,
		&a.ResponseStatusCode, &a.Response, &a.ResponseDurationMs, &trigger, &created, &outcome); err != nil {
		return nil, err
	}
	a.Status = hookrelay.MessageStatus(status)
	a.TriggerType = hookrelay.TriggerType(trigger)
	a.Outcome = hookrelay.OutcomeKind(outcome)
	if a.Outcome == hookrelay.OutcomeUnknown {
		a.Outcome = hookrelay.DeriveOutcome(a.Status, a.ResponseStatusCode)
	}
	a.CreatedAt = fromMicros(created)
	return &a, nil
}

// ListAttempts lists the attempts of p.AppID, narrowed to p.EndpointID
// and/or p.MsgID, newest first. Before and After bound the attempt's time;
// Channel, Tag and EventTypes filter by its message.
func (s *Store) ListAttempts(ctx context.Context, p store.ListAttemptsParams) ([]hookrelay.Attempt, error) {
	if p.Status != nil && !store.AttemptStatus(*p.Status) {
		return nil, nil
	}
	q, args := attemptsQuery(p)
	out, err := queryList(ctx, s.rdb, q, args, scanAttempt)
	if err != nil {
		return nil, fmt.Errorf("list attempts: %w", err)
	}
	return out, nil
}

// attemptsQuery is ListAttempts' statement and arguments. By endpoint or
// message it reads attempts_endpoint or attempts_msg: the unary + keeps
// SQLite, which has no statistics here, from taking attempts_app_failed
// for its equality instead. Across the application, failed ones read
// attempts_app_failed, partial on status 2: the status is written in the
// statement, since SQLite uses a partial index only for a condition that
// matches its predicate as written. Succeeded ones walk the application's
// endpoints one by one, each one's page of succeeded attempts read
// newest first through attempts_endpoint (most attempts succeed: each
// finds its page soon), and merge them: at most a page per endpoint is
// sorted. After also bounds the ID, so that a listing since a time is an
// index range from there (see store.ListAttemptsParams).
func attemptsQuery(p store.ListAttemptsParams) (string, []any) {
	if p.EndpointID == "" && p.MsgID == "" && p.Status != nil && *p.Status == hookrelay.StatusSuccess {
		// SQLite has no LATERAL: the attempts joined to each endpoint are
		// the rows of a correlated subquery, whose own a is the attempts
		// it reads. An attempt's application is its endpoint's.
		page, args := attemptsPage(p, ` WHERE a.endpoint_id = e.id`, nil, `a.rowid`)
		return `SELECT ` + attemptColumns + ` FROM endpoints e JOIN attempts a ON a.rowid IN (` + page + `)
			WHERE e.app_id = ? ORDER BY a.id DESC LIMIT ?`, append(args, p.AppID, limitArg(p.Page))
	}
	where, args := ` WHERE a.app_id = ?`, []any{p.AppID}
	if p.EndpointID != "" || p.MsgID != "" {
		where = ` WHERE +a.app_id = ?`
	}
	if p.EndpointID != "" {
		where += ` AND a.endpoint_id = ?`
		args = append(args, p.EndpointID)
	}
	if p.MsgID != "" {
		where += ` AND a.msg_id = ?`
		args = append(args, p.MsgID)
	}
	return attemptsPage(p, where, args, attemptColumns)
}

// attemptsPage is a page of columns of attempts a (with their message m
// when a filter needs it) meeting where (" WHERE ...", with args) and the
// filters of p other than its application, endpoint and message, newest
// first, and its arguments.
func attemptsPage(p store.ListAttemptsParams, where string, args []any, columns string) (string, []any) {
	q := `SELECT ` + columns + ` FROM attempts a`
	f := msgFilter{Channel: p.Channel, Tag: p.Tag, EventTypes: p.EventTypes}
	if !f.empty() {
		q += ` JOIN messages m ON m.id = a.msg_id`
	}
	q += where
	if p.Status != nil {
		q += ` AND a.status = ` + strconv.Itoa(int(*p.Status))
	}
	if p.StatusCodeClass != nil {
		// Class 0 is "no response" (code 0); class N is N..N+99.
		lo := *p.StatusCodeClass
		hi := lo + 100
		q += ` AND a.response_status_code >= ? AND a.response_status_code < ?`
		args = append(args, lo, hi)
	}
	if p.Before != nil {
		q += ` AND a.created_at < ?`
		args = append(args, micros(*p.Before))
	}
	if p.After != nil {
		q += ` AND a.created_at > ? AND a.id >= ?`
		args = append(args, micros(*p.After), p.IDAfter())
	}
	cond, args := f.where(args)
	page, order, args := newestFirst("a.id", p.Page, args)
	return q + cond + page + order + ` LIMIT ?`, append(args, limitArg(p.Page))
}

func (s *Store) GetAttempt(ctx context.Context, appID, msgID, attemptID string) (*hookrelay.Attempt, error) {
	row := s.rdb.QueryRowContext(ctx,
		`SELECT `+attemptColumns+` FROM attempts a WHERE a.id = ? AND a.msg_id = ? AND a.app_id = ?`,
		attemptID, msgID, appID)
	a, err := scanAttempt(row)
	if err != nil {
		return nil, fmt.Errorf("get attempt: %w", notFound(err))
	}
	return a, nil
}

// ExpungeAttemptContent empties the stored response body of the attempt.
func (s *Store) ExpungeAttemptContent(ctx context.Context, appID, msgID, attemptID string) error {
	err := mustAffect(s.wdb.ExecContext(ctx,
		`UPDATE attempts SET response = '' WHERE id = ? AND msg_id = ? AND app_id = ?`,
		attemptID, msgID, appID))
	if err != nil {
		return fmt.Errorf("expunge attempt content: %w", err)
	}
	return nil
}

const deliveryColumns = `id, msg_id, app_id, endpoint_id, status, attempts, next_attempt, manual, created_at, updated_at`

const deliveryColumnsOf = `d.id, d.msg_id, d.app_id, d.endpoint_id, d.status, d.attempts, d.next_attempt, d.manual,
	d.created_at, d.updated_at`

// deliveryDest returns the scan destinations for deliveryColumns and a
// function that finishes d once the row is scanned.
func deliveryDest(d *hookrelay.Delivery) ([]any, func()) {
	var status, manual int
	var next sql.NullInt64
	var created, updated int64
	dest := []any{&d.ID, &d.MsgID, &d.AppID, &d.EndpointID, &status, &d.Attempts, &next, &manual,
		&created, &updated}
	return dest, func() {
		d.Status = hookrelay.MessageStatus(status)
		d.NextAttempt = fromNullMicros(next)
		d.Manual = manual != 0
		d.CreatedAt = fromMicros(created)
		d.UpdatedAt = fromMicros(updated)
	}
}

func scanDelivery(sc scanner) (*hookrelay.Delivery, error) {
	var d hookrelay.Delivery
	dest, finish := deliveryDest(&d)
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	finish()
	return &d, nil
}

// ListEndpointMessages lists the messages queued for p.EndpointID with
// their delivery, newest message first; the iterator is a message ID.
func (s *Store) ListEndpointMessages(ctx context.Context, p store.ListDeliveriesParams) ([]store.EndpointMessage, error) {
	q := `SELECT ` + messageColumnsOf + `, ` + deliveryColumnsOf + `
		FROM deliveries d JOIN messages m ON m.id = d.msg_id
		WHERE d.endpoint_id = ? AND d.app_id = ?`
	args := []any{p.EndpointID, p.AppID}
	if p.Status != nil {
		q += ` AND d.status = ?`
		args = append(args, int(*p.Status))
	}
	f := msgFilter{Channel: p.Channel, Tag: p.Tag, EventTypes: p.EventTypes, Before: p.Before, After: p.After}
	cond, args := f.where(args)
	page, order, args := newestFirst("d.msg_id", p.Page, args)
	out, err := queryList(ctx, s.rdb, q+cond+page+order+` LIMIT ?`, append(args, limitArg(p.Page)),
		func(sc scanner) (*store.EndpointMessage, error) {
			var em store.EndpointMessage
			mdest, mfinish := messageDest(&em.Message)
			ddest, dfinish := deliveryDest(&em.Delivery)
			if err := sc.Scan(append(mdest, ddest...)...); err != nil {
				return nil, err
			}
			if err := mfinish(); err != nil {
				return nil, err
			}
			dfinish()
			return &em, nil
		})
	if err != nil {
		return nil, fmt.Errorf("list endpoint messages: %w", err)
	}
	return out, nil
}

// ListMessageDestinations lists the endpoints p.MsgID was queued for with
// their delivery, by endpoint ID descending; the iterator is an endpoint
// ID.
func (s *Store) ListMessageDestinations(ctx context.Context, p store.ListDeliveriesParams) ([]store.MessageDestination, error) {
	f := msgFilter{Channel: p.Channel, Tag: p.Tag, EventTypes: p.EventTypes, Before: p.Before, After: p.After}
	q := `SELECT ` + endpointColumnsOf + `, ` + deliveryColumnsOf + `
		FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id`
	if !f.empty() {
		q += ` JOIN messages m ON m.id = d.msg_id`
	}
	q += ` WHERE d.msg_id = ? AND d.app_id = ?`
	args := []any{p.MsgID, p.AppID}
	if p.Status != nil {
		q += ` AND d.status = ?`
		args = append(args, int(*p.Status))
	}
	cond, args := f.where(args)
	page, order, args := newestFirst("d.endpoint_id", p.Page, args)
	out, err := queryList(ctx, s.rdb, q+cond+page+order+` LIMIT ?`, append(args, limitArg(p.Page)),
		func(sc scanner) (*store.MessageDestination, error) {
			var md store.MessageDestination
			edest, efinish := endpointDest(&md.Endpoint)
			ddest, dfinish := deliveryDest(&md.Delivery)
			if err := sc.Scan(append(edest, ddest...)...); err != nil {
				return nil, err
			}
			if err := efinish(); err != nil {
				return nil, err
			}
			dfinish()
			return &md, nil
		})
	if err != nil {
		return nil, fmt.Errorf("list message destinations: %w", err)
	}
	return out, nil
}

// existsIn returns ErrNotFound unless query finds a row.
func existsIn(ctx context.Context, tx *sql.Tx, query string, args ...any) error {
	var one int
	return notFound(tx.QueryRowContext(ctx, query, args...).Scan(&one))
}

// Resend makes the delivery of msgID to endpointID pending, due at now and
// manual, creating it when missing. Its attempt count and any lease are
// kept.
func (s *Store) Resend(ctx context.Context, appID, msgID, endpointID string, now time.Time) error {
	at := micros(now)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := existsIn(ctx, tx, `SELECT 1 FROM messages WHERE id = ? AND app_id = ?`, msgID, appID); err != nil {
			return err
		}
		if err := existsIn(ctx, tx, `SELECT 1 FROM endpoints WHERE id = ? AND app_id = ?`, endpointID, appID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO deliveries
			 (id, msg_id, endpoint_id, app_id, status, attempts, next_attempt, manual, created_at, updated_at)
			 VALUES (?, ?, ?, ?, 1, 0, ?, 1, ?, ?)
			 ON CONFLICT (msg_id, endpoint_id) DO UPDATE SET
			   status = 1, next_attempt = excluded.next_attempt, manual = 1, updated_at = excluded.updated_at`,
			hookrelay.NewID(hookrelay.PrefixDelivery), msgID, endpointID, appID, at, at, at)
		return err
	})
	if err != nil {
		return fmt.Errorf("resend: %w", err)
	}
	return nil
}
