package api

import (
	"context"
	"net/http"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

func TestEnvironmentsAreIsolated(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if _, err := h.sdk.Application.Create(ctx, &svix.ApplicationIn{Name: "default", Uid: ptr("shared-uid")}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.sdk.EventType.Create(ctx, &svix.EventTypeIn{Name: "a.b", Description: "d"}); err != nil {
		t.Fatal(err)
	}
	_, tok := h.newEnvToken("sandbox")
	other := sdkFor(t, h.srv, tok)

	apps, err := other.Application.List(ctx, nil)
	if err != nil || len(apps.Data) != 0 {
		t.Errorf("other env sees apps: %+v, %v", apps, err)
	}
	ets, err := other.EventType.List(ctx, nil)
	if err != nil || len(ets.Data) != 0 {
		t.Errorf("other env sees event types: %+v, %v", ets, err)
	}
	// Names and uids are per environment.
	if _, err := other.Application.Create(ctx, &svix.ApplicationIn{Name: "sandbox", Uid: ptr("shared-uid")}); err != nil {
		t.Errorf("same uid in another env: %v", err)
	}
	if _, err := other.EventType.Create(ctx, &svix.EventTypeIn{Name: "a.b", Description: "sandbox"}); err != nil {
		t.Errorf("same event type in another env: %v", err)
	}
	got, err := h.sdk.Application.Get(ctx, "shared-uid")
	if err != nil || got.Name != "default" {
		t.Errorf("default env app: %+v, %v", got, err)
	}
}

func TestAuthorizationHeader(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name   string
		header string
		want   int
	}{
		{"bearer", "Bearer " + testAdminToken, http.StatusOK},
		{"lowercase scheme", "bearer " + testAdminToken, http.StatusOK},
		{"no scheme", testAdminToken, http.StatusUnauthorized},
		{"basic scheme", "Basic " + testAdminToken, http.StatusUnauthorized},
		{"empty token", "Bearer ", http.StatusUnauthorized},
		{"token prefix", "Bearer " + testAdminToken[:len(testAdminToken)-1], http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := h.do("GET", "/api/v1/app", "", nil, "Authorization", tt.header)
			if status != tt.want {
				t.Fatalf("status %d, want %d: %s", status, tt.want, body)
			}
			if status != http.StatusOK {
				assertErrorBody(t, status, body, "authentication_failed", nil)
			}
		})
	}
}

func TestEmptyAdminTokenDisablesIt(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AdminToken = "" })
	if status, _ := h.do("GET", "/api/v1/app", "", nil, "Authorization", "Bearer "); status != http.StatusUnauthorized {
		t.Errorf("empty bearer with no admin token: %d", status)
	}
	_, tok := h.newEnvToken("only")
	if status, body := h.do("GET", "/api/v1/app", tok, nil); status != http.StatusOK {
		t.Errorf("stored admin token: %d %s", status, body)
	}
}

