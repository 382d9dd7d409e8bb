package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Times are stored as unix microseconds.

// now is the store's clock for contracts that carry no time of their own
// (EndpointStats' live leases, idempotency expiry).
func now() time.Time { return time.Now() }

func micros(t time.Time) int64 { return t.UnixMicro() }

// normTime returns t as it reads back from the database: UTC, whole
// microseconds, no monotonic reading.
func normTime(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

// normTimePtr normalises *t in place.
func normTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	n := normTime(*t)
	return &n
}

// nowOr returns normTime(t), or the current time when t is zero.
func nowOr(t time.Time) time.Time {
	if t.IsZero() {
		return normTime(time.Now())
	}
	return normTime(t)
}

func nullString(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func fromNullString(v sql.NullString) *string {
	if !v.Valid {
		return nil
	}
	s := v.String
	return &s
}

func nullInt(i *int) any {
	if i == nil {
		return nil
	}
	return *i
}

func fromNullInt(v sql.NullInt64) *int {
	if !v.Valid {
		return nil
	}
	i := int(v.Int64)
	return &i
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// jsonSlice encodes s as JSON text, NULL when s is nil; an empty non-nil
// slice stays "[]".
func jsonSlice[T any](s []T) (any, error) {
	if s == nil {
		return nil, nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// jsonMap encodes m as JSON text, NULL when m is nil.
func jsonMap[V any](m map[string]V) (any, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// decodeJSON decodes a nullable JSON column into dst, leaving dst untouched
// when the column is NULL.
func decodeJSON(v sql.NullString, dst any, column string) error {
	if !v.Valid {
		return nil
	}
	if err := json.Unmarshal([]byte(v.String), dst); err != nil {
		return fmt.Errorf("decode %s: %w", column, err)
	}
	return nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}
