package api

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

func TestIdempotencyReplay(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()

	status1, body1 := h.do("POST", "/api/v1/app", testAdminToken, `{"name":"first"}`, "idempotency-key", "k1")
	if status1 != http.StatusCreated {
		t.Fatalf("first: %d %s", status1, body1)
	}
	// A replay returns the stored response byte for byte, whatever the body.
	status2, body2 := h.do("POST", "/api/v1/app", testAdminToken, `{"name":"second"}`, "idempotency-key", "k1")
	if status2 != status1 || string(body2) != string(body1) {
		t.Errorf("replay: %d %s, want %d %s", status2, body2, status1, body1)
	}
	apps, err := h.sdk.Application.List(ctx, nil)
	if err != nil || len(apps.Data) != 1 {
		t.Fatalf("apps after replay: %+v, %v", apps, err)
	}

	// The SDK's idempotency option goes through the same path.
	a1, err := h.sdk.Application.CreateWithOptions(ctx, &svix.ApplicationIn{Name: "sdk"}, &svix.PostOptions{IdempotencyKey: ptr("k2")})
	if err != nil {
		t.Fatal(err)
	}
	a2, err := h.sdk.Application.CreateWithOptions(ctx, &svix.ApplicationIn{Name: "sdk"}, &svix.PostOptions{IdempotencyKey: ptr("k2")})
	if err != nil || a2.Id != a1.Id {
		t.Errorf("sdk replay: %+v, %v; want id %s", a2, err, a1.Id)
	}

	// The same key on another path, or from another environment, is
	// another request.
	h.mustDo(http.StatusCreated, "POST", "/api/v1/event-type", testAdminToken, `{"name":"a.b","description":"d"}`, nil, "idempotency-key", "k1")
	_, other := h.newEnvToken("other")
	status3, body3 := h.do("POST", "/api/v1/app", other, `{"name":"other env"}`, "idempotency-key", "k1")
	if status3 != http.StatusCreated || string(body3) == string(body1) {
		t.Errorf("other environment: %d %s", status3, body3)
	}

	// Publishing: one message, one wake, whatever the retries.
	var first messageOut
	for i := 0; i < 3; i++ {
		var out messageOut
		h.mustDo(http.StatusAccepted, "POST", "/api/v1/app/"+a1.Id+"/msg", testAdminToken, `{"eventType":"a.b","payload":{"n":1}}`, &out, "idempotency-key", "pub-1")
		if i == 0 {
			first = out
		} else if out.ID != first.ID {
			t.Errorf("retry %d published %s, want %s", i, out.ID, first.ID)
		}
	}
	msgs, _ := h.sdk.Message.List(ctx, a1.Id, nil)
	if len(msgs.Data) != 1 {
		t.Errorf("messages after retries: %d, want 1", len(msgs.Data))
	}

	// A 4xx outcome is kept too: the key stays bound to it.
	h.mustDo(http.StatusUnprocessableEntity, "POST", "/api/v1/app", testAdminToken, `{}`, nil, "idempotency-key", "bad")
	h.mustDo(http.StatusUnprocessableEntity, "POST", "/api/v1/app", testAdminToken, `{"name":"ok"}`, nil, "idempotency-key", "bad")

	// A 204 replays without a body.
	h.mustDo(http.StatusNoContent, "POST", "/api/v1/auth/logout", testAdminToken, nil, nil, "idempotency-key", "lo")
	if status, body := h.do("POST", "/api/v1/auth/logout", testAdminToken, nil, "idempotency-key", "lo"); status != http.StatusNoContent || len(body) != 0 {
		t.Errorf("204 replay: %d %q", status, body)
	}

	if status, body := h.do("POST", "/api/v1/app", testAdminToken, `{"name":"x"}`, "idempotency-key", strings.Repeat("k", 300)); status != http.StatusUnprocessableEntity {
		t.Errorf("overlong key: %d %s", status, body)
	}
}

// TestIdempotencyLongPath sends POSTs with an idempotency key to paths
// longer than any ID, uid or name, on both databases: each is 404 as
// without a key (not a 500 from PostgreSQL, whose index entries are
// bounded), and its retry replays that answer. Random text defeats the
// compression PostgreSQL applies to long index entries.
func TestIdempotencyLongPath(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) store.Store) {
		h := newHarnessOn(t, open(t))
		h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"A","uid":"a"}`, nil)
		long := randomText(8000)
		for _, path := range []string{
			"/api/v1/app/" + long + "/msg",
			"/api/v1/app/a/endpoint/" + long + "/recover",
			"/api/v1/auth/app-portal-access/" + long,
		} {
			for i := range 2 {
				status, body := h.do("POST", path, testAdminToken, `{"eventType":"a","payload":{},"since":"2024-01-01T00:00:00Z"}`, "idempotency-key", "k")
				if status != http.StatusNotFound {
					t.Errorf("POST %.50s... try %d: %d %s, want 404", path, i, status, body)
				}
			}
		}
	})
}

// randomText is n random letters and digits.
func randomText(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

func TestIdempotencyInProgressAndAbandon(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	p := &principal{envID: hookrelay.DefaultEnvironment, kind: store.TokenAdmin}

	// A request still running under the key: 409, nothing created.
	scope := p.scope() + "|POST|/api/v1/app"
	if _, started, err := h.st.StartIdempotent(ctx, &store.IdempotencyRecord{Scope: scope, Key: "busy", ExpiresAt: time.Now().Add(time.Hour)}); err != nil || !started {
		t.Fatalf("start: %v %v", started, err)
	}
	status, body := h.do("POST", "/api/v1/app", testAdminToken, `{"name":"x"}`, "idempotency-key", "busy")
	if status != http.StatusConflict {
		t.Fatalf("in progress: %d %s", status, body)
	}
	assertErrorBody(t, status, body, "conflict", nil)
	if apps, _ := h.sdk.Application.List(ctx, nil); len(apps.Data) != 0 {
		t.Errorf("apps created: %d", len(apps.Data))
	}

	// A handler failing with 5xx abandons the key.
	s := New(Config{Store: h.st}).(*server)
	req := httptest.NewRequest("POST", "/api/v1/app/x/msg", nil)
	req.Header.Set("idempotency-key", "fails")
	rec := httptest.NewRecorder()
	s.idempotent(rec, req, p, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{http.StatusInternalServerError, "internal_error", "boom"})
	})
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("failing handler: %d", rec.Code)
	}
	prev, started, err := h.st.StartIdempotent(ctx, &store.IdempotencyRecord{Scope: p.scope() + "|POST|/api/v1/app/x/msg", Key: "fails", ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil || !started {
		t.Errorf("key after a 5xx: started %v, prev %+v, err %v; want it free", started, prev, err)
	}

	// So does a panicking one.
	req = httptest.NewRequest("POST", "/api/v1/app/y/msg", nil)
	req.Header.Set("idempotency-key", "panics")
	func() {
		defer func() { _ = recover() }()
		s.idempotent(httptest.NewRecorder(), req, p, func(http.ResponseWriter, *http.Request) { panic("boom") })
	}()
	if _, started, err := h.st.StartIdempotent(ctx, &store.IdempotencyRecord{Scope: p.scope() + "|POST|/api/v1/app/y/msg", Key: "panics", ExpiresAt: time.Now().Add(time.Hour)}); err != nil || !started {
		t.Errorf("key after a panic: started %v, err %v; want it free", started, err)
	}
}