func TestPortalTokenLifetime(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	h := newHarness(t, func(c *Config) { c.Now = func() time.Time { return now } })
	ctx := context.Background()
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"A","uid":"a"}`, nil)
	tok := h.portalToken("a")
	sum := hashToken(tok)
	stored, err := h.st.GetTokenByHash(ctx, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	if want := now.Add(7 * 24 * time.Hour); stored.ExpiresAt == nil || !stored.ExpiresAt.Equal(want) {
		t.Errorf("default expiry %v, want %v", stored.ExpiresAt, want)
	}
	if status, _ := h.do("GET", "/api/v1/app/a/endpoint", tok, nil); status != http.StatusOK {
		t.Errorf("fresh portal token: %d", status)
	}
	now = now.Add(7*24*time.Hour + time.Second)
	if status, _ := h.do("GET", "/api/v1/app/a/endpoint", tok, nil); status != http.StatusUnauthorized {
		t.Errorf("portal token past expiry: %d", status)
	}
}

func TestRoutingDetails(t *testing.T) {
	h := newHarness(t)
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app/", testAdminToken, `{"name":"A","uid":"a"}`, nil)
	h.mustDo(http.StatusOK, "GET", "/api/v1/app/a/", testAdminToken, nil, nil)

	req, _ := http.NewRequest("PUT", h.srv.URL+"/api/v1/app", nil)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, POST" {
		t.Errorf("405: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}

	var out messageOut
	h.mustDo(http.StatusAccepted, "POST", "/api/v1/app/a/msg?with_content=false", testAdminToken, `{"eventType":"a","payload":{"secret":1}}`, &out)
	if string(out.Payload) != "{}" {
		t.Errorf("payload with with_content=false: %s", out.Payload)
	}
	h.mustDo(http.StatusOK, "GET", "/api/v1/app/a/msg/"+out.ID, testAdminToken, nil, &out)
	if string(out.Payload) != `{"secret":1}` {
		t.Errorf("payload read back: %s", out.Payload)
	}
}

// portalTokenWith asks the API for a portal token of app with body.
func (h *harness) portalTokenWith(app, body string) string {
	h.t.Helper()
	var out appPortalAccessOut
	h.mustDo(http.StatusOK, "POST", "/api/v1/auth/app-portal-access/"+app, testAdminToken, body, &out)
	return out.Token
}

// TestReadOnlyPortalTokenCannotWrite: a token made with readOnly reads its
// application but may not change it; a token made without it may.
func TestReadOnlyPortalTokenCannotWrite(t *testing.T) {
	f := newFixture(t)
	ep := "/api/v1/app/app-a/endpoint/" + f.epA
	ro := f.portalTokenWith("app-a", `{"readOnly":true}`)

	f.mustDo(http.StatusOK, "GET", ep, ro, nil, nil)
	status, out := f.do("DELETE", ep, ro, nil)
	if status != http.StatusForbidden {
		t.Fatalf("read-only token deleting an endpoint: %d %s", status, out)
	}
	assertErrorBody(t, status, out, "forbidden", nil)
	f.mustDo(http.StatusOK, "GET", ep, testAdminToken, nil, nil)

	// readOnly false and null make ordinary portal tokens.
	for _, body := range []string{`{"readOnly":false}`, `{"readOnly":null}`} {
		rw := f.portalTokenWith("app-a", body)
		f.mustDo(http.StatusOK, "PATCH", ep, rw, `{"description":"changed"}`, nil)
	}
	rw := f.portalTokenWith("app-a", `{}`)
	f.mustDo(http.StatusNoContent, "DELETE", ep, rw, nil, nil)
}

// TestReadOnlyPortalTokenLogsOut: logging out only revokes the token
// itself, so a read-only token may do it.
func TestReadOnlyPortalTokenLogsOut(t *testing.T) {
	f := newFixture(t)
	ro := f.portalTokenWith("app-a", `{"readOnly":true}`)
	f.mustDo(http.StatusNoContent, "POST", "/api/v1/auth/logout", ro, nil, nil)
	status, out := f.do("GET", "/api/v1/app/app-a", ro, nil)
	if status != http.StatusUnauthorized {
		t.Fatalf("read-only token after logout: %d %s", status, out)
	}
	assertErrorBody(t, status, out, "authentication_failed", nil)
}

// TestPortalAccessFields: every field of AppPortalAccessIn works or is
// refused naming it.
func TestPortalAccessFields(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	h := newHarness(t, func(c *Config) { c.Now = func() time.Time { return now } })
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"A","uid":"a"}`, nil)
	ctx := context.Background()

	t.Run("expiry", func(t *testing.T) {
		for _, tt := range []struct {
			body string
			want time.Duration
		}{
			{`{"expiry":3600}`, time.Hour},
			{`{"expiry":604800}`, 7 * 24 * time.Hour},
			{`{"expiry":60}`, time.Minute},
			{`{"expiry":null}`, 7 * 24 * time.Hour},
		} {
			tok := h.portalTokenWith("a", tt.body)
			sum := hashToken(tok)
			stored, err := h.st.GetTokenByHash(ctx, sum[:])
			if err != nil {
				t.Fatal(err)
			}
			if want := now.Add(tt.want); stored.ExpiresAt == nil || !stored.ExpiresAt.Equal(want) {
				t.Errorf("%s: expires %v, want %v", tt.body, stored.ExpiresAt, want)
			}
		}
	})

	t.Run("readOnly is stored as its capabilities", func(t *testing.T) {
		for body, want := range map[string]hookrelay.PortalCapabilities{
			`{"readOnly":true}`:  hookrelay.ReadOnlyPortalCapabilities,
			`{"readOnly":false}`: hookrelay.AllPortalCapabilities,
			`{}`:                 hookrelay.AllPortalCapabilities,
		} {
			tok := h.portalTokenWith("a", body)
			sum := hashToken(tok)
			stored, err := h.st.GetTokenByHash(ctx, sum[:])
			if err != nil {
				t.Fatal(err)
			}
			if stored.Capabilities != want {
				t.Errorf("%s: stored capabilities %v, want %v", body, stored.Capabilities, want)
			}
		}
	})

	t.Run("refused", func(t *testing.T) {
		before, err := h.st.CountTokens(ctx, hookrelay.DefaultEnvironment, store.TokenPortal)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name, body string
			loc        []string
		}{
			{"a feature flag", `{"featureFlags":["cool-new-feature"]}`, []string{"body", "featureFlags"}},
			{"null feature flags", `{"featureFlags":null}`, []string{"body", "featureFlags"}},
			{"readOnly of another type", `{"readOnly":"yes"}`, []string{"body", "readOnly"}},
			{"expiry below a minute", `{"expiry":59}`, []string{"body", "expiry"}},
			{"expiry above 7 days", `{"expiry":604801}`, []string{"body", "expiry"}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				status, out := h.do("POST", "/api/v1/auth/app-portal-access/a", testAdminToken, tt.body)
				if status != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422: %s", status, out)
				}
				assertErrorBody(t, status, out, "", tt.loc)
			})
		}
		after, err := h.st.CountTokens(ctx, hookrelay.DefaultEnvironment, store.TokenPortal)
		if err != nil {
			t.Fatal(err)
		}
		if after != before {
			t.Errorf("%d portal tokens after the refusals, want %d", after, before)
		}
	})

	t.Run("an empty list of feature flags is accepted", func(t *testing.T) {
		h.portalTokenWith("a", `{"featureFlags":[]}`)
	})
}

