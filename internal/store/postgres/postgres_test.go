package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
	"github.com/hookrelay/hookrelay/internal/store/storetest"
)

// envTestURL names the PostgreSQL server the tests run against; without it
// every test and benchmark of the package is skipped. The role needs
// CREATEDB: each test gets a database of its own.
const envTestURL = "HOOKRELAY_TEST_DATABASE_URL"

func testServerURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(envTestURL)
	if u == "" {
		t.Skip(envTestURL + " is not set")
	}
	return u
}

var icuOnce struct {
	sync.Once
	ok bool
}

// newDatabase creates an empty database on the test server, dropped when the
// test ends, and returns its URL. When the server has ICU the database
// collates en-US, so that a query relying on the default collation for
// the order of IDs fails here rather than in production.
func newDatabase(t testing.TB) string {
	t.Helper()
	serverURL := testServerURL(t)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		t.Fatalf("connect to %s: %v", envTestURL, err)
	}
	defer admin.Close(ctx)

	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "hookrelay_t_" + hex.EncodeToString(b[:])
	plain := "CREATE DATABASE " + name + " TEMPLATE template0"
	icu := plain + " LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
	icuOnce.Do(func() {
		_, err := admin.Exec(ctx, icu)
		icuOnce.ok = err == nil
		if err == nil {
			_, err = admin.Exec(ctx, "DROP DATABASE "+name)
		}
		if err != nil {
			t.Logf("test databases use the template's collation: %v", err)
		}
	})
	create := plain
	if icuOnce.ok {
		create = icu
	}
	if _, err := admin.Exec(ctx, create); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		// Dropping makes PostgreSQL checkpoint, which on a machine busy
		// with other tests has taken more than 30 s.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		admin, err := pgx.Connect(ctx, serverURL)
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return withDatabase(t, serverURL, name)
}

