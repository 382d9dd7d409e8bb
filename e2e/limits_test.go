package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestIdempotencyKeyBytesOnEveryDatabase: an idempotency key with a byte
// that is not printable ASCII is refused with 422 on the header before any
// database sees it (PostgreSQL answered 500 to byte 0xFF), and a good key
// still replays.
func TestIdempotencyKeyBytesOnEveryDatabase(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db string) {
		srv := startServer(t, serverOptions{DB: db})
		post := func(key string) (int, string) {
			req, err := http.NewRequest("POST", srv.URL+"/api/v1/app", strings.NewReader(`{"name":"keyed"}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+srv.Token)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("idempotency-key", key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b strings.Builder
			_, _ = io.Copy(&b, resp.Body)
			return resp.StatusCode, b.String()
		}
		for _, key := range []string{"key\xff", "clé", "a\tb"} {
			if status, body := post(key); status != http.StatusUnprocessableEntity || !strings.Contains(body, `"idempotency-key"`) {
				t.Errorf("key %q: %d %s, want 422 at the header", key, status, body)
			}
		}
		status1, body1 := post("good key")
		status2, body2 := post("good key")
		if status1 != http.StatusCreated || status2 != status1 || body2 != body1 {
			t.Errorf("good key: %d %s then %d %s", status1, body1, status2, body2)
		}
		code, body := srv.do("GET", "/api/v1/app", srv.Token, nil)
		if code != http.StatusOK || strings.Count(string(body), `"keyed"`) != 1 {
			t.Errorf("applications: %d %s, want exactly one", code, body)
		}
	})
}
