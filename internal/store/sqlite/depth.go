package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hookrelay/hookrelay/internal/store"
)

// QueueDepth counts due deliveries from two index ranges: deliveries_due
// (next_attempt up to now) for rows nobody holds, deliveries_leased (leases
// that lapsed by now) for rows a node held and dropped. Each stops at
// limit, so the cost is bounded by the limit, not by the backlog.
func (s *Store) QueueDepth(ctx context.Context, now time.Time, limit int) (store.QueueDepth, error) {
	if limit <= 0 {
		return store.QueueDepth{}, nil
	}
	at := micros(now)
	var d store.QueueDepth
	for _, q := range []string{
		`SELECT count(*), min(next_attempt) FROM (SELECT next_attempt FROM deliveries
		 WHERE status = 1 AND lease_until IS NULL AND next_attempt <= ?1
		 ORDER BY next_attempt LIMIT ?2)`,
		`SELECT count(*), min(next_attempt) FROM (SELECT next_attempt FROM deliveries
		 WHERE lease_until IS NOT NULL AND lease_until <= ?1 AND status = 1 AND next_attempt <= ?1
		 LIMIT ?2)`,
	} {
		var n int
		var oldest sql.NullInt64
		if err := s.rdb.QueryRowContext(ctx, q, at, limit).Scan(&n, &oldest); err != nil {
			return store.QueueDepth{}, fmt.Errorf("queue depth: %w", err)
		}
		d.Due += n
		if oldest.Valid && (d.OldestDue.IsZero() || fromMicros(oldest.Int64).Before(d.OldestDue)) {
			d.OldestDue = fromMicros(oldest.Int64)
		}
	}
	d.Due = min(d.Due, limit)
	return d, nil
}

// EnvironmentQueue counts the due deliveries of envID's applications up to
// limit, and finds the oldest due among all of them.
func (s *Store) EnvironmentQueue(ctx context.Context, envID string, now time.Time, limit int) (store.QueueDepth, error) {
	if limit <= 0 {
		return store.QueueDepth{}, nil
	}
	const due = `FROM deliveries d JOIN applications a ON a.id = d.app_id
		WHERE a.env_id = ?1 AND d.status = 1 AND d.next_attempt <= ?2
		AND (d.lease_until IS NULL OR d.lease_until <= ?2)`
	var d store.QueueDepth
	var oldest sql.NullInt64
	err := s.rdb.QueryRowContext(ctx,
		`SELECT (SELECT count(*) FROM (SELECT 1 `+due+` LIMIT ?3)),
			(SELECT min(d.next_attempt) `+due+`)`,
		envID, micros(now), limit).Scan(&d.Due, &oldest)
	if err != nil {
		return store.QueueDepth{}, fmt.Errorf("environment queue: %w", err)
	}
	if oldest.Valid {
		d.OldestDue = fromMicros(oldest.Int64)
	}
	return d, nil
}