// withDatabase returns the connection string serverURL with its database
// replaced by name.
func withDatabase(t testing.TB, serverURL, name string) string {
	t.Helper()
	if !strings.Contains(serverURL, "://") {
		return serverURL + " dbname=" + name // key=value form: the last setting wins
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatalf("parse %s: %v", envTestURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

// openStore opens a store on dbURL, closed when the test ends.
func openStore(t testing.TB, dbURL string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dbURL)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newStore opens a store on a fresh database.
func newStore(t testing.TB) *Store {
	t.Helper()
	return openStore(t, newDatabase(t))
}

// fixture is an application with one endpoint that receives everything.
type fixture struct {
	app *hookrelay.Application
	ep  *hookrelay.Endpoint
}

func newFixture(t testing.TB, s store.Store) fixture {
	t.Helper()
	ctx := context.Background()
	app := &hookrelay.Application{EnvID: hookrelay.DefaultEnvironment, Name: "app"}
	if err := s.CreateApplication(ctx, app); err != nil {
		t.Fatalf("create application: %v", err)
	}
	ep := &hookrelay.Endpoint{AppID: app.ID, URL: "https://example.com/hook", Version: 1, Secret: "whsec_c2VjcmV0"}
	if err := s.CreateEndpoint(ctx, ep); err != nil {
		t.Fatalf("create endpoint: %v", err)
	}
	return fixture{app: app, ep: ep}
}

func (f fixture) publish(t testing.TB, s store.Store) *hookrelay.Message {
	t.Helper()
	m := &hookrelay.Message{AppID: f.app.ID, EventType: "user.created", Payload: []byte(`{"a":1}`)}
	res, err := s.CreateMessage(context.Background(), store.CreateMessageParams{Message: m})
	if err != nil {
		t.Fatalf("create message: %v", err)
	}
	if res.Deliveries != 1 {
		t.Fatalf("create message queued %d deliveries, want 1", res.Deliveries)
	}
	return m
}

func TestOpenMigratesOnce(t *testing.T) {
	dbURL := newDatabase(t)
	ctx := context.Background()

	// Three nodes starting together on an empty database.
	const nodes = 3
	stores := make([]*Store, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { stores[i], errs[i] = Open(ctx, dbURL) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: open: %v", i, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}

	if err := stores[0].Migrate(ctx); err != nil {
		t.Fatalf("migrate a current schema: %v", err)
	}
	var applied, envs int
	err := stores[0].pool.QueryRow(ctx,
		`SELECT (SELECT count(*) FROM goose_db_version WHERE version_id > 0),
		        (SELECT count(*) FROM environments WHERE id = $1)`, hookrelay.DefaultEnvironment).
		Scan(&applied, &envs)
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if applied != len(files) || envs != 1 {
		t.Errorf("after concurrent opens: %d migrations recorded, %d default environments; want %d and 1", applied, envs, len(files))
	}
	env, err := stores[1].GetEnvironmentByName(ctx, "default")
	if err != nil || env.ID != hookrelay.DefaultEnvironment {
		t.Errorf("default environment: %+v, %v", env, err)
	}
}

// TestJITIsOffUnlessAsked checks that the store's connections run without
// JIT compilation unless the connection string asks for it.
func TestJITIsOffUnlessAsked(t *testing.T) {
	dbURL := newDatabase(t)
	withJIT := dbURL + " jit=on"
	if strings.Contains(dbURL, "://") {
		u, err := url.Parse(dbURL)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("jit", "on")
		u.RawQuery = q.Encode()
		withJIT = u.String()
	}
	for _, c := range []struct{ url, want string }{{dbURL, "off"}, {withJIT, "on"}} {
		s := openStore(t, c.url)
		var got string
		if err := s.pool.QueryRow(context.Background(), "SHOW jit").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("jit = %s, want %s", got, c.want)
		}
	}
}

func TestOpenBadURL(t *testing.T) {
	dbURL := withDatabase(t, testServerURL(t), "hookrelay_no_such_database")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s, err := Open(ctx, dbURL); err == nil {
		s.Close()
		t.Fatal("open of a missing database succeeded")
	}
}

// IDs sort by age in byte order; listings must keep that order whatever the
// database's collation.
func TestListOrderIsByteOrder(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	ids := []string{"app_B", "app_a", "app_Z", "app_b"} // byte order: B < Z < a < b
	for _, id := range ids {
		if err := s.CreateApplication(ctx, &hookrelay.Application{ID: id, EnvID: hookrelay.DefaultEnvironment, Name: id}); err != nil {
			t.Fatal(err)
		}
	}
	apps, err := s.ListApplications(ctx, hookrelay.DefaultEnvironment, store.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range apps {
		got = append(got, a.ID)
	}
	if want := "app_B app_Z app_a app_b"; strings.Join(got, " ") != want {
		t.Errorf("ascending: %v, want %s", got, want)
	}
	apps, err = s.ListApplications(ctx, hookrelay.DefaultEnvironment, store.Page{Limit: 10, Iterator: "app_Z"})
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 2 || apps[0].ID != "app_a" {
		t.Errorf("after app_Z: %v", apps)
	}
}

// waitCall waits for one call on calls.
func waitCall(t *testing.T, calls <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-calls:
	case <-time.After(10 * time.Second):
		t.Fatalf("no call of the subscriber within 10s: %s", what)
	}
}

// drain empties calls.
func drain(calls <-chan struct{}) {
	for {
		select {
		case <-calls:
		default:
			return
		}
	}
}

func subscribe(t *testing.T, s *Store) <-chan struct{} {
	t.Helper()
	calls := make(chan struct{}, 64)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.Subscribe(ctx, func() {
			select {
			case calls <- struct{}{}:
			default:
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("subscribe returned %v after its context ended", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("subscribe did not return within 10s of its context ending")
		}
	})
	return calls
}

func TestSubscribeWakesOtherNodes(t *testing.T) {
	dbURL := newDatabase(t)
	a, b := openStore(t, dbURL), openStore(t, dbURL)
	ctx := context.Background()
	f := newFixture(t, a)

	calls := subscribe(t, b)
	waitCall(t, calls, "listening")

	m := f.publish(t, a)
	waitCall(t, calls, "publish on the other node")

	drain(calls)
	if err := a.Resend(ctx, f.app.ID, m.ID, f.ep.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	waitCall(t, calls, "resend")

	drain(calls)
	tasks, err := a.ClaimDeliveries(ctx, store.ClaimParams{Owner: "a", Now: time.Now(), LeaseUntil: time.Now().Add(time.Minute), Limit: 10})
	if err != nil || len(tasks) != 1 {
		t.Fatalf("claim: %d tasks, %v", len(tasks), err)
	}
	if err := a.ReleaseDeliveries(ctx, "a", []string{tasks[0].Delivery.ID}); err != nil {
		t.Fatal(err)
	}
	waitCall(t, calls, "release")

	// A publish that queues nothing wakes nobody.
	if err := a.DeleteEndpoint(ctx, f.app.ID, f.ep.ID); err != nil {
		t.Fatal(err)
	}
	drain(calls)
	res, err := a.CreateMessage(ctx, store.CreateMessageParams{Message: &hookrelay.Message{
		AppID: f.app.ID, EventType: "x", Payload: []byte(`{}`)}})
	if err != nil || res.Deliveries != 0 {
		t.Fatalf("publish without endpoints: %+v, %v", res, err)
	}
	// Bounded wait for a wrong notification to arrive.
	select {
	case <-calls:
		t.Error("a publish that queued no delivery woke the subscriber")
	case <-time.After(200 * time.Millisecond):
	}
}

func TestSubscribeSurvivesLostConnection(t *testing.T) {
	old := listenIdleCheck
	listenIdleCheck = 200 * time.Millisecond // exercise the idle ping too
	t.Cleanup(func() { listenIdleCheck = old })

	dbURL := newDatabase(t)
	s := openStore(t, dbURL)
	f := newFixture(t, s)
	calls := subscribe(t, s)
	waitCall(t, calls, "listening")

	// Let some idle pings pass, then cut the listening connection from
	// the server side, as a restart would.
	ctx := context.Background()
	time.Sleep(3 * listenIdleCheck) // the idle checks must run; nothing is awaited here
	var killed int
	err := s.pool.QueryRow(ctx,
		`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		 WHERE application_name = $1 AND datname = current_database()`, listenAppName).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminate the listening connection: %d terminated, %v", killed, err)
	}
	waitCall(t, calls, "listening again after the connection was cut")
	drain(calls)
	f.publish(t, s)
	waitCall(t, calls, "publish after reconnecting")
}

func TestClaimAcrossNodesNeverShares(t *testing.T) {
	dbURL := newDatabase(t)
	const nodes, workers, messages = 2, 3, 300
	stores := []*Store{openStore(t, dbURL), openStore(t, dbURL)}
	f := newFixture(t, stores[0])
	for range messages {
		f.publish(t, stores[0])
	}

	ctx := context.Background()
	now := time.Now()
	var mu sync.Mutex
	claimedBy := map[string]string{}
	var dup []string
	var wg sync.WaitGroup
	for n := range nodes {
		for w := range workers {
			owner := fmt.Sprintf("node%d", n)
			wg.Go(func() {
				for {
					tasks, err := stores[n].ClaimDeliveries(ctx, store.ClaimParams{
						Owner: owner, Now: now, LeaseUntil: now.Add(time.Hour), Limit: 7})
					if err != nil {
						t.Errorf("node %d worker %d: claim: %v", n, w, err)
						return
					}
					if len(tasks) == 0 {
						return
					}
					mu.Lock()
					for _, task := range tasks {
						if prev, ok := claimedBy[task.Delivery.ID]; ok {
							dup = append(dup, task.Delivery.ID+" by "+prev+" and "+owner)
						}
						claimedBy[task.Delivery.ID] = owner
					}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if len(dup) > 0 {
		t.Errorf("%d deliveries leased twice, e.g. %s", len(dup), dup[0])
	}
	if len(claimedBy) != messages {
		t.Errorf("claimed %d deliveries, want %d", len(claimedBy), messages)
	}
	per := map[string]int{}
	for _, o := range claimedBy {
		per[o]++
	}
	t.Logf("claims per node: %v", per)
}

func TestExpiredLeaseIsTakenOver(t *testing.T) {
	dbURL := newDatabase(t)
	a, b := openStore(t, dbURL), openStore(t, dbURL)
	ctx := context.Background()
	f := newFixture(t, a)
	f.publish(t, a)

	now := time.Now()
	lease := now.Add(30 * time.Second)
	got, err := a.ClaimDeliveries(ctx, store.ClaimParams{Owner: "a", Now: now, LeaseUntil: lease, Limit: 10})
	if err != nil || len(got) != 1 {
		t.Fatalf("node a claims: %d, %v", len(got), err)
	}
	got, err = b.ClaimDeliveries(ctx, store.ClaimParams{Owner: "b", Now: lease.Add(-time.Millisecond), LeaseUntil: lease.Add(time.Minute), Limit: 10})
	if err != nil || len(got) != 0 {
		t.Fatalf("node b claims under a's live lease: %d, %v", len(got), err)
	}
	// Node a dies; once its lease has run out node b takes the work.
	got, err = b.ClaimDeliveries(ctx, store.ClaimParams{Owner: "b", Now: lease, LeaseUntil: lease.Add(time.Minute), Limit: 10})
	if err != nil || len(got) != 1 {
		t.Fatalf("node b claims after a's lease: %d, %v", len(got), err)
	}
	// Node a's late result is recorded, but the delivery stays b's.
	err = a.CompleteAttempts(ctx, []store.AttemptResult{{
		Owner:   "a",
		Attempt: hookrelay.Attempt{DeliveryID: got[0].Delivery.ID, URL: f.ep.URL, Status: hookrelay.StatusSuccess, ResponseStatusCode: 200},
		Status:  hookrelay.StatusSuccess, Attempts: 1,
	}})
	if err != nil {
		t.Fatal(err)
	}
	var owner string
	var status int
	if err := a.pool.QueryRow(ctx, `SELECT lease_owner, status FROM deliveries WHERE id = $1`,
		got[0].Delivery.ID).Scan(&owner, &status); err != nil {
		t.Fatal(err)
	}
	if owner != "b" || status != int(hookrelay.StatusPending) {
		t.Errorf("after a's late completion: owner %q status %d, want b and pending", owner, status)
	}
}

func TestUniqueAcrossNodes(t *testing.T) {
	dbURL := newDatabase(t)
	stores := []*Store{openStore(t, dbURL), openStore(t, dbURL)}
	f := newFixture(t, stores[0])
	ctx := context.Background()

	const tries = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	var stored, conflicts, started, replays int
	eventID := "evt_1"
	for i := range tries {
		s := stores[i%2]
		wg.Go(func() {
			_, err := s.CreateMessage(ctx, store.CreateMessageParams{Message: &hookrelay.Message{
				AppID: f.app.ID, EventID: &eventID, EventType: "x", Payload: []byte(`{}`)}})
			rec := &store.IdempotencyRecord{Scope: "env POST /msg", Key: "k1", ExpiresAt: time.Now().Add(time.Hour)}
			_, fresh, ierr := s.StartIdempotent(ctx, rec)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				stored++
			case errors.Is(err, hookrelay.ErrConflict):
				conflicts++
			default:
				t.Errorf("create message: %v", err)
			}
			switch {
			case ierr != nil:
				t.Errorf("start idempotent: %v", ierr)
			case fresh:
				started++
			default:
				replays++
			}
		})
	}
	wg.Wait()
	if stored != 1 || conflicts != tries-1 {
		t.Errorf("eventId: %d stored, %d conflicts; want 1 and %d", stored, conflicts, tries-1)
	}
	if started != 1 || replays != tries-1 {
		t.Errorf("idempotency key: %d started, %d found; want 1 and %d", started, replays, tries-1)
	}
	var n int
	if err := stores[0].pool.QueryRow(ctx, `SELECT count(*) FROM deliveries`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d deliveries stored (%v), want 1", n, err)
	}
}

// TestStore runs the shared suite. Every subtest gets a schema of its own
// (through search_path) in one database made for the run: creating a
// database costs half a second, a schema a few milliseconds.
func TestStore(t *testing.T) {
	dbURL := newDatabase(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return openInSchema(t, dbURL)
	})
}

// openInSchema opens a store on a new schema of the database at dbURL. The
// caller closes the store; the schema goes with the database.
func openInSchema(t testing.TB, dbURL string) *Store {
	t.Helper()
	ctx := context.Background()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "s_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	s, err := Open(ctx, withSearchPath(t, dbURL, schema))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

// withSearchPath returns dbURL with its search_path set to schema.
func withSearchPath(t testing.TB, dbURL, schema string) string {
	t.Helper()
	if !strings.Contains(dbURL, "://") {
		return dbURL + " search_path=" + schema
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatalf("parse %s: %v", dbURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// fillBacklog queues n deliveries to ep, due an hour ago, in one statement.
func fillBacklog(t testing.TB, s *Store, appID, endpointID string, n int) {
	t.Helper()
	_, err := s.pool.Exec(context.Background(), `
		WITH m AS (
			INSERT INTO messages (id, app_id, event_type, payload, created_at)
			SELECT 'msg_backlog' || lpad(g::text, 16, '0'), $1, 'user.created', '{"a":1}',
				now() - interval '1 hour' + g * interval '1 microsecond'
			FROM generate_series(1, $3) AS g
			RETURNING id, created_at
		)
		INSERT INTO deliveries (id, msg_id, endpoint_id, app_id, status, next_attempt, created_at, updated_at)
		SELECT 'dlv_' || substr(m.id, 5), m.id, $2, $1, 1, m.created_at, now(), now() FROM m`,
		appID, endpointID, n)
	if err != nil {
		t.Fatalf("fill backlog: %v", err)
	}
}

// An endpoint with a long backlog that the caller excludes fills the head
// of the due index; a claim must find the other endpoints' work behind it.
func TestClaimBehindExcludedBacklog(t *testing.T) {
	s := newStore(t)
	f := newFixture(t, s)
	ctx := context.Background()
	fillBacklog(t, s, f.app.ID, f.ep.ID, 1000)

	var want []string
	for range 3 {
		ep := &hookrelay.Endpoint{AppID: f.app.ID, URL: "https://other.example.com", Version: 1, Secret: "whsec_c2VjcmV0"}
		if err := s.CreateEndpoint(ctx, ep); err != nil {
			t.Fatal(err)
		}
		m := &hookrelay.Message{AppID: f.app.ID, EventType: "x", Payload: []byte(`{}`)}
		if _, err := s.CreateMessage(ctx, store.CreateMessageParams{Message: m, OnlyEndpointID: ep.ID}); err != nil {
			t.Fatal(err)
		}
		want = append(want, m.ID)
	}

	now := time.Now()
	var got []string
	for _, limit := range []int{2, 2, 2} {
		tasks, err := s.ClaimDeliveries(ctx, store.ClaimParams{Owner: "n", Now: now,
			LeaseUntil: now.Add(time.Minute), Limit: limit, ExcludeEndpoints: []string{f.ep.ID}})
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks {
			if task.Endpoint.ID == f.ep.ID {
				t.Fatalf("claimed a delivery of the excluded endpoint")
			}
			got = append(got, task.Message.ID)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("claimed %v, want %v (oldest first)", got, want)
	}

	// Without the exclusion the backlog comes first.
	tasks, err := s.ClaimDeliveries(ctx, store.ClaimParams{Owner: "n", Now: now, LeaseUntil: now.Add(time.Minute), Limit: 5})
	if err != nil || len(tasks) != 5 || tasks[0].Endpoint.ID != f.ep.ID {
		t.Fatalf("claim without exclusions: %d tasks, %v", len(tasks), err)
	}
}

var errUnstorable = errors.New("any error")

// Concurrent publishes share batches; each must still get its own outcome
// and store exactly what it was given.
func TestPublishBatchOutcomes(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	f := newFixture(t, s)
	other := newFixture(t, s)
	filtered := &hookrelay.Endpoint{AppID: f.app.ID, URL: "https://c.example.com", Version: 1,
		Secret: "whsec_c2VjcmV0", Channels: []string{"vip"}}
	if err := s.CreateEndpoint(ctx, filtered); err != nil {
		t.Fatal(err)
	}

	type publish struct {
		name       string
		p          store.CreateMessageParams
		wantErr    error
		deliveries int
	}
	var cases []publish
	dupID := "evt_dup"
	for i := range 40 {
		cases = append(cases,
			publish{name: fmt.Sprintf("plain %d", i), p: store.CreateMessageParams{Message: &hookrelay.Message{
				AppID: f.app.ID, EventType: "a.b", Payload: []byte(fmt.Sprintf(`{"i":%d}`, i))}}, deliveries: 1},
			publish{name: fmt.Sprintf("channels %d", i), p: store.CreateMessageParams{Message: &hookrelay.Message{
				AppID: f.app.ID, EventType: "a.b", Payload: []byte(`{}`), Channels: []string{"vip", `q"uote`},
				Tags: []string{}}}, deliveries: 2},
			publish{name: fmt.Sprintf("other app %d", i), p: store.CreateMessageParams{Message: &hookrelay.Message{
				AppID: other.app.ID, EventType: "x", Payload: nil, Tags: []string{"t1"}}}, deliveries: 1},
			publish{name: fmt.Sprintf("only %d", i), p: store.CreateMessageParams{OnlyEndpointID: filtered.ID,
				Message: &hookrelay.Message{AppID: f.app.ID, EventType: "a.b", Payload: []byte(`{}`)}}, deliveries: 1},
			publish{name: fmt.Sprintf("only of another app %d", i), p: store.CreateMessageParams{OnlyEndpointID: other.ep.ID,
				Message: &hookrelay.Message{AppID: f.app.ID, EventType: "a.b", Payload: []byte(`{}`)}}, wantErr: hookrelay.ErrNotFound},
			publish{name: fmt.Sprintf("missing app %d", i), p: store.CreateMessageParams{Message: &hookrelay.Message{
				AppID: "app_missing", EventType: "a.b", Payload: []byte(`{}`)}}, wantErr: hookrelay.ErrNotFound},
			// PostgreSQL text cannot hold NUL: this one fails the batch
			// statement, and must fail alone.
			publish{name: fmt.Sprintf("unstorable %d", i), p: store.CreateMessageParams{Message: &hookrelay.Message{
				AppID: f.app.ID, EventType: "a.\x00", Payload: []byte(`{}`)}}, wantErr: errUnstorable},
			publish{name: fmt.Sprintf("duplicate eventId %d", i), p: store.CreateMessageParams{Message: &hookrelay.Message{
				AppID: f.app.ID, EventID: &dupID, EventType: "a.b", Payload: []byte(`{}`)}}, deliveries: 1},
		)
	}
	errs := make([]error, len(cases))
	results := make([]store.CreateMessageResult, len(cases))
	var wg sync.WaitGroup
	for i := range cases {
		wg.Go(func() { results[i], errs[i] = s.CreateMessage(ctx, cases[i].p) })
	}
	wg.Wait()

	dupStored := 0
	for i, c := range cases {
		err := errs[i]
		if c.p.Message.EventID != nil {
			switch {
			case err == nil:
				dupStored++
			case !errors.Is(err, hookrelay.ErrConflict):
				t.Errorf("%s: %v, want nil or ErrConflict", c.name, err)
			}
			continue
		}
		if c.wantErr == errUnstorable {
			if err == nil {
				t.Errorf("%s: stored", c.name)
			}
			continue
		}
		if c.wantErr != nil {
			if !errors.Is(err, c.wantErr) {
				t.Errorf("%s: %v, want %v", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if results[i].Deliveries != c.deliveries {
			t.Errorf("%s: %d deliveries, want %d", c.name, results[i].Deliveries, c.deliveries)
		}
		got, err := s.GetMessage(ctx, c.p.Message.AppID, c.p.Message.ID)
		if err != nil {
			t.Errorf("%s: get: %v", c.name, err)
			continue
		}
		m := c.p.Message
		if string(got.Payload) != string(m.Payload) || (got.Payload == nil) != (m.Payload == nil) ||
			fmt.Sprintf("%#v %#v", got.Channels, got.Tags) != fmt.Sprintf("%#v %#v", m.Channels, m.Tags) ||
			!got.CreatedAt.Equal(m.CreatedAt) {
			t.Errorf("%s: stored %+v, published %+v", c.name, got, m)
		}
	}
	if dupStored != 1 {
		t.Errorf("the duplicate eventId was stored %d times, want once", dupStored)
	}
}

// A publish whose context is done before a publisher takes it stores
// nothing; Close fails later publishes.
func TestPublishCancelledAndClosed(t *testing.T) {
	s := openStore(t, newDatabase(t))
	f := newFixture(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := &hookrelay.Message{AppID: f.app.ID, EventType: "x", Payload: []byte(`{}`)}
	if _, err := s.CreateMessage(ctx, store.CreateMessageParams{Message: m}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled publish: %v", err)
	}
	if _, err := s.GetMessage(context.Background(), f.app.ID, m.ID); !errors.Is(err, hookrelay.ErrNotFound) {
		t.Fatalf("cancelled publish was stored: %v", err)
	}
	s.Close()
	m = &hookrelay.Message{AppID: f.app.ID, EventType: "x", Payload: []byte(`{}`)}
	if _, err := s.CreateMessage(context.Background(), store.CreateMessageParams{Message: m}); !errors.Is(err, errClosed) {
		t.Fatalf("publish after close: %v", err)
	}
}

// A node extends its leases while its workers complete attempts; neither
// may fail (a deadlock would abort one of them).
func TestExtendWhileCompleting(t *testing.T) {
	s := newStore(t)
	f := newFixture(t, s)
	ctx := context.Background()
	fillBacklog(t, s, f.app.ID, f.ep.ID, 400)
	now := time.Now()
	tasks, err := s.ClaimDeliveries(ctx, store.ClaimParams{Owner: "n", Now: now, LeaseUntil: now.Add(time.Minute), Limit: 400})
	if err != nil || len(tasks) != 400 {
		t.Fatalf("claim: %d, %v", len(tasks), err)
	}
	stop := make(chan struct{})
	extended := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				extended <- nil
				return
			default:
			}
			if err := s.ExtendLeases(ctx, "n", now.Add(time.Hour), now.Add(time.Duration(2+i)*time.Minute)); err != nil {
				extended <- err
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			// Each worker completes its share in batches, in descending
			// ID order, against the extension's ascending one.
			var mine []store.Task
			for i := len(tasks) - 1 - w; i >= 0; i -= 4 {
				mine = append(mine, tasks[i])
			}
			for len(mine) > 0 {
				n := min(10, len(mine))
				results := make([]store.AttemptResult, n)
				for i, task := range mine[:n] {
					results[i] = store.AttemptResult{Owner: "n", Status: hookrelay.StatusSuccess, Attempts: 1,
						Attempt: hookrelay.Attempt{DeliveryID: task.Delivery.ID, URL: f.ep.URL, Status: hookrelay.StatusSuccess, ResponseStatusCode: 200}}
				}
				if err := s.CompleteAttempts(ctx, results); err != nil {
					t.Errorf("complete: %v", err)
					return
				}
				mine = mine[n:]
			}
		})
	}
	wg.Wait()
	close(stop)
	if err := <-extended; err != nil {
		t.Errorf("extend leases: %v", err)
	}
	var left int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE status <> 0`).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d deliveries not completed (%v)", left, err)
	}
}

// After every connection is cut, as when PostgreSQL restarts, the store
// goes on working: a call may fail while the pool finds its connections
// dead, then calls succeed again.
func TestSurvivesLostConnections(t *testing.T) {
	dbURL := newDatabase(t)
	s := openStore(t, dbURL)
	f := newFixture(t, s)
	calls := subscribe(t, s)
	waitCall(t, calls, "listening")
	f.publish(t, s)

	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var cut int
	if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&cut); err != nil || cut == 0 {
		t.Fatalf("terminate connections: %d, %v", cut, err)
	}

	deadline := time.Now().Add(10 * time.Second)
	failures := 0
	for {
		m := &hookrelay.Message{AppID: f.app.ID, EventType: "x", Payload: []byte(`{}`)}
		_, err := s.CreateMessage(ctx, store.CreateMessageParams{Message: m})
		if err == nil {
			break
		}
		failures++
		if time.Now().After(deadline) {
			t.Fatalf("publishing still fails 10s after the connections were cut: %v", err)
		}
	}
	t.Logf("%d publishes failed after the connections were cut", failures)
	waitCall(t, calls, "a notification after the connections were cut")
	now := time.Now()
	tasks, err := s.ClaimDeliveries(ctx, store.ClaimParams{Owner: "n", Now: now, LeaseUntil: now.Add(time.Minute), Limit: 10})
	if err != nil || len(tasks) != 2 {
		t.Fatalf("claim after the connections were cut: %d tasks, %v", len(tasks), err)
	}
}

// TestUnleasedDueMigrationKeepsAttempts rolls the schema back over 00004
// and forward again on a database with a recorded attempt: the attempt
// survives both ways, and deleting the endpoint still takes it along.
func TestUnleasedDueMigrationKeepsAttempts(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	f := newFixture(t, s)
	f.publish(t, s)
	now := time.Now()
	tasks, err := s.ClaimDeliveries(ctx, store.ClaimParams{Owner: "n", Now: now, LeaseUntil: now.Add(time.Minute), Limit: 1})
	if err != nil || len(tasks) != 1 {
		t.Fatalf("claim: %v, %d tasks", err, len(tasks))
	}
	err = s.CompleteAttempts(ctx, []store.AttemptResult{{
		Owner:   "n",
		Attempt: hookrelay.Attempt{DeliveryID: tasks[0].Delivery.ID, URL: f.ep.URL, Status: hookrelay.StatusSuccess, ResponseStatusCode: 200},
		Status:  hookrelay.StatusSuccess, Attempts: 1,
	}})
	if err != nil {
		t.Fatal(err)
	}
	attempts := func() int {
		t.Helper()
		var n int
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM attempts`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	p := migrationsOf(t, s)
	if _, err := p.DownTo(ctx, 3); err != nil {
		t.Fatalf("down to 3: %v", err)
	}
	if n := attempts(); n != 1 {
		t.Fatalf("after down: %d attempts, want 1", n)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	if n := attempts(); n != 1 {
		t.Fatalf("after up: %d attempts, want 1", n)
	}
	if err := s.DeleteEndpoint(ctx, f.app.ID, f.ep.ID); err != nil {
		t.Fatal(err)
	}
	if n := attempts(); n != 0 {
		t.Fatalf("after deleting the endpoint: %d attempts, want 0", n)
	}
}

// TestPartialEventIDMigration rolls 00005 back and forward again with
// messages with and without an eventId: eventIds stay unique per
// application at every step, and messages without one never collide.
func TestPartialEventIDMigration(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	f := newFixture(t, s)
	eventID := "evt-1"
	publish := func(eventID *string) error {
		t.Helper()
		_, err := s.CreateMessage(ctx, store.CreateMessageParams{Message: &hookrelay.Message{
			AppID: f.app.ID, EventType: "user.created", EventID: eventID, Payload: []byte(`{}`)}})
		return err
	}
	if err := publish(&eventID); err != nil {
		t.Fatal(err)
	}
	check := func(step string) {
		t.Helper()
		for range 2 {
			if err := publish(nil); err != nil {
				t.Fatalf("%s: a message without eventId: %v", step, err)
			}
		}
		if err := publish(&eventID); !errors.Is(err, hookrelay.ErrConflict) {
			t.Fatalf("%s: a second message with eventId %q: %v, want a conflict", step, eventID, err)
		}
		if m, err := s.GetMessage(ctx, f.app.ID, eventID); err != nil || m.EventID == nil || *m.EventID != eventID {
			t.Fatalf("%s: message by eventId: %+v, %v", step, m, err)
		}
	}
	check("at the latest version")
	// Only 00005 is rolled back and applied again: the code under test
	// needs the columns later migrations add.
	p := migrationsOf(t, s)
	if _, err := p.ApplyVersion(ctx, 5, false); err != nil {
		t.Fatalf("down 5: %v", err)
	}
	check("after down")
	if _, err := p.ApplyVersion(ctx, 5, true); err != nil {
		t.Fatalf("up 5: %v", err)
	}
	check("after up")
	var partial bool
	if err := s.pool.QueryRow(ctx,
		`SELECT indpred IS NOT NULL FROM pg_index WHERE indexrelid = 'messages_event'::regclass`).Scan(&partial); err != nil || !partial {
		t.Fatalf("messages_event partial = %v (%v), want a partial index", partial, err)
	}
}

// migrationsOf returns a goose provider of the migrations on s's database.
func migrationsOf(t *testing.T, s *Store) *goose.Provider {
	t.Helper()
	db := stdlib.OpenDBFromPool(s.pool)
	t.Cleanup(func() { db.Close() })
	p, err := goose.NewProvider(database.DialectPostgres, db, Migrations(), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
