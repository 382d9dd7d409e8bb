package sealed_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
	"github.com/hookrelay/hookrelay/internal/store/postgres"
	"github.com/hookrelay/hookrelay/internal/store/sealed"
)

// Credentials in an endpoint URL; the password must never be found at rest.
const (
	plainURLPassword = "pw-9c1e4b7a2d"
	credsURL         = "https://relay:" + plainURLPassword + "@example.com/hook?tenant=7"
	credsURLShown    = "https://example.com/hook?tenant=7"
)

// backend is one database under the sealed store: the unwrapped store and
// a reader of an endpoint's url column as stored.
type backend struct {
	inner  store.Store
	rawURL func(t *testing.T, id string) string
}

// forEachBackend runs test on SQLite and, when HOOKRELAY_TEST_DATABASE_URL
// is set, on PostgreSQL.
func forEachBackend(t *testing.T, test func(t *testing.T, b backend)) {
	t.Run("sqlite", func(t *testing.T) {
		path := dbPath(t)
		inner := openSQLite(t, path)
		t.Cleanup(func() { inner.Close() })
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		test(t, backend{inner: inner, rawURL: func(t *testing.T, id string) string {
			t.Helper()
			var u string
			if err := db.QueryRowContext(t.Context(), `SELECT url FROM endpoints WHERE id = ?`, id).Scan(&u); err != nil {
				t.Fatalf("read url column: %v", err)
			}
			return u
		}})
	})
	t.Run("postgres", func(t *testing.T) {
		dbURL := postgresURL(t)
		inner, err := postgres.Open(t.Context(), dbURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { inner.Close() })
		conn, err := pgx.Connect(t.Context(), dbURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(context.Background()) })
		test(t, backend{inner: inner, rawURL: func(t *testing.T, id string) string {
			t.Helper()
			var u string
			if err := conn.QueryRow(t.Context(), `SELECT url FROM endpoints WHERE id = $1`, id).Scan(&u); err != nil {
				t.Fatalf("read url column: %v", err)
			}
			return u
		}})
	})
}

func credsEndpoint(appID string) *hookrelay.Endpoint {
	ep := secretEndpoint(appID)
	ep.URL = credsURL
	return ep
}

// The userinfo of an endpoint URL is sealed in the url column, the rest of
// the URL stays readable, and every read through the store gives the URL
// back whole.
func TestURLCredentialsSealedAtRest(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := sealed.Wrap(b.inner, mustKeys(t, keyA))
		app := newApp(t, s)
		ep := credsEndpoint(app.ID)
		if err := s.CreateEndpoint(t.Context(), ep); err != nil {
			t.Fatal(err)
		}
		if ep.URL != credsURL {
			t.Fatalf("create changed the caller's URL to %q", ep.URL)
		}
		checkRaw := func(when string) {
			t.Helper()
			raw := b.rawURL(t, ep.ID)
			if strings.Contains(raw, plainURLPassword) || strings.Contains(raw, "relay:") {
				t.Fatalf("%s: the url column holds the credentials: %s", when, raw)
			}
			rest, userinfo, ok := hookrelay.SplitURLUserinfo(raw)
			if !ok || rest != credsURLShown || !strings.HasPrefix(userinfo, "sealed:v1:ka:") {
				t.Fatalf("%s: url column %q, want %s with sealed userinfo", when, raw, credsURLShown)
			}
		}
		checkRaw("create")
		if err := s.UpdateEndpoint(t.Context(), ep); err != nil {
			t.Fatal(err)
		}
		checkRaw("update")

		got, err := s.GetEndpoint(t.Context(), app.ID, ep.ID)
		if err != nil || got.URL != credsURL {
			t.Fatalf("get: %+v, %v", got, err)
		}
		list, err := s.ListEndpoints(t.Context(), app.ID, store.Page{Limit: 10})
		if err != nil || len(list) != 1 || list[0].URL != credsURL {
			t.Fatalf("list: %+v, %v", list, err)
		}
		msg := &hookrelay.Message{AppID: app.ID, EventType: "e", Payload: []byte(`{}`), CreatedAt: time.Now().Add(-time.Second)}
		if _, err := s.CreateMessage(t.Context(), store.CreateMessageParams{Message: msg}); err != nil {
			t.Fatal(err)
		}
		dests, err := s.ListMessageDestinations(t.Context(), store.ListDeliveriesParams{AppID: app.ID, MsgID: msg.ID, Page: store.Page{Limit: 10}})
		if err != nil || len(dests) != 1 || dests[0].Endpoint.URL != credsURL {
			t.Fatalf("list message destinations: %+v, %v", dests, err)
		}
		now := time.Now()
		tasks, err := s.ClaimDeliveries(t.Context(), store.ClaimParams{Owner: "n1", Now: now, LeaseUntil: now.Add(time.Minute), Limit: 10})
		if err != nil || len(tasks) != 1 || tasks[0].Endpoint.URL != credsURL {
			t.Fatalf("claim: %+v, %v", tasks, err)
		}

		// A URL given again without credentials drops them.
		ep.URL = credsURLShown
		if err := s.UpdateEndpoint(t.Context(), ep); err != nil {
			t.Fatal(err)
		}
		if raw := b.rawURL(t, ep.ID); raw != credsURLShown {
			t.Fatalf("url column %q after an update without credentials", raw)
		}
	})
}

