package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookrelay/hookrelay/internal/store"
)

// normTime returns t as it reads back from the database: UTC, whole
// microseconds (timestamptz truncates), no monotonic reading.
func normTime(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }

// normTimePtr returns a normalised copy of *t, nil for nil.
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

// jsonSlice encodes s as JSON, nil (NULL) when s is nil; an empty non-nil
// slice stays "[]".
func jsonSlice[T any](s []T) ([]byte, error) {
	if s == nil {
		return nil, nil
	}
	return json.Marshal(s)
}

// jsonMap encodes m as JSON, nil (NULL) when m is nil.
func jsonMap[V any](m map[string]V) ([]byte, error) {
	if m == nil {
		return nil, nil
	}
	return json.Marshal(m)
}

// decodeJSON decodes a nullable JSON column into dst, leaving dst untouched
// when the column is NULL.
func decodeJSON(b []byte, dst any, column string) error {
	if b == nil {
		return nil
	}
	if err := json.Unmarshal(b, dst); err != nil {
		return fmt.Errorf("decode %s: %w", column, err)
	}
	return nil
}

// query builds SQL text with numbered parameters.
type query struct {
	b    strings.Builder
	args []any
}

// arg adds v as the next parameter and returns its placeholder.
func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

// add appends SQL text.
func (q *query) add(s string) *query {
	q.b.WriteString(s)
	return q
}

func (q *query) String() string { return q.b.String() }

// page appends the iterator condition on key (starting with " AND ") and
// then the ORDER BY and LIMIT of p in its own order.
func (q *query) page(key string, p store.Page) {
	op, dir := ">", "ASC"
	if p.Order == store.Descending {
		op, dir = "<", "DESC"
	}
	if p.Iterator != "" {
		q.add(" AND " + key + " " + op + " " + q.arg(p.Iterator))
	}
	q.add(" ORDER BY " + key + " " + dir)
	if p.Limit > 0 {
		q.add(" LIMIT " + q.arg(p.Limit))
	}
}

// newestFirst is page for the listings that always run newest first
// (messages, attempts, deliveries).
func (q *query) newestFirst(key string, p store.Page) {
	p.Order = store.Descending
	q.page(key, p)
}

// collectList scans every row of rows with scan.
func collectList[T any](rows pgx.Rows, scan func(pgx.Row) (*T, error)) ([]T, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (T, error) {
		v, err := scan(row)
		if err != nil {
			var zero T
			return zero, err
		}
		return *v, nil
	})
}

// querier is a pool, a connection or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// queryList runs q and scans every row with scan.
func queryList[T any](ctx context.Context, db querier, q *query, scan func(pgx.Row) (*T, error)) ([]T, error) {
	rows, err := db.Query(ctx, q.String(), q.args...)
	if err != nil {
		return nil, err
	}
	return collectList(rows, scan)
}
