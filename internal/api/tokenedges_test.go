package api

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
)

// rawAuthStatus sends a GET of path with the Authorization header's value
// written byte for byte (no client checks it) and returns the status.
func rawAuthStatus(t *testing.T, h *harness, path, auth string) int {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(h.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := "GET " + path + " HTTP/1.1\r\nHost: hooks.example.test\r\nAuthorization: " + auth + "\r\nConnection: close\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read the answer: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestPortalTokenEdges: a portal token works only as sent, byte for byte:
// with a NUL, an invalid UTF-8 byte, another case, another separator, a
// second token or a very long tail it is refused; and it ends with its
// application, not reaching the application re-created with its uid.
func TestPortalTokenEdges(t *testing.T) {
	f := newFixture(t)
	tok := f.portalToken("app-a")
	const path = "/api/v1/app/app-a/endpoint"
	for _, tt := range []struct {
		name, auth string
		want       int
	}{
		{"as made", "Bearer " + tok, http.StatusOK},
		{"surrounding spaces", " Bearer  " + tok + " ", http.StatusOK},
		{"NUL after", "Bearer " + tok + "\x00", http.StatusBadRequest}, // net/http refuses the header
		{"NUL inside", "Bearer " + tok[:10] + "\x00" + tok[11:], http.StatusBadRequest},
		{"invalid UTF-8 instead of a character", "Bearer " + tok[:len(tok)-1] + "\xff", http.StatusUnauthorized},
		{"invalid UTF-8 before", "Bearer \xff" + tok, http.StatusUnauthorized},
		{"upper case", "Bearer " + strings.ToUpper(tok), http.StatusUnauthorized},
		{"tab separator", "Bearer\t" + tok, http.StatusUnauthorized},
		{"two tokens", "Bearer " + tok + ", " + tok, http.StatusUnauthorized},
		{"long tail", "Bearer " + tok + strings.Repeat("a", 512<<10), http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := rawAuthStatus(t, f.harness, path, tt.auth); got != tt.want {
				t.Errorf("status %d, want %d", got, tt.want)
			}
		})
	}

	f.mustDo(http.StatusNoContent, "DELETE", "/api/v1/app/app-a", testAdminToken, nil, nil)
	f.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"A again","uid":"app-a"}`, nil)
	for _, p := range []string{path, "/api/v1/app/app-a", "/api/v1/auth/whoami"} {
		if status, body := f.do("GET", p, tok, nil); status != http.StatusUnauthorized {
			t.Errorf("GET %s with the token of the deleted application: %d %s", p, status, body)
		}
	}
}