// A row written before the URL credentials were sealed keeps working and
// is sealed by its next write, or by Reseal.
func TestURLCredentialsPlaintextRowsKeepWorking(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := sealed.Wrap(b.inner, mustKeys(t, keyA))
		app := newApp(t, b.inner)
		// The secrets are sealed already (a database sealed before URL
		// credentials were): only the URL is plaintext.
		written, resealed := credsEndpoint(app.ID), credsEndpoint(app.ID)
		for _, ep := range []*hookrelay.Endpoint{written, resealed} {
			if err := s.CreateEndpoint(t.Context(), ep); err != nil {
				t.Fatal(err)
			}
			raw, err := b.inner.GetEndpoint(t.Context(), app.ID, ep.ID)
			if err != nil {
				t.Fatal(err)
			}
			raw.URL = credsURL
			if err := b.inner.UpdateEndpoint(t.Context(), raw); err != nil {
				t.Fatal(err)
			}
			if got := b.rawURL(t, ep.ID); got != credsURL {
				t.Fatalf("fixture: url column %q", got)
			}
		}
		got, err := s.GetEndpoint(t.Context(), app.ID, written.ID)
		if err != nil || got.URL != credsURL || got.Secret != plainSecret {
			t.Fatalf("plaintext URL credentials: %+v, %v", got, err)
		}
		if err := s.UpdateEndpoint(t.Context(), got); err != nil {
			t.Fatal(err)
		}
		if raw := b.rawURL(t, written.ID); strings.Contains(raw, plainURLPassword) {
			t.Fatalf("not sealed on the next write: %s", raw)
		}

		stats, err := mustKeys(t, keyA).Reseal(t.Context(), b.inner, []string{hookrelay.DefaultEnvironment})
		if err != nil || stats.Resealed != 1 {
			t.Fatalf("reseal: %+v, %v; want the one endpoint with plaintext URL credentials resealed", stats, err)
		}
		if raw := b.rawURL(t, resealed.ID); strings.Contains(raw, plainURLPassword) {
			t.Fatalf("not sealed by reseal: %s", raw)
		}
		for _, ep := range []*hookrelay.Endpoint{written, resealed} {
			if got, err := s.GetEndpoint(t.Context(), app.ID, ep.ID); err != nil || got.URL != credsURL {
				t.Fatalf("read back: %+v, %v", got, err)
			}
		}
	})
}

