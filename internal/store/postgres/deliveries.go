package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

const attemptColumns = `a.id, a.delivery_id, a.msg_id, a.app_id, a.endpoint_id, a.url, a.status,
	a.response_status_code, a.response, a.response_duration_ms, a.trigger_type, a.created_at, a.outcome`

func scanAttempt(row pgx.Row) (*hookrelay.Attempt, error) {
	var a hookrelay.Attempt
	var status, trigger, outcome int
	var response []byte
	if err := row.Scan(&a.ID, &a.DeliveryID, &a.MsgID, &a.AppID, &a.EndpointID, &a.URL, &status,
		&a.ResponseStatusCode, &response, &a.ResponseDurationMs, &trigger, &a.CreatedAt, &outcome); err != nil {
		return nil, err
	}
	a.Response = string(response)
	a.Status = hookrelay.MessageStatus(status)
	a.TriggerType = hookrelay.TriggerType(trigger)
	// 0 is an attempt recorded by a node that predates the column.
	a.Outcome = hookrelay.OutcomeKind(outcome)
	if a.Outcome == hookrelay.OutcomeUnknown {
		a.Outcome = hookrelay.DeriveOutcome(a.Status, a.ResponseStatusCode)
	}
	return &a, nil
}

// ListAttempts lists the attempts of p.AppID, narrowed to p.EndpointID
// and/or p.MsgID, newest first. Before and After bound the attempt's time;
// Channel, Tag and EventTypes filter by its message.
func (s *Store) ListAttempts(ctx context.Context, p store.ListAttemptsParams) ([]hookrelay.Attempt, error) {
	if p.Status != nil && !store.AttemptStatus(*p.Status) {
		return nil, nil
	}
	out, err := queryList(ctx, s.pool, attemptsQuery(p), scanAttempt)
	if err != nil {
		return nil, fmt.Errorf("list attempts: %w", err)
	}
	return out, nil
}

// attemptsQuery is ListAttempts' statement. By endpoint or message it reads
// attempts_endpoint or attempts_msg. Across the application, failed ones
// read attempts_app_failed, partial on status 2: the status is written in
// the statement, not passed, so that a generic plan of it still matches
// the index's predicate. Succeeded ones walk the application's endpoints
// one by one, each one's page of succeeded attempts read newest first
// through attempts_endpoint (most attempts succeed: each finds its page
// soon), and merge them: at most a page per endpoint is sorted. After also
// bounds the ID, so that a listing since a time is an index range from
// there (see store.ListAttemptsParams).
func attemptsQuery(p store.ListAttemptsParams) *query {
	var q query
	if p.EndpointID == "" && p.MsgID == "" && p.Status != nil && *p.Status == hookrelay.StatusSuccess {
		// An attempt's application is its endpoint's: a condition on
		// a.app_id too would only make PostgreSQL, which takes the two for
		// independent, expect a fiftieth of the rows and read them all.
		q.add(`SELECT ` + attemptColumns + ` FROM endpoints e CROSS JOIN LATERAL (`)
		attemptsPage(&q, p, ` WHERE a.endpoint_id = e.id`)
		q.add(`) a WHERE e.app_id = ` + q.arg(p.AppID))
		q.newestFirst("a.id", store.Page{Limit: p.Page.Limit})
		return &q
	}
	where := ` WHERE a.app_id = ` + q.arg(p.AppID)
	if p.EndpointID != "" {
		where += ` AND a.endpoint_id = ` + q.arg(p.EndpointID)
	}
	if p.MsgID != "" {
		where += ` AND a.msg_id = ` + q.arg(p.MsgID)
	}
	attemptsPage(&q, p, where)
	return &q
}

// attemptsPage adds a page of attempts a (with their message m when a
// filter needs it) meeting where (" WHERE ...") and the filters of p other
// than its application, endpoint and message, newest first.
func attemptsPage(q *query, p store.ListAttemptsParams, where string) {
	q.add(`SELECT ` + attemptColumns + ` FROM attempts a`)
	f := msgFilter{Channel: p.Channel, Tag: p.Tag, EventTypes: p.EventTypes}
	if !f.empty() {
		q.add(` JOIN messages m ON m.id = a.msg_id`)
	}
	q.add(where)
	if p.Status != nil {
		q.add(` AND a.status = ` + strconv.Itoa(int(*p.Status)))
	}
	if p.StatusCodeClass != nil {
		// Class 0 is "no response" (code 0); class N is N..N+99.
		lo := *p.StatusCodeClass
		q.add(` AND a.response_status_code >= ` + q.arg(lo) + ` AND a.response_status_code < ` + q.arg(lo+100))
	}
	if p.Before != nil {
		q.add(` AND a.created_at < ` + q.arg(*p.Before))
	}
	if p.After != nil {
		q.add(` AND a.created_at > ` + q.arg(*p.After) + ` AND a.id >= ` + q.arg(p.IDAfter()))
	}
	f.where(q)
	q.newestFirst("a.id", p.Page)
}

