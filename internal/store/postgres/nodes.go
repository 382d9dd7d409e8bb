package postgres

import (
	"context"
	"fmt"
	"time"
)

// Heartbeat implements store.Store. Nodes silent for ten TTLs are removed.
func (s *Store) Heartbeat(ctx context.Context, node string, now time.Time, ttl time.Duration) (int, error) {
	var live int
	err := s.pool.QueryRow(ctx,
		`WITH beat AS (
		     INSERT INTO nodes (id, heartbeat_at) VALUES ($1, $2)
		     ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at
		 ), gone AS (
		     DELETE FROM nodes WHERE heartbeat_at < $2::timestamptz - 10 * $3::interval
		 )
		 SELECT 1 + count(*) FROM nodes WHERE id <> $1 AND heartbeat_at >= $2::timestamptz - $3::interval`,
		node, now, ttl).Scan(&live)
	if err != nil {
		return 0, fmt.Errorf("heartbeat: %w", err)
	}
	return live, nil
}

// DeleteNode implements store.Store.
func (s *Store) DeleteNode(ctx context.Context, node string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM nodes WHERE id = $1`, node); err != nil {
		return fmt.Errorf("delete node: %w", err)
	}
	return nil
}
