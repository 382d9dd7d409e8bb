package api

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
)

// TestURLPolicyAppliesToEndpointURLs checks that the server's URL policy
// (https-only in production) refuses endpoint URLs on create, update and
// patch with a 422 on "url", and changes nothing.
func TestURLPolicyAppliesToEndpointURLs(t *testing.T) {
	httpsOnly := func(u *url.URL) error {
		if u.Scheme != "https" {
			return errors.New("https required")
		}
		return nil
	}
	h := newHarness(t, func(c *Config) { c.URLPolicy = httpsOnly })
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, map[string]any{"name": "a", "uid": "a"}, nil)
	var ep struct{ ID string }
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app/a/endpoint", testAdminToken, map[string]any{"url": "https://example.com/hook"}, &ep)

	tests := []struct {
		name, method, path string
		body               map[string]any
	}{
		{"create", "POST", "/api/v1/app/a/endpoint", map[string]any{"url": "http://example.com/hook"}},
		{"update", "PUT", "/api/v1/app/a/endpoint/" + ep.ID, map[string]any{"url": "http://example.com/hook"}},
		{"patch", "PATCH", "/api/v1/app/a/endpoint/" + ep.ID, map[string]any{"url": "http://example.com/hook"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := h.do(tt.method, tt.path, testAdminToken, tt.body)
			assertErrorBody(t, status, body, "", []string{"body", "url"})
			if status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422: %s", status, body)
			}
		})
	}
	var got struct{ URL string }
	h.mustDo(http.StatusOK, "GET", "/api/v1/app/a/endpoint/"+ep.ID, testAdminToken, nil, &got)
	if got.URL != "https://example.com/hook" {
		t.Fatalf("endpoint URL changed to %q", got.URL)
	}
	var list struct{ Data []any }
	h.mustDo(http.StatusOK, "GET", "/api/v1/app/a/endpoint", testAdminToken, nil, &list)
	if len(list.Data) != 1 {
		t.Fatalf("%d endpoints, want 1", len(list.Data))
	}
}