func (s *Store) GetAttempt(ctx context.Context, appID, msgID, attemptID string) (*hookrelay.Attempt, error) {
	if !textKeys(appID, msgID, attemptID) {
		return nil, fmt.Errorf("get attempt: %w", hookrelay.ErrNotFound)
	}
	row := s.pool.QueryRow(ctx,
		`SELECT `+attemptColumns+` FROM attempts a WHERE a.id = $1 AND a.msg_id = $2 AND a.app_id = $3`,
		attemptID, msgID, appID)
	a, err := scanAttempt(row)
	if err != nil {
		return nil, fmt.Errorf("get attempt: %w", mapErr(err))
	}
	return a, nil
}

// ExpungeAttemptContent empties the stored response body of the attempt.
func (s *Store) ExpungeAttemptContent(ctx context.Context, appID, msgID, attemptID string) error {
	err := mustAffect(s.pool.Exec(ctx,
		`UPDATE attempts SET response = '' WHERE id = $1 AND msg_id = $2 AND app_id = $3`,
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
	var status int
	dest := []any{&d.ID, &d.MsgID, &d.AppID, &d.EndpointID, &status, &d.Attempts, &d.NextAttempt,
		&d.Manual, &d.CreatedAt, &d.UpdatedAt}
	return dest, func() { d.Status = hookrelay.MessageStatus(status) }
}

func scanDelivery(row pgx.Row) (*hookrelay.Delivery, error) {
	var d hookrelay.Delivery
	dest, finish := deliveryDest(&d)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	finish()
	return &d, nil
}

// ListEndpointMessages lists the messages queued for p.EndpointID with
// their delivery, newest message first; the iterator is a message ID.
func (s *Store) ListEndpointMessages(ctx context.Context, p store.ListDeliveriesParams) ([]store.EndpointMessage, error) {
	var q query
	q.add(`SELECT ` + messageColumnsOf + `, ` + deliveryColumnsOf + `
		FROM deliveries d JOIN messages m ON m.id = d.msg_id
		WHERE d.endpoint_id = ` + q.arg(p.EndpointID) + ` AND d.app_id = ` + q.arg(p.AppID))
	if p.Status != nil {
		q.add(` AND d.status = ` + q.arg(int(*p.Status)))
	}
	msgFilter{Channel: p.Channel, Tag: p.Tag, EventTypes: p.EventTypes, Before: p.Before, After: p.After}.where(&q)
	q.newestFirst("d.msg_id", p.Page)
	out, err := queryList(ctx, s.pool, &q, func(row pgx.Row) (*store.EndpointMessage, error) {
		var em store.EndpointMessage
		ddest, dfinish := deliveryDest(&em.Delivery)
		if err := row.Scan(append(messageDest(&em.Message), ddest...)...); err != nil {
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
	var q query
	q.add(`SELECT ` + endpointColumnsOf + `, ` + deliveryColumnsOf + `
		FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id`)
	if !f.empty() {
		q.add(` JOIN messages m ON m.id = d.msg_id`)
	}
	q.add(` WHERE d.msg_id = ` + q.arg(p.MsgID) + ` AND d.app_id = ` + q.arg(p.AppID))
	if p.Status != nil {
		q.add(` AND d.status = ` + q.arg(int(*p.Status)))
	}
	f.where(&q)
	q.newestFirst("d.endpoint_id", p.Page)
	out, err := queryList(ctx, s.pool, &q, func(row pgx.Row) (*store.MessageDestination, error) {
		var md store.MessageDestination
		edest, efinish := endpointDest(&md.Endpoint)
		ddest, dfinish := deliveryDest(&md.Delivery)
		if err := row.Scan(append(edest, ddest...)...); err != nil {
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

// Resend makes the delivery of msgID to endpointID pending, due at now and
// manual, creating it when missing, and then wakes every subscribed node. Its
// attempt count and any lease are kept.
func (s *Store) Resend(ctx context.Context, appID, msgID, endpointID string, now time.Time) error {
	now = normTime(now)
	// The message and the endpoint must both belong to appID; the insert
	// takes its rows from them, so a missing one inserts nothing.
	tag, err := s.pool.Exec(ctx,
		`INSERT INTO deliveries (id, msg_id, endpoint_id, app_id, status, attempts, next_attempt,
				manual, created_at, updated_at)
			SELECT $1, m.id, e.id, m.app_id, 1, 0, $4, true, $4, $4
			FROM messages m, endpoints e
			WHERE m.id = $2 AND m.app_id = $5 AND e.id = $3 AND e.app_id = $5
			ON CONFLICT (msg_id, endpoint_id) DO UPDATE SET
				status = 1, next_attempt = excluded.next_attempt, manual = true,
				updated_at = excluded.updated_at`,
		hookrelay.NewID(hookrelay.PrefixDelivery), msgID, endpointID, now, appID)
	if err := mustAffect(tag, err); err != nil {
		return fmt.Errorf("resend: %w", mapErr(err))
	}
	s.wake()
	return nil
}
