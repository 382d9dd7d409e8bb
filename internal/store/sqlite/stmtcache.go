package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds the statement cache: listings build their SQL from
// their filters, so the set of query texts is finite but not small.
const maxCachedStmts = 512

// readDB is the read pool with its statements prepared once and kept:
// parsing SQL is a large share of a simple lookup's cost.
type readDB struct {
	*sql.DB
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

func newReadDB(db *sql.DB) *readDB {
	return &readDB{DB: db, stmts: make(map[string]*sql.Stmt)}
}

// stmt returns the prepared statement for q, or nil when it cannot be
// prepared or cached (the caller then runs q directly).
func (r *readDB) stmt(ctx context.Context, q string) *sql.Stmt {
	r.mu.RLock()
	st := r.stmts[q]
	r.mu.RUnlock()
	if st != nil {
		return st
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if st := r.stmts[q]; st != nil {
		return st
	}
	if len(r.stmts) >= maxCachedStmts {
		return nil
	}
	st, err := r.DB.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	r.stmts[q] = st
	return st
}

// QueryRowContext is sql.DB's, through the statement cache.
func (r *readDB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := r.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return r.DB.QueryRowContext(ctx, q, args...)
}

// QueryContext is sql.DB's, through the statement cache.
func (r *readDB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := r.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return r.DB.QueryContext(ctx, q, args...)
}

// Close closes the cached statements and the pool.
func (r *readDB) Close() error {
	r.mu.Lock()
	for q, st := range r.stmts {
		st.Close()
		delete(r.stmts, q)
	}
	r.mu.Unlock()
	return r.DB.Close()
}
