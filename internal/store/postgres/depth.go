package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/hookrelay/hookrelay/internal/store"
)

// QueueDepth counts due deliveries from two index ranges, one statement:
// deliveries_due for rows nobody holds (freshCond), deliveries_leased for
// rows whose lease lapsed (expiredCond). Each stops at limit, so the cost
// is bounded by the limit, not by the backlog.
func (s *Store) QueueDepth(ctx context.Context, now time.Time, limit int) (store.QueueDepth, error) {
	if limit <= 0 {
		return store.QueueDepth{}, nil
	}
	var fresh, expired int
	var oldest *time.Time
	err := s.pool.QueryRow(ctx, `
		WITH fresh AS (
			SELECT d.next_attempt FROM deliveries d WHERE `+freshCond+`
			ORDER BY d.next_attempt LIMIT $2
		), expired AS (
			SELECT d.next_attempt FROM deliveries d WHERE `+expiredCond+` LIMIT $2
		)
		SELECT (SELECT count(*) FROM fresh), (SELECT count(*) FROM expired),
			least((SELECT min(next_attempt) FROM fresh), (SELECT min(next_attempt) FROM expired))`,
		now, limit).Scan(&fresh, &expired, &oldest)
	if err != nil {
		return store.QueueDepth{}, fmt.Errorf("queue depth: %w", err)
	}
	d := store.QueueDepth{Due: min(fresh+expired, limit)}
	if oldest != nil {
		d.OldestDue = oldest.UTC()
	}
	return d, nil
}

// EnvironmentQueue counts the due deliveries of envID's applications up to
// limit, and finds the oldest due among all of them.
func (s *Store) EnvironmentQueue(ctx context.Context, envID string, now time.Time, limit int) (store.QueueDepth, error) {
	if limit <= 0 {
		return store.QueueDepth{}, nil
	}
	const due = `FROM deliveries d JOIN applications a ON a.id = d.app_id
		WHERE a.env_id = $1 AND d.status = 1 AND d.next_attempt <= $2
		AND (d.lease_until IS NULL OR d.lease_until <= $2)`
	var d store.QueueDepth
	var oldest *time.Time
	err := s.pool.QueryRow(ctx,
		`SELECT (SELECT count(*) FROM (SELECT 1 `+due+` LIMIT $3) x),
			(SELECT min(d.next_attempt) `+due+`)`,
		envID, now, limit).Scan(&d.Due, &oldest)
	if err != nil {
		return store.QueueDepth{}, fmt.Errorf("environment queue: %w", err)
	}
	if oldest != nil {
		d.OldestDue = oldest.UTC()
	}
	return d, nil
}
