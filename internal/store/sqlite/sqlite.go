// Package sqlite implements store.Store on an SQLite file (modernc.org/sqlite,
// pure Go, WAL mode).
//
// Every write goes through one connection, so writers never contend with each
// other for the database lock; reads use a separate pool of query-only
// connections, which WAL lets run beside the writer. Publishes
// (CreateMessage) and attempt results are funnelled to one goroutine that
// commits every write queued at that moment in one transaction, the rows of
// its publishes inserted together, so that synchronous=FULL costs one fsync
// per batch rather than per message; should one write fail, the batch runs
// again with each write in a savepoint of its own.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded goose migrations.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory always exists
	}
	return sub
}

// busyTimeout is how long a connection waits for a lock held by another
// process (or by a checkpoint) before failing with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// maxBatch caps how many publishes one group commit takes.
const maxBatch = 512

var errClosed = errors.New("sqlite store: closed")

// Store is the SQLite implementation of store.Store. It is safe for
// concurrent use.
type Store struct {
	wdb *sql.DB // the single write connection
	rdb *readDB // query-only read connections, statements cached

	creates chan *writeReq // to the writer goroutine
	closing chan struct{}
	wg      sync.WaitGroup
	once    sync.Once

	stmts writeStmts

	// endpointWrites counts writes that may have changed endpoints; with
	// fanout, the writer's cache of them (see fanoutCache). Only
	// writeEndpoints moves it.
	endpointWrites atomic.Int64
	fanout         fanoutCache
}

var _ store.Store = (*Store)(nil)

// Open opens the database file at path, creating it if needed, and migrates
// it to the latest schema. The file is put in WAL mode with foreign keys on
// and synchronous=FULL: a publish that returned is on disk. A file Open
// creates is readable by its owner only (0600), as are its -wal and -shm
// files, which SQLite gives the database file's mode; an existing file
// keeps its mode.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open sqlite: unsupported path %q", path)
	}
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	busy := fmt.Sprint(busyTimeout.Milliseconds())

	wq := url.Values{}
	wq.Add("_pragma", "busy_timeout("+busy+")")
	wq.Add("_pragma", "journal_mode(WAL)")
	wq.Add("_pragma", "synchronous(FULL)")
	wq.Add("_pragma", "foreign_keys(1)")
	// Savepoint and statement journals in memory, not in temporary files:
	// every group-committed publish runs in a savepoint.
	wq.Add("_pragma", "temp_store(MEMORY)")
	wq.Set("_txlock", "immediate")
	wdb, err := sql.Open("sqlite", path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	if err := wdb.PingContext(ctx); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}

	s := &Store{
		wdb:     wdb,
		creates: make(chan *writeReq),
		closing: make(chan struct{}),
	}
	if err := s.Migrate(ctx); err != nil {
		wdb.Close()
		return nil, err
	}

	rq := url.Values{}
	rq.Add("_pragma", "busy_timeout("+busy+")")
	rq.Add("_pragma", "foreign_keys(1)")
	rq.Add("_pragma", "query_only(1)")
	rdb, err := sql.Open("sqlite", path+"?"+rq.Encode())
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	readers := max(4, 2*runtime.GOMAXPROCS(0))
	rdb.SetMaxOpenConns(readers)
	rdb.SetMaxIdleConns(readers)
	rdb.SetConnMaxIdleTime(5 * time.Minute)
	s.rdb = newReadDB(rdb)

	if err := s.stmts.prepare(ctx, wdb); err != nil {
		s.stmts.close()
		wdb.Close()
		rdb.Close()
		return nil, err
	}

	s.wg.Add(1)
	go s.writer()
	return s, nil
}

