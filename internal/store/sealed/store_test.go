package sealed_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
	"github.com/hookrelay/hookrelay/internal/store/sealed"
	"github.com/hookrelay/hookrelay/internal/store/sqlite"
	"github.com/hookrelay/hookrelay/internal/store/storetest"
)

var (
	keyA = keyLine("ka", 1)
	keyB = keyLine("kb", 2)
)

// The shared suite through the decorator: it is transparent.
func TestStoreSuite(t *testing.T) {
	k := mustKeys(t, keyB+","+keyA)
	storetest.Run(t, func(t *testing.T) store.Store { return sealed.Wrap(openSQLite(t, dbPath(t)), k) })
}

func dbPath(t testing.TB) string { return filepath.Join(t.TempDir(), "hookrelay.db") }

func openSQLite(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	return s
}

// Plaintext used by the fixtures; none may be found at rest.
const (
	plainSecret    = "whsec_Q3VycmVudFNlY3JldEN1cnJlbnRTZWNyZXQ="
	plainOldSecret = "whsec_T2xkU2VjcmV0T2xkU2VjcmV0T2xkU2VjcmV0"
	plainToken     = "tok-3f9a1c2e7b5d4a60"
	plainAuth      = "Bearer auth-77d1e0c4a9b2"
	plainHeader    = "not-secret-tenant-42" // a header that is not sensitive stays readable
)

func newApp(t testing.TB, s store.Store) *hookrelay.Application {
	t.Helper()
	app := &hookrelay.Application{EnvID: hookrelay.DefaultEnvironment, Name: "acme"}
	if err := s.CreateApplication(t.Context(), app); err != nil {
		t.Fatalf("create application: %v", err)
	}
	return app
}

func secretEndpoint(appID string) *hookrelay.Endpoint {
	return &hookrelay.Endpoint{
		AppID:      appID,
		URL:        "https://example.com/hook",
		Version:    1,
		Secret:     plainSecret,
		OldSecrets: []hookrelay.OldSecret{{Secret: plainOldSecret, ExpiresAt: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}},
		Headers:    map[string]string{"X-Webhook-Token": plainToken, "authorization": plainAuth, "X-Tenant": plainHeader},
		Sensitive:  []string{"X-Webhook-Token", "Authorization"},
	}
}

func newEndpoint(t testing.TB, s store.Store, appID string) *hookrelay.Endpoint {
	t.Helper()
	ep := secretEndpoint(appID)
	if err := s.CreateEndpoint(t.Context(), ep); err != nil {
		t.Fatalf("create endpoint: %v", err)
	}
	return ep
}

// rawEndpoint reads the endpoint as stored, sealed values and all.
func rawEndpoint(t testing.TB, s store.Store, appID, id string) *hookrelay.Endpoint {
	t.Helper()
	ep, err := s.(*sealed.Store).Unwrap().GetEndpoint(t.Context(), appID, id)
	if err != nil {
		t.Fatalf("get raw endpoint: %v", err)
	}
	return ep
}

func TestNothingPlainAtRest(t *testing.T) {
	path := dbPath(t)
	s := sealed.Wrap(openSQLite(t, path), mustKeys(t, keyA))
	app := newApp(t, s)
	ep := newEndpoint(t, s, app.ID)
	ep.Secret = plainSecret // update path too
	if err := s.UpdateEndpoint(t.Context(), ep); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var secret, oldSecrets, headers string
	err = db.QueryRowContext(t.Context(), `SELECT secret, old_secrets, headers FROM endpoints WHERE id = ?`, ep.ID).
		Scan(&secret, &oldSecrets, &headers)
	if err != nil {
		t.Fatal(err)
	}
	for _, col := range []string{secret, oldSecrets, headers} {
		for _, plain := range []string{plainSecret, plainOldSecret, plainToken, plainAuth} {
			if strings.Contains(col, plain) {
				t.Errorf("column holds plaintext %q: %s", plain, col)
			}
		}
	}
	if !strings.HasPrefix(secret, "sealed:v1:ka:") || !strings.Contains(oldSecrets, "sealed:v1:ka:") {
		t.Errorf("secret columns not sealed: %s %s", secret, oldSecrets)
	}
	if !strings.Contains(headers, plainHeader) {
		t.Errorf("a header that is not sensitive should stay readable: %s", headers)
	}
	// Nor anywhere in the files: the database and its write-ahead log.
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, plain := range []string{plainSecret, plainOldSecret, plainToken, plainAuth} {
			if bytes.Contains(b, []byte(plain)) {
				t.Errorf("%s holds plaintext %q", filepath.Base(f), plain)
			}
		}
	}
}

