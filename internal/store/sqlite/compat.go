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

// BulkReplayBatch makes the deliveries among the endpoint's next
// step.Limit ones (by message ID) that p selects pending, due at step.Now
// and manual.
func (s *Store) BulkReplayBatch(ctx context.Context, step store.TaskStep, p store.BulkReplayParams) (store.BatchResult, error) {
	now := micros(step.Now)
	res, err := s.step(ctx, step, func(tx *sql.Tx, cursor string) (store.BatchResult, error) {
		var res store.BatchResult
		if err := existsIn(ctx, tx, `SELECT 1 FROM endpoints WHERE id = ? AND app_id = ?`, p.EndpointID, p.AppID); err != nil {
			return res, err
		}
		rows, err := tx.QueryContext(ctx,
			`SELECT d.id, d.msg_id, d.status, m.created_at, m.event_type, m.channels, m.tags,
				m.payload IS NOT NULL,
				coalesce((SELECT a.response_status_code FROM attempts a WHERE a.delivery_id = d.id
					ORDER BY a.id DESC LIMIT 1), 0)
			FROM deliveries d JOIN messages m ON m.id = d.msg_id
			WHERE d.endpoint_id = ? AND d.msg_id > ? ORDER BY d.msg_id LIMIT ?`,
			p.EndpointID, cursor, step.Limit)
		if err != nil {
			return res, err
		}
		var picked []string
		for rows.Next() {
			var id string
			var c store.ReplayCandidate
			var created int64
			var channels, tags sql.NullString
			if err := rows.Scan(&id, &res.Cursor, &c.Status, &created, &c.EventType, &channels, &tags,
				&c.Kept, &c.LastCode); err != nil {
				rows.Close()
				return res, err
			}
			res.Scanned++
			c.CreatedAt = fromMicros(created)
			if err := decodeJSON(channels, &c.Channels, "channels"); err != nil {
				rows.Close()
				return res, err
			}
			if err := decodeJSON(tags, &c.Tags, "tags"); err != nil {
				rows.Close()
				return res, err
			}
			if p.Selects(c) {
				picked = append(picked, id)
			}
		}
		if err := rows.Err(); err != nil {
			return res, err
		}
		res.Done = res.Scanned < step.Limit
		if res.Scanned == 0 {
			res.Cursor = cursor
		}
		for _, id := range picked {
			r, err := tx.ExecContext(ctx,
				`UPDATE deliveries SET status = 1, next_attempt = ?, manual = 1, updated_at = ?
				WHERE id = ? AND status NOT IN (1, 3)`, now, now, id)
			if err != nil {
				return res, err
			}
			n, _ := r.RowsAffected()
			res.Changed += int(n)
		}
		return res, nil
	})
	if err != nil {
		return store.BatchResult{}, fmt.Errorf("bulk replay batch: %w", notFound(err))
	}
	return res, nil
}

// ExpungeContentBatch drops the payloads among the application's next
// step.Limit messages (by ID).
func (s *Store) ExpungeContentBatch(ctx context.Context, step store.TaskStep, appID string) (store.BatchResult, error) {
	res, err := s.step(ctx, step, func(tx *sql.Tx, cursor string) (store.BatchResult, error) {
		var res store.BatchResult
		if err := existsIn(ctx, tx, `SELECT 1 FROM applications WHERE id = ?`, appID); err != nil {
			return res, err
		}
		var last sql.NullString
		if err := tx.QueryRowContext(ctx,
			`SELECT count(*), max(id) FROM (SELECT id FROM messages WHERE app_id = ? AND id > ? ORDER BY id LIMIT ?)`,
			appID, cursor, step.Limit).Scan(&res.Scanned, &last); err != nil {
			return res, err
		}
		res.Cursor = cursor
		if last.Valid {
			res.Cursor = last.String
		}
		res.Done = res.Scanned < step.Limit
		r, err := tx.ExecContext(ctx,
			`UPDATE messages SET payload = NULL
			WHERE app_id = ? AND id > ? AND id <= ? AND payload IS NOT NULL`, appID, cursor, res.Cursor)
		if err != nil {
			return res, err
		}
		n, _ := r.RowsAffected()
		res.Changed = int(n)
		return res, nil
	})
	if err != nil {
		return store.BatchResult{}, fmt.Errorf("expunge content batch: %w", notFound(err))
	}
	return res, nil
}

// CancelDeliveries cancels the endpoint's unheld pending deliveries of
// messages created before createdBefore.
func (s *Store) CancelDeliveries(ctx context.Context, appID, endpointID string, createdBefore, now time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := existsIn(ctx, tx, `SELECT 1 FROM endpoints WHERE id = ? AND app_id = ?`, endpointID, appID); err != nil {
			return err
		}
		r, err := tx.ExecContext(ctx,
			`UPDATE deliveries SET status = ?, next_attempt = NULL, lease_owner = NULL, lease_until = NULL,
				updated_at = ?
			WHERE endpoint_id = ? AND status = 1 AND (lease_until IS NULL OR lease_until <= ?)
			AND msg_id IN (SELECT id FROM messages WHERE app_id = ? AND created_at < ?)`,
			int(hookrelay.StatusCanceled), micros(now), endpointID, micros(now), appID, micros(createdBefore))
		if err != nil {
			return err
		}
		n, err = r.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("cancel deliveries: %w", notFound(err))
	}
	return int(n), nil
}

// DeliveryCounts counts the application's deliveries by event type and
// status.
func (s *Store) DeliveryCounts(ctx context.Context, appID string, since, until time.Time, eventTypes []string) ([]store.DeliveryCount, error) {
	q := `SELECT m.event_type, d.status, count(*) FROM deliveries d JOIN messages m ON m.id = d.msg_id
		WHERE m.app_id = ? AND m.created_at >= ? AND m.created_at < ?`
	args := []any{appID, micros(since), micros(until)}
	if len(eventTypes) > 0 {
		q += ` AND m.event_type IN (SELECT value FROM json_each(?))`
		args = append(args, textList(eventTypes))
	}
	rows, err := s.rdb.QueryContext(ctx, q+` GROUP BY 1, 2 ORDER BY 1, 2`, args...)
	if err != nil {
		return nil, fmt.Errorf("delivery counts: %w", err)
	}
	defer rows.Close()
	var out []store.DeliveryCount
	for rows.Next() {
		var c store.DeliveryCount
		if err := rows.Scan(&c.EventType, &c.Status, &c.Count); err != nil {
			return nil, fmt.Errorf("delivery counts: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("delivery counts: %w", err)
	}
	return out, nil
}

// SendThrottle reads the endpoint's send slots.
func (s *Store) SendThrottle(ctx context.Context, endpointID string) (time.Time, *time.Time, bool, error) {
	var next int64
	var since sql.NullInt64
	err := s.rdb.QueryRowContext(ctx,
		`SELECT next_at, throttled_since FROM endpoint_send_slots WHERE endpoint_id = ?`, endpointID).Scan(&next, &since)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil, false, nil
	}
	if err != nil {
		return time.Time{}, nil, false, fmt.Errorf("send throttle: %w", err)
	}
	return fromMicros(next), fromNullMicros(since), true, nil
}
