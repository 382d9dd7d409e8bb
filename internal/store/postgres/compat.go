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

// endpointIn returns ErrNotFound unless the endpoint belongs to appID.
func endpointIn(ctx context.Context, tx pgx.Tx, appID, endpointID string) error {
	var found int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM endpoints WHERE id = $1 AND app_id = $2`,
		endpointID, appID).Scan(&found); err != nil {
		return err
	}
	if found == 0 {
		return hookrelay.ErrNotFound
	}
	return nil
}

// BulkReplayBatch makes the deliveries among the endpoint's next
// step.Limit ones (by message ID) that p selects pending, due at step.Now
// and manual.
func (s *Store) BulkReplayBatch(ctx context.Context, step store.TaskStep, p store.BulkReplayParams) (store.BatchResult, error) {
	if !textKeys(p.AppID, p.EndpointID) {
		return store.BatchResult{}, fmt.Errorf("bulk replay batch: %w", hookrelay.ErrNotFound)
	}
	now := normTime(step.Now)
	res, err := s.step(ctx, step, func(tx pgx.Tx, cursor string) (store.BatchResult, error) {
		var res store.BatchResult
		if err := endpointIn(ctx, tx, p.AppID, p.EndpointID); err != nil {
			return res, err
		}
		rows, err := tx.Query(ctx,
			`SELECT d.id, d.msg_id, d.status, m.created_at, m.event_type,
				coalesce(m.channels, '{}'), coalesce(m.tags, '{}'), m.payload IS NOT NULL,
				coalesce((SELECT a.response_status_code FROM attempts a WHERE a.delivery_id = d.id
					ORDER BY a.id DESC LIMIT 1), 0)
			FROM deliveries d JOIN messages m ON m.id = d.msg_id
			WHERE d.endpoint_id = $1 AND d.msg_id > $2 ORDER BY d.msg_id LIMIT $3`,
			p.EndpointID, cursor, step.Limit)
		if err != nil {
			return res, err
		}
		var picked []string
		for rows.Next() {
			var id string
			var status int
			var c store.ReplayCandidate
			if err := rows.Scan(&id, &res.Cursor, &status, &c.CreatedAt, &c.EventType, &c.Channels, &c.Tags,
				&c.Kept, &c.LastCode); err != nil {
				rows.Close()
				return res, err
			}
			c.Status = hookrelay.MessageStatus(status)
			res.Scanned++
			if p.Selects(c) {
				picked = append(picked, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return res, err
		}
		res.Done = res.Scanned < step.Limit
		if res.Scanned == 0 {
			res.Cursor = cursor
		}
		if len(picked) > 0 {
			tag, err := tx.Exec(ctx,
				`UPDATE deliveries SET status = 1, next_attempt = $1, manual = true, updated_at = $1
				WHERE id = ANY ($2) AND status NOT IN (1, 3)`, now, picked)
			if err != nil {
				return res, err
			}
			res.Changed = int(tag.RowsAffected())
		}
		return res, nil
	})
	if err != nil {
		return store.BatchResult{}, fmt.Errorf("bulk replay batch: %w", err)
	}
	return res, nil
}

// ExpungeContentBatch drops the payloads among the application's next
// step.Limit messages (by ID).
func (s *Store) ExpungeContentBatch(ctx context.Context, step store.TaskStep, appID string) (store.BatchResult, error) {
	if !textKeys(appID) {
		return store.BatchResult{}, fmt.Errorf("expunge content batch: %w", hookrelay.ErrNotFound)
	}
	res, err := s.step(ctx, step, func(tx pgx.Tx, cursor string) (store.BatchResult, error) {
		var res store.BatchResult
		var found int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM applications WHERE id = $1`, appID).Scan(&found); err != nil {
			return res, err
		}
		if found == 0 {
			return res, hookrelay.ErrNotFound
		}
		var last *string
		if err := tx.QueryRow(ctx,
			`SELECT count(*), max(id) FROM (SELECT id FROM messages WHERE app_id = $1 AND id > $2 ORDER BY id LIMIT $3) page`,
			appID, cursor, step.Limit).Scan(&res.Scanned, &last); err != nil {
			return res, err
		}
		res.Cursor = cursor
		if last != nil {
			res.Cursor = *last
		}
		res.Done = res.Scanned < step.Limit
		tag, err := tx.Exec(ctx,
			`UPDATE messages SET payload = NULL
			WHERE app_id = $1 AND id > $2 AND id <= $3 AND payload IS NOT NULL`, appID, cursor, res.Cursor)
		if err != nil {
			return res, err
		}
		res.Changed = int(tag.RowsAffected())
		return res, nil
	})
	if err != nil {
		return store.BatchResult{}, fmt.Errorf("expunge content batch: %w", err)
	}
	return res, nil
}