// TestIdempotencyKeysAreThePortalTokens: a portal token's idempotency
// keys are its own, not shared with the other tokens of its application:
// a second token's logout with a key the first used logs the second out
// (it is not answered with the first's response, leaving the token
// working), and its create with that key creates; a retry with the same
// token is replayed as before.
func TestIdempotencyKeysAreThePortalTokens(t *testing.T) {
	f := newFixture(t)
	first, second := f.portalToken("app-a"), f.portalToken("app-a")

	const ep = "/api/v1/app/app-a/endpoint"
	var a, b, again struct{ ID string }
	f.mustDo(http.StatusCreated, "POST", ep, first, `{"url":"https://example.com/first"}`, &a, "idempotency-key", "create-1")
	f.mustDo(http.StatusCreated, "POST", ep, first, `{"url":"https://example.com/first"}`, &again, "idempotency-key", "create-1")
	if again.ID != a.ID {
		t.Errorf("the same token's retry made endpoint %s, want the replay of %s", again.ID, a.ID)
	}
	f.mustDo(http.StatusCreated, "POST", ep, second, `{"url":"https://example.com/second"}`, &b, "idempotency-key", "create-1")
	if b.ID == a.ID {
		t.Errorf("another token's create was answered with the first token's endpoint %s", a.ID)
	}

	f.mustDo(http.StatusNoContent, "POST", "/api/v1/auth/logout", first, nil, nil, "idempotency-key", "logout-1")
	f.mustDo(http.StatusNoContent, "POST", "/api/v1/auth/logout", second, nil, nil, "idempotency-key", "logout-1")
	for name, tok := range map[string]string{"first": first, "second": second} {
		if status, body := f.do("GET", "/api/v1/app/app-a", tok, nil); status != http.StatusUnauthorized {
			t.Errorf("the %s token after its logout: %d %s", name, status, body)
		}
	}
}
