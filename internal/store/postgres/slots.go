package postgres

import (
	"context"
	"fmt"
	"time"
)

// ReserveSendSlots implements store.Store. The upsert takes the row lock,
// so concurrent reservations from several nodes queue up and each gets
// slots after the previous one's.
func (s *Store) ReserveSendSlots(ctx context.Context, endpointID string, perSecond, n int, now time.Time) (time.Time, error) {
	if perSecond < 1 || n < 1 {
		return time.Time{}, fmt.Errorf("reserve send slots: rate %d and count %d must be positive", perSecond, n)
	}
	span := time.Duration(n) * time.Second / time.Duration(perSecond)
	span = span.Truncate(time.Microsecond)
	interval := (time.Second / time.Duration(perSecond)).Truncate(time.Microsecond)
	// throttled_since: set (kept) while reservations hand out a slot
	// later than now, cleared by one that does not.
	var next time.Time
	err := s.pool.QueryRow(ctx,
		`INSERT INTO endpoint_send_slots (endpoint_id, next_at, throttled_since)
		 VALUES ($1, $2::timestamptz + $3::interval, CASE WHEN $3::interval > $4::interval THEN $2::timestamptz END)
		 ON CONFLICT (endpoint_id) DO UPDATE
		 SET next_at = greatest(endpoint_send_slots.next_at, $2::timestamptz) + $3::interval,
		   throttled_since = CASE
		     WHEN greatest(endpoint_send_slots.next_at, $2::timestamptz) + $3::interval - $4::interval > $2::timestamptz
		     THEN coalesce(endpoint_send_slots.throttled_since, $2::timestamptz) END
		 RETURNING next_at`, endpointID, now, span, interval).Scan(&next)
	if err != nil {
		return time.Time{}, fmt.Errorf("reserve send slots: %w", err)
	}
	return next.Add(-span).UTC(), nil
}