// Sealed URL credentials are bound to their endpoint: copied into another
// endpoint's URL, or into a header, they do not open.
func TestURLCredentialsBoundToTheirEndpoint(t *testing.T) {
	s := sealed.Wrap(openSQLite(t, dbPath(t)), mustKeys(t, keyA))
	inner := s.Unwrap()
	app := newApp(t, s)
	victim := credsEndpoint(app.ID)
	if err := s.CreateEndpoint(t.Context(), victim); err != nil {
		t.Fatal(err)
	}
	_, sealedInfo, _ := hookrelay.SplitURLUserinfo(rawEndpoint(t, s, app.ID, victim.ID).URL)
	tests := []struct {
		name string
		move func(to *hookrelay.Endpoint)
	}{
		{"into another endpoint's URL", func(to *hookrelay.Endpoint) {
			to.URL = hookrelay.JoinURLUserinfo("https://attacker.example.com/", sealedInfo)
		}},
		{"into a sensitive header of the same endpoint", func(to *hookrelay.Endpoint) {
			to.ID = victim.ID
			to.Headers["authorization"] = sealedInfo
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attacker := newEndpoint(t, s, app.ID)
			to := rawEndpoint(t, s, app.ID, attacker.ID)
			tt.move(to)
			if to.ID == victim.ID {
				raw := rawEndpoint(t, s, app.ID, victim.ID)
				to.URL, to.Revision = raw.URL, raw.Revision
			}
			if err := inner.UpdateEndpoint(t.Context(), to); err != nil {
				t.Fatal(err)
			}
			_, err := s.GetEndpoint(t.Context(), app.ID, to.ID)
			if !errors.Is(err, sealed.ErrCannotOpen) || errors.Is(err, sealed.ErrUnknownKey) {
				t.Fatalf("moved value: %v, want ErrCannotOpen", err)
			}
			victim.Revision = rawEndpoint(t, s, app.ID, victim.ID).Revision
			if err := s.UpdateEndpoint(t.Context(), victim); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A delivery whose endpoint does not open is handed out with a URL that
// carries no credentials, sealed or not; a delivery handed off at publish
// carries the whole URL, the same from the cache of opened endpoints, and
// follows a change of the URL.
func TestURLCredentialsInClaimsAndAttempts(t *testing.T) {
	inner := openSQLite(t, dbPath(t))
	s := sealed.Wrap(inner, mustKeys(t, keyA))
	app := newApp(t, s)
	good := credsEndpoint(app.ID)
	if err := s.CreateEndpoint(t.Context(), good); err != nil {
		t.Fatal(err)
	}
	bad := credsEndpoint(app.ID)
	if err := sealed.Wrap(inner, mustKeys(t, keyB)).CreateEndpoint(t.Context(), bad); err != nil {
		t.Fatal(err)
	}
	// handoff publishes and returns the handed-off tasks by endpoint.
	handoff := func(want int) map[string]store.Task {
		t.Helper()
		msg := &hookrelay.Message{AppID: app.ID, EventType: "e", Payload: []byte(`{}`), CreatedAt: time.Now()}
		res, err := s.CreateMessage(t.Context(), store.CreateMessageParams{Message: msg,
			Lease: &store.LeaseParams{Owner: "n1", Until: time.Now().Add(time.Minute), Max: 10}})
		if err != nil || len(res.Tasks) != want {
			t.Fatalf("publish: %d tasks, %v; want %d", len(res.Tasks), err, want)
		}
		tasks := map[string]store.Task{}
		for _, task := range res.Tasks {
			tasks[task.Endpoint.ID] = task
		}
		return tasks
	}
	for range 2 {
		tasks := handoff(2)
		if g := tasks[good.ID]; g.OpenErr != nil || g.Endpoint.URL != credsURL {
			t.Fatalf("handed-off endpoint %+v", g.Endpoint)
		}
		if b := tasks[bad.ID]; b.OpenErr == nil || b.Endpoint.URL != credsURLShown {
			t.Fatalf("unreadable endpoint's URL %q (err %v), want %q", b.Endpoint.URL, b.OpenErr, credsURLShown)
		}
	}

	if err := inner.DeleteEndpoint(t.Context(), app.ID, bad.ID); err != nil {
		t.Fatal(err)
	}
	const changed = "https://other:pw-changed@example.com/v2"
	good.URL = changed
	good.UpdatedAt = good.UpdatedAt.Add(time.Millisecond)
	if err := s.UpdateEndpoint(t.Context(), good); err != nil {
		t.Fatal(err)
	}
	if tasks := handoff(1); tasks[good.ID].Endpoint.URL != changed {
		t.Fatalf("handed-off URL after the change: %q", tasks[good.ID].Endpoint.URL)
	}
}