func TestRoundTripAndCallerUnchanged(t *testing.T) {
	s := sealed.Wrap(openSQLite(t, dbPath(t)), mustKeys(t, keyA))
	app := newApp(t, s)
	ep := secretEndpoint(app.ID)
	before := *secretEndpoint(app.ID)
	if err := s.CreateEndpoint(t.Context(), ep); err != nil {
		t.Fatal(err)
	}
	if ep.ID == "" || ep.CreatedAt.IsZero() || ep.UpdatedAt.IsZero() {
		t.Fatalf("create did not set ID and times: %+v", ep)
	}
	if ep.Secret != before.Secret || !reflect.DeepEqual(ep.OldSecrets, before.OldSecrets) || !reflect.DeepEqual(ep.Headers, before.Headers) {
		t.Fatalf("create changed the caller's secrets: %+v", ep)
	}
	ep.UpdatedAt = time.Time{}
	if err := s.UpdateEndpoint(t.Context(), ep); err != nil {
		t.Fatal(err)
	}
	if ep.UpdatedAt.IsZero() || ep.Secret != before.Secret || !reflect.DeepEqual(ep.Headers, before.Headers) {
		t.Fatalf("update: times not set or secrets changed: %+v", ep)
	}

	got, err := s.GetEndpoint(t.Context(), app.ID, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Secret != plainSecret || got.OldSecrets[0].Secret != plainOldSecret ||
		!reflect.DeepEqual(got.Headers, before.Headers) {
		t.Fatalf("get endpoint: %+v", got)
	}
	list, err := s.ListEndpoints(t.Context(), app.ID, store.Page{Limit: 10})
	if err != nil || len(list) != 1 || list[0].Secret != plainSecret || list[0].Headers["authorization"] != plainAuth {
		t.Fatalf("list endpoints: %+v, %v", list, err)
	}

	msg := &hookrelay.Message{AppID: app.ID, EventType: "call.completed", Payload: []byte(`{}`), CreatedAt: time.Now().Add(-time.Second)}
	if _, err := s.CreateMessage(t.Context(), store.CreateMessageParams{Message: msg}); err != nil {
		t.Fatal(err)
	}
	dests, err := s.ListMessageDestinations(t.Context(), store.ListDeliveriesParams{AppID: app.ID, MsgID: msg.ID, Page: store.Page{Limit: 10}})
	if err != nil || len(dests) != 1 || dests[0].Endpoint.Secret != plainSecret || dests[0].Endpoint.Headers["X-Webhook-Token"] != plainToken {
		t.Fatalf("list message destinations: %+v, %v", dests, err)
	}
	now := time.Now()
	tasks, err := s.ClaimDeliveries(t.Context(), store.ClaimParams{Owner: "n1", Now: now, LeaseUntil: now.Add(time.Minute), Limit: 10})
	if err != nil || len(tasks) != 1 {
		t.Fatalf("claim: %+v, %v", tasks, err)
	}
	if e := tasks[0].Endpoint; e.Secret != plainSecret || e.OldSecrets[0].Secret != plainOldSecret || e.Headers["authorization"] != plainAuth {
		t.Fatalf("claimed endpoint not opened: %+v", e)
	}
}

func TestRotationThroughTheStore(t *testing.T) {
	path := dbPath(t)
	inner := openSQLite(t, path)
	withA := sealed.Wrap(inner, mustKeys(t, keyA))
	app := newApp(t, withA)
	old := newEndpoint(t, withA, app.ID)

	withBA := sealed.Wrap(inner, mustKeys(t, keyB+","+keyA))
	got, err := withBA.GetEndpoint(t.Context(), app.ID, old.ID)
	if err != nil || got.Secret != plainSecret || got.Headers["X-Webhook-Token"] != plainToken {
		t.Fatalf("keyring B,A reads what A sealed: %+v, %v", got, err)
	}
	fresh := newEndpoint(t, withBA, app.ID)
	if id, _ := sealed.SealedWith(rawEndpoint(t, withBA, app.ID, fresh.ID).Secret); id != "kb" {
		t.Fatalf("new endpoint sealed with %q, want kb", id)
	}
	// Rewriting an old endpoint moves it to the current key.
	if err := withBA.UpdateEndpoint(t.Context(), got); err != nil {
		t.Fatal(err)
	}
	raw := rawEndpoint(t, withBA, app.ID, old.ID)
	for _, v := range []string{raw.Secret, raw.OldSecrets[0].Secret, raw.Headers["X-Webhook-Token"], raw.Headers["authorization"]} {
		if id, _ := sealed.SealedWith(v); id != "kb" {
			t.Errorf("rewritten value sealed with %q, want kb: %s", id, v)
		}
	}

	// A server that lost key B cannot read what B sealed, and says why.
	_, err = withA.GetEndpoint(t.Context(), app.ID, fresh.ID)
	if !errors.Is(err, sealed.ErrUnknownKey) {
		t.Fatalf("keyring A reading a B endpoint: %v, want ErrUnknownKey", err)
	}
	if _, err := withA.ListEndpoints(t.Context(), app.ID, store.Page{Limit: 10}); !errors.Is(err, sealed.ErrCannotOpen) {
		t.Fatalf("list with a missing key: %v, want ErrCannotOpen", err)
	}
	// Nor can a server given another key under the same ID.
	impostor := sealed.Wrap(inner, mustKeys(t, keyLine("kb", 7)))
	if _, err := impostor.GetEndpoint(t.Context(), app.ID, fresh.ID); !errors.Is(err, sealed.ErrCannotOpen) || errors.Is(err, sealed.ErrUnknownKey) {
		t.Fatalf("wrong key under the right ID: %v, want ErrCannotOpen only", err)
	}
}

func TestPlaintextRowsKeepWorking(t *testing.T) {
	inner := openSQLite(t, dbPath(t))
	app := newApp(t, inner)
	ep := newEndpoint(t, inner, app.ID) // written before encryption was configured
	s := sealed.Wrap(inner, mustKeys(t, keyA))
	got, err := s.GetEndpoint(t.Context(), app.ID, ep.ID)
	if err != nil || got.Secret != plainSecret || got.Headers["authorization"] != plainAuth {
		t.Fatalf("plaintext row: %+v, %v", got, err)
	}
	if err := s.UpdateEndpoint(t.Context(), got); err != nil {
		t.Fatal(err)
	}
	if raw := rawEndpoint(t, s, app.ID, ep.ID); !sealed.IsSealed(raw.Secret) || !sealed.IsSealed(raw.Headers["authorization"]) {
		t.Fatalf("not sealed on its next write: %+v", raw)
	}
}

func TestSealedValueMovedElsewhereDoesNotOpen(t *testing.T) {
	s := sealed.Wrap(openSQLite(t, dbPath(t)), mustKeys(t, keyA))
	inner := s.Unwrap()
	app := newApp(t, s)
	victim := newEndpoint(t, s, app.ID)
	attacker := newEndpoint(t, s, app.ID)
	tests := []struct {
		name string
		move func(from, to *hookrelay.Endpoint)
	}{
		{"secret to another endpoint", func(from, to *hookrelay.Endpoint) { to.Secret = from.Secret }},
		{"header to another endpoint", func(from, to *hookrelay.Endpoint) {
			to.Headers["X-Webhook-Token"] = from.Headers["X-Webhook-Token"]
		}},
		{"old secret into the secret field", func(from, to *hookrelay.Endpoint) {
			to.Secret = from.OldSecrets[0].Secret
			to.ID, to.Revision = from.ID, from.Revision
		}},
		{"one header under another name", func(from, to *hookrelay.Endpoint) {
			to.Headers["authorization"] = from.Headers["X-Webhook-Token"]
			to.ID, to.Revision = from.ID, from.Revision
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from := rawEndpoint(t, s, app.ID, victim.ID)
			to := rawEndpoint(t, s, app.ID, attacker.ID)
			tt.move(from, to)
			if err := inner.UpdateEndpoint(t.Context(), to); err != nil {
				t.Fatal(err)
			}
			_, err := s.GetEndpoint(t.Context(), app.ID, to.ID)
			if !errors.Is(err, sealed.ErrCannotOpen) || errors.Is(err, sealed.ErrUnknownKey) {
				t.Fatalf("moved value: %v, want ErrCannotOpen", err)
			}
			// Put both endpoints back for the next case, over the
			// revisions the tampering left.
			for _, ep := range []*hookrelay.Endpoint{victim, attacker} {
				ep.Revision = rawEndpoint(t, s, app.ID, ep.ID).Revision
				if err := s.UpdateEndpoint(t.Context(), ep); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// A claimed delivery whose endpoint cannot be opened comes back with the
// reason, naming the key, and without any sealed value; the store records
// nothing for it (the dispatcher decides), and the other deliveries of the
// claim come back opened.
func TestClaimReportsUnreadableEndpoints(t *testing.T) {
	inner := openSQLite(t, dbPath(t))
	withB := sealed.Wrap(inner, mustKeys(t, keyB))
	s := sealed.Wrap(inner, mustKeys(t, keyA))
	app := newApp(t, s)
	good := newEndpoint(t, s, app.ID)
	bad := newEndpoint(t, withB, app.ID) // sealed with a key s does not hold
	msg := &hookrelay.Message{AppID: app.ID, EventType: "call.completed", Payload: []byte(`{}`), CreatedAt: time.Now().Add(-time.Second)}
	if _, err := s.CreateMessage(t.Context(), store.CreateMessageParams{Message: msg}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tasks, err := s.ClaimDeliveries(t.Context(), store.ClaimParams{Owner: "n1", Now: now, LeaseUntil: now.Add(3 * time.Hour), Limit: 10})
	if err != nil || len(tasks) != 2 {
		t.Fatalf("claimed %+v, %v; want both tasks", tasks, err)
	}
	byEndpoint := map[string]store.Task{}
	for _, task := range tasks {
		byEndpoint[task.Endpoint.ID] = task
	}
	if g := byEndpoint[good.ID]; g.OpenErr != nil || g.Endpoint.Secret != plainSecret || g.Endpoint.Headers["authorization"] != plainAuth {
		t.Fatalf("readable endpoint's task %+v", g)
	}
	b := byEndpoint[bad.ID]
	if !errors.Is(b.OpenErr, sealed.ErrCannotOpen) || !errors.Is(b.OpenErr, sealed.ErrUnknownKey) ||
		!strings.Contains(b.OpenErr.Error(), `"kb"`) || !strings.Contains(b.OpenErr.Error(), bad.ID) {
		t.Fatalf("unreadable endpoint's task: OpenErr %v, want one naming the endpoint and key kb", b.OpenErr)
	}
	if b.Endpoint.Secret != "" || b.Endpoint.OldSecrets != nil || b.Endpoint.Headers != nil || b.Endpoint.URL != bad.URL {
		t.Fatalf("unreadable endpoint handed out with sealed values: %+v", b.Endpoint)
	}
	if b.Delivery.ID == "" || b.Message.ID != msg.ID {
		t.Fatalf("unreadable endpoint's task lacks its delivery or message: %+v", b)
	}

	// Nothing recorded: the delivery is leased to n1, which decides.
	as, err := s.ListAttempts(t.Context(), store.ListAttemptsParams{AppID: app.ID, EndpointID: bad.ID, Page: store.Page{Limit: 10}})
	if err != nil || len(as) != 0 {
		t.Fatalf("attempts: %+v, %v; want none", as, err)
	}
	tasks, err = s.ClaimDeliveries(t.Context(), store.ClaimParams{Owner: "n2", Now: now.Add(time.Minute), LeaseUntil: now.Add(2 * time.Minute), Limit: 10})
	if err != nil || len(tasks) != 0 {
		t.Fatalf("claim while leased: %+v, %v", tasks, err)
	}
	// With the key back, the delivery goes out once its lease is over.
	fixed := sealed.Wrap(inner, mustKeys(t, keyA+","+keyB))
	later := now.Add(4 * time.Hour)
	tasks, err = fixed.ClaimDeliveries(t.Context(), store.ClaimParams{Owner: "n2", Now: later, LeaseUntil: later.Add(time.Minute), Limit: 10})
	if err != nil || len(tasks) != 2 || tasks[0].OpenErr != nil || tasks[1].OpenErr != nil {
		t.Fatalf("claim after the key is back: %+v, %v", tasks, err)
	}
	for _, task := range tasks {
		if task.Endpoint.ID == bad.ID && task.Endpoint.Headers["authorization"] != plainAuth {
			t.Fatalf("claim after the key is back: %+v", task.Endpoint)
		}
	}
}

// Many deliveries to one endpoint in one claim all carry the opened values.
func TestClaimManyTasksOfOneEndpoint(t *testing.T) {
	s := sealed.Wrap(openSQLite(t, dbPath(t)), mustKeys(t, keyA))
	app := newApp(t, s)
	ep := newEndpoint(t, s, app.ID)
	for range 20 {
		msg := &hookrelay.Message{AppID: app.ID, EventType: "e", Payload: []byte(`{}`), CreatedAt: time.Now().Add(-time.Second)}
		if _, err := s.CreateMessage(t.Context(), store.CreateMessageParams{Message: msg}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	tasks, err := s.ClaimDeliveries(t.Context(), store.ClaimParams{Owner: "n1", Now: now, LeaseUntil: now.Add(time.Minute), Limit: 50})
	if err != nil || len(tasks) != 20 {
		t.Fatalf("claim: %d tasks, %v", len(tasks), err)
	}
	for _, task := range tasks {
		e := task.Endpoint
		if e.ID != ep.ID || e.Secret != plainSecret || e.OldSecrets[0].Secret != plainOldSecret || e.Headers["X-Webhook-Token"] != plainToken {
			t.Fatalf("task endpoint %+v", e)
		}
	}
}

func TestWithoutKeys(t *testing.T) {
	inner := openSQLite(t, dbPath(t))
	plain := sealed.Wrap(inner, nil)
	app := newApp(t, plain)
	ep := newEndpoint(t, plain, app.ID)
	if raw := rawEndpoint(t, plain, app.ID, ep.ID); raw.Secret != plainSecret {
		t.Fatalf("without keys the secret is stored as given: %q", raw.Secret)
	}
	got, err := plain.GetEndpoint(t.Context(), app.ID, ep.ID)
	if err != nil || got.Secret != plainSecret {
		t.Fatalf("get: %+v, %v", got, err)
	}
	sealedEp := newEndpoint(t, sealed.Wrap(inner, mustKeys(t, keyA)), app.ID)
	if _, err := plain.GetEndpoint(t.Context(), app.ID, sealedEp.ID); !errors.Is(err, sealed.ErrUnknownKey) {
		t.Fatalf("sealed value without keys: %v, want ErrUnknownKey", err)
	}
}

// subscribing is a store with PostgreSQL's optional Subscribe.
// The sealed store passes no capability of the wrapped store through: the
// server takes notifications from the database store itself.
func TestWrapAddsNoCapabilities(t *testing.T) {
	inner := openSQLite(t, dbPath(t))
	var w store.Store = sealed.Wrap(inner, mustKeys(t, keyA))
	if _, ok := w.(interface {
		Subscribe(ctx context.Context, fn func()) error
	}); ok {
		t.Error("the sealed store has a Subscribe")
	}
	if u := w.(interface{ Unwrap() store.Store }).Unwrap(); u != inner {
		t.Fatalf("unwrap returned %T", u)
	}
}

// Deliveries leased by a publish come back opened, and one whose endpoint
// does not open is reported like a claimed one.
func TestPublishHandoff(t *testing.T) {
	inner := openSQLite(t, dbPath(t))
	s := sealed.Wrap(inner, mustKeys(t, keyA))
	app := newApp(t, s)
	good := newEndpoint(t, s, app.ID)
	bad := newEndpoint(t, sealed.Wrap(inner, mustKeys(t, keyB)), app.ID)
	now := time.Now()
	msg := &hookrelay.Message{AppID: app.ID, EventType: "e", Payload: []byte(`{}`), CreatedAt: now}
	res, err := s.CreateMessage(t.Context(), store.CreateMessageParams{Message: msg,
		Lease: &store.LeaseParams{Owner: "n1", Until: now.Add(time.Minute), Max: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Deliveries != 2 {
		t.Fatalf("deliveries %d, want 2", res.Deliveries)
	}
	if len(res.Tasks) == 0 {
		t.Skip("the store leases nothing at publish")
	}
	if len(res.Tasks) != 2 {
		t.Fatalf("tasks %+v, want both", res.Tasks)
	}
	for _, task := range res.Tasks {
		switch task.Endpoint.ID {
		case good.ID:
			if task.OpenErr != nil || task.Endpoint.Secret != plainSecret || task.Endpoint.Headers["authorization"] != plainAuth {
				t.Fatalf("readable endpoint's task %+v", task)
			}
		case bad.ID:
			if !errors.Is(task.OpenErr, sealed.ErrUnknownKey) || task.Endpoint.Secret != "" || task.Endpoint.Headers != nil {
				t.Fatalf("unreadable endpoint's task: OpenErr %v, endpoint %+v", task.OpenErr, task.Endpoint)
			}
		default:
			t.Fatalf("task of endpoint %s", task.Endpoint.ID)
		}
	}
}

// Every method of store.Store that takes or returns an endpoint must be
// the decorator's own, or a secret would pass it sealed (or unsealed). This
// fails when the interface grows such a method and Store does not follow.
func TestEveryEndpointCarryingMethodIsWrapped(t *testing.T) {
	own := map[string]bool{}
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv != nil {
				if star, ok := fd.Recv.List[0].Type.(*ast.StarExpr); ok {
					if id, ok := star.X.(*ast.Ident); ok && id.Name == "Store" {
						own[fd.Name.Name] = true
					}
				}
			}
		}
	}
	endpoint := reflect.TypeFor[hookrelay.Endpoint]()
	st := reflect.TypeFor[store.Store]()
	for i := range st.NumMethod() {
		m := st.Method(i)
		carries := false
		for j := range m.Type.NumIn() {
			carries = carries || holds(m.Type.In(j), endpoint, map[reflect.Type]bool{})
		}
		for j := range m.Type.NumOut() {
			carries = carries || holds(m.Type.Out(j), endpoint, map[reflect.Type]bool{})
		}
		if carries && !own[m.Name] {
			t.Errorf("store.Store.%s carries a hookrelay.Endpoint but sealed.Store does not override it", m.Name)
		}
	}
	if !own["CreateEndpoint"] || !own["ClaimDeliveries"] {
		t.Fatalf("the source scan found none of the overrides: %v", own)
	}
}

// holds reports whether values of t can contain a value of type want.
func holds(t, want reflect.Type, seen map[reflect.Type]bool) bool {
	if t == want {
		return true
	}
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return holds(t.Elem(), want, seen)
	case reflect.Map:
		return holds(t.Key(), want, seen) || holds(t.Elem(), want, seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if holds(t.Field(i).Type, want, seen) {
				return true
			}
		}
	}
	return false
}

// TestHandoffFollowsEndpointChanges publishes with a lease, as the API does
// for its local dispatcher, before and after the endpoint changes: opened
// endpoints are kept between publishes, but never an outdated version.
func TestHandoffFollowsEndpointChanges(t *testing.T) {
	for _, keys := range []struct {
		name string
		k    *sealed.Keyring
	}{{"sealed", mustKeys(t, keyA)}, {"without keys", nil}} {
		t.Run(keys.name, func(t *testing.T) { testHandoffFollowsEndpointChanges(t, keys.k) })
	}
}

func testHandoffFollowsEndpointChanges(t *testing.T, k *sealed.Keyring) {
	s := sealed.Wrap(openSQLite(t, dbPath(t)), k)
	app := newApp(t, s)
	ep := newEndpoint(t, s, app.ID)
	handoff := func() hookrelay.Endpoint {
		t.Helper()
		msg := &hookrelay.Message{AppID: app.ID, EventType: "e", Payload: []byte(`{}`), CreatedAt: time.Now()}
		res, err := s.CreateMessage(t.Context(), store.CreateMessageParams{Message: msg,
			Lease: &store.LeaseParams{Owner: "n1", Until: time.Now().Add(time.Minute), Max: 1}})
		if err != nil || len(res.Tasks) != 1 {
			t.Fatalf("publish: %d tasks, %v", len(res.Tasks), err)
		}
		return res.Tasks[0].Endpoint
	}
	for range 2 {
		if e := handoff(); e.Secret != plainSecret || e.Headers["X-Webhook-Token"] != plainToken {
			t.Fatalf("handed-off endpoint %+v", e)
		}
	}
	const newSecret = "whsec_bmV3IHNlY3JldCBmb3IgdGhlIGNhY2hlIHRlc3Q="
	ep.Secret = newSecret
	ep.Headers = map[string]string{"X-Webhook-Token": "rotated-token"}
	ep.UpdatedAt = ep.UpdatedAt.Add(time.Millisecond)
	if err := s.UpdateEndpoint(t.Context(), ep); err != nil {
		t.Fatalf("update endpoint: %v", err)
	}
	if e := handoff(); e.Secret != newSecret || e.Headers["X-Webhook-Token"] != "rotated-token" {
		t.Fatalf("handed-off endpoint after the change: secret %q, headers %v", e.Secret, e.Headers)
	}
	// A change that keeps the secret and the update time (two writes in one
	// clock tick) is followed too.
	ep.Headers = map[string]string{"X-Webhook-Token": "same-tick-token"}
	if err := s.UpdateEndpoint(t.Context(), ep); err != nil {
		t.Fatalf("update endpoint: %v", err)
	}
	if e := handoff(); e.Headers["X-Webhook-Token"] != "same-tick-token" {
		t.Fatalf("handed-off endpoint after a change in the same tick: headers %v", e.Headers)
	}
}
