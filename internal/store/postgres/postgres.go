// Package postgres implements store.Store on PostgreSQL (pgx, pgxpool), for
// production and for several hookrelay nodes sharing one database.
//
// Nodes share the delivery queue: ClaimDeliveries locks due rows with
// FOR UPDATE SKIP LOCKED, so a delivery is never leased to two nodes, and
// leases expire, so the work of a node that died is taken over. Once a
// publish (or a resend, a recovery, a release) has committed, the store
// sends a notification on the hookrelay_work channel; Subscribe hands those
// to the dispatcher, so every node wakes at once instead of polling hard.
// Migrations take a session advisory lock, so nodes that start together
// migrate one after the other.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"

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

// notifyChannel is the LISTEN/NOTIFY channel on which committed work is
// announced.
const notifyChannel = "hookrelay_work"

// defaultMaxConns is the pool size when the URL sets no pool_max_conns.
const defaultMaxConns = 16

// migrationLockID is the advisory lock key held while migrating; it is
// goose's default key, so hookrelay and a goose CLI run exclude each other.
const migrationLockID = lock.DefaultLockID

// Store is the PostgreSQL implementation of store.Store. It is safe for
// concurrent use, and any number of Stores (in one process or many) may
// share one database.
type Store struct {
	pool *pgxpool.Pool

	publishes    chan *publishReq // to the publishers
	publishersWG sync.WaitGroup
	wakeups      chan struct{} // holds one pending notification; see wake
	closing      chan struct{} // closed by Close
	stopNotifier chan struct{} // closed once the publishers have stopped
	notifierDone chan struct{}
	once         sync.Once
	log          *slog.Logger // warnings of the notification connections
}

var _ store.Store = (*Store)(nil)

// Option adjusts a Store as Open makes it.
type Option func(*Store)

// WithLogger sends the store's warnings (a lost LISTEN connection, a failed
// notification) to l instead of slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(s *Store) {
		if l != nil {
			s.log = l
		}
	}
}

// Open connects to the database at url (postgres://... or a key=value
// connection string; pgxpool settings such as pool_max_conns are honoured)
// and migrates it to the latest schema. Several processes may Open one
// database at the same time: migrations run one at a time.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	if _, set := cfg.ConnConfig.RuntimeParams["jit"]; !set {
		// hookrelay's statements each read a few index entries; compiling
		// one (what JIT does once its estimated cost passes
		// jit_above_cost, as statistics of large tables can make it) takes
		// longer than any of them runs. "jit=on" in url keeps it on.
		cfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	cfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		registerUTC(conn.TypeMap())
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	s := &Store{
		pool:         pool,
		publishes:    make(chan *publishReq),
		wakeups:      make(chan struct{}, 1),
		closing:      make(chan struct{}),
		stopNotifier: make(chan struct{}),
		notifierDone: make(chan struct{}),
		log:          slog.Default(),
	}
	for _, o := range opts {
		o(s)
	}
	if err := s.Migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	s.publishersWG.Add(publishers)
	for range publishers {
		go s.publisher()
	}
	go s.notifier()
	return s, nil
}

// registerUTC makes timestamptz values scan as UTC times.
func registerUTC(m *pgtype.Map) {
	m.RegisterType(&pgtype.Type{
		Name:  "timestamptz",
		OID:   pgtype.TimestamptzOID,
		Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
	})
}

// Migrate applies every pending migration under a session advisory lock; it
// does nothing when the schema is current. Concurrent callers, in this
// process or others, wait for each other (up to five minutes).
func (s *Store) Migrate(ctx context.Context) error {
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(migrationLockID),
		lock.WithLockTimeout(1, 300),
	)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	p, err := goose.NewProvider(database.DialectPostgres, db, Migrations(),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// Close lets the publishes already taken finish (those still waiting fail),
// sends a notification still pending, then closes every connection of the
// pool, waiting for those in use to be returned; the store is unusable
// afterwards.
func (s *Store) Close() error {
	s.once.Do(func() {
		close(s.closing)
		s.publishersWG.Wait()
		close(s.stopNotifier)
		<-s.notifierDone
		s.pool.Close()
	})
	return nil
}

// inTx runs fn in one transaction and commits it when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// PostgreSQL error codes.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeDeadlockDetected    = "40P01"
)

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// mapErr turns a unique violation into ErrConflict, a foreign key violation
// (the parent is missing) into ErrNotFound and a missing row into
// ErrNotFound.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgx.ErrNoRows):
		return hookrelay.ErrNotFound
	}
	switch pgCode(err) {
	case codeUniqueViolation:
		return hookrelay.ErrConflict
	case codeForeignKeyViolation:
		return hookrelay.ErrNotFound
	}
	return err
}

// textKeys reports whether every key can be PostgreSQL text: valid UTF-8
// without U+0000. No object is stored under any other key, so a lookup by
// one returns ErrNotFound instead of sending a parameter the server
// rejects (an error that would read as a failure).
func textKeys(keys ...string) bool {
	for _, k := range keys {
		if !utf8.ValidString(k) || strings.IndexByte(k, 0) >= 0 {
			return false
		}
	}
	return true
}

// mustAffect returns ErrNotFound when tag reports no changed row.
func mustAffect(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return hookrelay.ErrNotFound
	}
	return nil
}

// constraint returns the name of the constraint a PostgreSQL error is
// about, or "".
func constraint(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.ConstraintName
	}
	return ""
}
