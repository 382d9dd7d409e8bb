package sqlite

import (
	"context"
	"fmt"
	"time"
)

// ReserveSendSlots implements store.Store.
func (s *Store) ReserveSendSlots(ctx context.Context, endpointID string, perSecond, n int, now time.Time) (time.Time, error) {
	if perSecond < 1 || n < 1 {
		return time.Time{}, fmt.Errorf("reserve send slots: rate %d and count %d must be positive", perSecond, n)
	}
	span := int64(n) * int64(time.Second/time.Microsecond) / int64(perSecond)
	interval := int64(time.Second/time.Microsecond) / int64(perSecond)
	// throttled_since: set (kept) while reservations hand out a slot
	// later than now, cleared by one that does not.
	var next int64
	err := s.wdb.QueryRowContext(ctx,
		`INSERT INTO endpoint_send_slots (endpoint_id, next_at, throttled_since)
		 VALUES (?1, ?2 + ?3, CASE WHEN ?3 - ?4 > 0 THEN ?2 END)
		 ON CONFLICT (endpoint_id) DO UPDATE SET next_at = max(next_at, ?2) + ?3,
		   throttled_since = CASE WHEN max(next_at, ?2) + ?3 - ?4 > ?2 THEN coalesce(throttled_since, ?2) END
		 RETURNING next_at`, endpointID, micros(now), span, interval).Scan(&next)
	if err != nil {
		return time.Time{}, fmt.Errorf("reserve send slots: %w", err)
	}
	return time.UnixMicro(next - span).UTC(), nil
}