// CancelDeliveries cancels the endpoint's unheld pending deliveries of
// messages created before createdBefore.
func (s *Store) CancelDeliveries(ctx context.Context, appID, endpointID string, createdBefore, now time.Time) (int, error) {
	if !textKeys(appID, endpointID) {
		return 0, fmt.Errorf("cancel deliveries: %w", hookrelay.ErrNotFound)
	}
	now = normTime(now)
	var n int
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := endpointIn(ctx, tx, appID, endpointID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx,
			`UPDATE deliveries d SET status = $1, next_attempt = NULL, lease_owner = NULL, lease_until = NULL,
				updated_at = $2
			FROM messages m
			WHERE m.id = d.msg_id AND d.endpoint_id = $3 AND d.status = 1
			AND (d.lease_until IS NULL OR d.lease_until <= $2)
			AND m.app_id = $4 AND m.created_at < $5`,
			int(hookrelay.StatusCanceled), now, endpointID, appID, normTime(createdBefore))
		if err != nil {
			return err
		}
		n = int(tag.RowsAffected())
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("cancel deliveries: %w", mapErr(err))
	}
	return n, nil
}

// DeliveryCounts counts the application's deliveries by event type and
// status.
func (s *Store) DeliveryCounts(ctx context.Context, appID string, since, until time.Time, eventTypes []string) ([]store.DeliveryCount, error) {
	if !textKeys(appID) || !textKeys(eventTypes...) {
		return nil, nil
	}
	q := `SELECT m.event_type, d.status, count(*) FROM deliveries d JOIN messages m ON m.id = d.msg_id
		WHERE m.app_id = $1 AND m.created_at >= $2 AND m.created_at < $3`
	args := []any{appID, since, until}
	if len(eventTypes) > 0 {
		q += ` AND m.event_type = ANY ($4)`
		args = append(args, eventTypes)
	}
	rows, err := s.pool.Query(ctx, q+` GROUP BY 1, 2 ORDER BY 1, 2`, args...)
	if err != nil {
		return nil, fmt.Errorf("delivery counts: %w", err)
	}
	defer rows.Close()
	var out []store.DeliveryCount
	for rows.Next() {
		var c store.DeliveryCount
		var status int
		if err := rows.Scan(&c.EventType, &status, &c.Count); err != nil {
			return nil, fmt.Errorf("delivery counts: %w", err)
		}
		c.Status = hookrelay.MessageStatus(status)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("delivery counts: %w", err)
	}
	return out, nil
}

// SendThrottle reads the endpoint's send slots.
func (s *Store) SendThrottle(ctx context.Context, endpointID string) (time.Time, *time.Time, bool, error) {
	if !textKeys(endpointID) {
		return time.Time{}, nil, false, nil
	}
	var next time.Time
	var since *time.Time
	err := s.pool.QueryRow(ctx,
		`SELECT next_at, throttled_since FROM endpoint_send_slots WHERE endpoint_id = $1`, endpointID).Scan(&next, &since)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil, false, nil
	}
	if err != nil {
		return time.Time{}, nil, false, fmt.Errorf("send throttle: %w", err)
	}
	if since != nil {
		t := since.UTC()
		since = &t
	}
	return next.UTC(), since, true, nil
}
