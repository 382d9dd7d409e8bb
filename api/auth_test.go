package api

import (
	"context"
	"net/http"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
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