// createPrivate creates path as an empty file (an empty SQLite database)
// with mode 0600 unless it exists; SQLite would create it 0644.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// Migrate applies every pending migration; it does nothing when the schema
// is current.
func (s *Store) Migrate(ctx context.Context) error {
	p, err := goose.NewProvider(database.DialectSQLite3, s.wdb, Migrations(),
		goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	_, upErr := p.Up(ctx)
	if upErr != nil {
		// A migration that failed inside its own BEGIN leaves the
		// transaction open on the one write connection.
		_, _ = s.wdb.ExecContext(ctx, "ROLLBACK")
	}
	// Migrations that rebuild a referenced table turn foreign keys off
	// while they run; they must be on for every write after.
	if _, err := s.wdb.ExecContext(ctx, "PRAGMA foreign_keys = ON"); err != nil && upErr == nil {
		upErr = err
	}
	if upErr != nil {
		return fmt.Errorf("migrate: %w", upErr)
	}
	return nil
}

// Ping checks that both the write and the read connections answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.wdb.PingContext(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	if err := s.rdb.PingContext(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// Close stops the publish writer and closes the database. Publishes that
// have not been taken by the writer fail; the store is unusable afterwards.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.closing)
		s.wg.Wait()
		s.stmts.close()
		err = errors.Join(s.rdb.Close(), s.wdb.Close())
	})
	return err
}

// inTx runs fn in one write transaction and commits it when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// sqliteCode returns the extended result code of an SQLite error, or 0.
func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

func isUnique(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func isForeignKey(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// mapInsertErr turns a unique violation into ErrConflict and a foreign key
// violation (the parent is missing) into ErrNotFound.
func mapInsertErr(err error) error {
	switch {
	case err == nil:
		return nil
	case isUnique(err):
		return hookrelay.ErrConflict
	case isForeignKey(err):
		return hookrelay.ErrNotFound
	}
	return err
}

// mustAffect returns ErrNotFound when res changed no row.
func mustAffect(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return hookrelay.ErrNotFound
	}
	return nil
}

// notFound maps sql.ErrNoRows to ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return hookrelay.ErrNotFound
	}
	return err
}

// placeholders returns "?, ?, ..." with n marks.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// textList is ss as one JSON array, for a statement that reads a list of
// any length from one parameter with json_each: SQLite takes at most 32766
// parameters a statement, and one statement text serves every length.
// Strings that are not valid UTF-8 are left out (JSON would change them
// into other text); no stored key is such a string.
func textList(ss []string) string {
	valid := make([]string, 0, len(ss))
	for _, s := range ss {
		if utf8.ValidString(s) {
			valid = append(valid, s)
		}
	}
	b, err := json.Marshal(valid)
	if err != nil {
		// Marshalling a []string cannot fail.
		panic(err)
	}
	return string(b)
}

// strArgs converts a string slice to query arguments.
func strArgs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// limitArg returns the LIMIT value for a page: -1 (no limit) when unset.
func limitArg(p store.Page) int {
	if p.Limit <= 0 {
		return -1
	}
	return p.Limit
}

// pageClause returns the iterator condition on key and the ORDER BY clause
// for a page in its own order.
func pageClause(key string, p store.Page, args []any) (string, string, []any) {
	cond := ""
	if p.Order == store.Descending {
		if p.Iterator != "" {
			cond = " AND " + key + " < ?"
			args = append(args, p.Iterator)
		}
		return cond, " ORDER BY " + key + " DESC", args
	}
	if p.Iterator != "" {
		cond = " AND " + key + " > ?"
		args = append(args, p.Iterator)
	}
	return cond, " ORDER BY " + key + " ASC", args
}

// newestFirst is the page clause of the listings that always run newest
// first (messages, attempts, deliveries).
func newestFirst(key string, p store.Page, args []any) (string, string, []any) {
	p.Order = store.Descending
	return pageClause(key, p, args)
}

// queryList runs a read query and scans every row with scan.
// querier runs a query: the write connection or the read pool.
type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func queryList[T any](ctx context.Context, db querier, q string, args []any, scan func(scanner) (*T, error)) ([]T, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, scan)
}

// scanAll scans every row of rows and closes them.
func scanAll[T any](rows *sql.Rows, scan func(scanner) (*T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// writeEndpoints runs a statement that may change endpoints (directly, or by
// a cascade from their application) and then drops the writer's cache of
// them. Every statement that writes endpoints goes through it.
func (s *Store) writeEndpoints(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := s.wdb.ExecContext(ctx, query, args...)
	s.endpointWrites.Add(1)
	return res, err
}
