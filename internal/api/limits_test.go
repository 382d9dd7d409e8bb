package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rawConn is a client connection that writes requests byte by byte as the
// test chooses: half a body, a stall, a dropped upload.
type rawConn struct {
	t  *testing.T
	c  *net.TCPConn
	br *bufio.Reader
}

func dialRaw(t *testing.T, h *harness) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", h.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &rawConn{t: t, c: c.(*net.TCPConn), br: bufio.NewReader(c)}
}

// head writes a request's line and headers; headers are name, value pairs.
func (rc *rawConn) head(method, path string, contentLength int, headers ...string) {
	rc.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", method, path, contentLength)
	for i := 0; i+1 < len(headers); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", headers[i], headers[i+1])
	}
	b.WriteString("\r\n")
	rc.write(b.String())
}

func (rc *rawConn) write(s string) {
	rc.t.Helper()
	if _, err := rc.c.Write([]byte(s)); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

// response reads one response within 10 s.
func (rc *rawConn) response() (*http.Response, []byte) {
	rc.t.Helper()
	_ = rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		rc.t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		rc.t.Fatalf("read response body: %v", err)
	}
	return resp, b
}

// closedWithin reports whether the server closes the connection within d
// (the read sees EOF or a reset rather than the deadline).
func (rc *rawConn) closedWithin(d time.Duration) bool {
	_ = rc.c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, rc.br)
	return !errors.Is(err, os.ErrDeadlineExceeded)
}

// waitBudget waits until the API holds want bytes of request bodies and
// has waiting requests waiting for room.
func (h *harness) waitBudget(total, want int64, waiting int) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		free, w := h.api.bodies.state()
		if total-free == want && w == waiting {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("bodies in flight: %d bytes, %d waiting; want %d bytes, %d waiting", total-free, w, want, waiting)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestIdempotencyKeyNeedsAWholeBody: a request whose body never arrives
// whole leaves no trace under its key, whether its upload was dropped or is
// still stalled; the retry with a valid body runs.
func TestIdempotencyKeyNeedsAWholeBody(t *testing.T) {
	h := newHarness(t)
	body := `{"name":"retried app"}`

	t.Run("dropped upload", func(t *testing.T) {
		rc := dialRaw(t, h)
		rc.head("POST", "/api/v1/app", len(body), "Authorization", "Bearer "+testAdminToken, "idempotency-key", "dropped")
		rc.write(body[:len(body)/2])
		_ = rc.c.CloseWrite() // the client gives up mid-upload
		if resp, b := rc.response(); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("dropped upload: %d %s, want 400", resp.StatusCode, b)
		}
		status, b := h.do("POST", "/api/v1/app", testAdminToken, body, "idempotency-key", "dropped")
		if status != http.StatusCreated || !strings.Contains(string(b), "retried app") {
			t.Fatalf("retry after the dropped upload: %d %s, want 201", status, b)
		}
	})

	t.Run("stalled upload", func(t *testing.T) {
		rc := dialRaw(t, h)
		rc.head("POST", "/api/v1/app", len(body), "Authorization", "Bearer "+testAdminToken, "idempotency-key", "stalled")
		rc.write(body[:len(body)/2])
		h.waitBudget(DefaultMaxBodyBytesInFlight, int64(len(body)), 0) // the first is reading its body
		status, first := h.do("POST", "/api/v1/app", testAdminToken, body, "idempotency-key", "stalled")
		if status != http.StatusCreated {
			t.Fatalf("retry while the first body is still arriving: %d %s, want 201", status, first)
		}
		// The first then completes and gets the stored response, not a
		// second application.
		rc.write(body[len(body)/2:])
		resp, b := rc.response()
		if resp.StatusCode != http.StatusCreated || !bytes.Equal(b, first) {
			t.Errorf("first request completed: %d %s, want the replay %s", resp.StatusCode, b, first)
		}
	})

	var apps listResponse[applicationOut]
	h.mustDo(http.StatusOK, "GET", "/api/v1/app", testAdminToken, nil, &apps)
	if len(apps.Data) != 2 {
		t.Errorf("applications: %d, want 2 (one per key)", len(apps.Data))
	}
}

// TestIdempotencyKeyMustBePrintableASCII: a key with bytes a database may
// not keep as sent is 422 on the header, and nothing is created.
func TestIdempotencyKeyMustBePrintableASCII(t *testing.T) {
	h := newHarness(t)
	for _, tt := range []struct {
		name, key string
		// netHTTP: net/http itself refuses the header (400) before the
		// API sees it.
		netHTTP bool
	}{
		{"byte 0xff", "key\xff", false},
		{"utf-8", "clé", false},
		{"tab", "a\tb", false},
		{"NUL", "a\x00b", true},
		{"DEL", "a\x7fb", true},
		{"escape", "a\x1bb", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rc := dialRaw(t, h)
			body := `{"name":"x"}`
			rc.head("POST", "/api/v1/app", len(body), "Authorization", "Bearer "+testAdminToken, "idempotency-key", tt.key)
			if _, err := rc.c.Write([]byte(body)); err != nil && !tt.netHTTP {
				t.Fatalf("write: %v", err)
			}
			_ = rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(rc.br, nil)
			if tt.netHTTP && (errors.Is(err, syscall.ECONNRESET) || err == nil && resp.StatusCode == http.StatusBadRequest) {
				// net/http answers 400 and closes the connection once it
				// has read the headers; with the body unread the close
				// can be a reset, which may overtake the 400. Either way
				// the API never saw the request (the count below tells).
				return
			}
			if err != nil {
				t.Fatalf("read response: %v", err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("read response body: %v", err)
			}
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("%d %s, want 422", resp.StatusCode, b)
			}
			assertErrorBody(t, resp.StatusCode, b, "", []string{"header", "idempotency-key"})
		})
	}
	var apps listResponse[applicationOut]
	h.mustDo(http.StatusOK, "GET", "/api/v1/app", testAdminToken, nil, &apps)
	if len(apps.Data) != 0 {
		t.Errorf("applications created: %d", len(apps.Data))
	}
	// Printable ASCII, space included, works.
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"ok"}`, nil, "idempotency-key", "order 42/~!")
}

// TestEarlyRefusalClosesTheConnection: a request refused before its body
// is read gets its answer at once, and the connection is closed without
// waiting for the body, which here never comes.
func TestEarlyRefusalClosesTheConnection(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxBodyBytes = 100_000 })
	var app applicationOut
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"a"}`, &app)
	portal := h.portalToken(app.ID)
	for _, tt := range []struct {
		name, method, path, token string
		status                    int
	}{
		{"no token", "POST", "/api/v1/app/" + app.ID + "/msg", "", http.StatusUnauthorized},
		{"wrong token", "POST", "/api/v1/app/" + app.ID + "/msg", "nope", http.StatusUnauthorized},
		{"portal token on an admin route", "POST", "/api/v1/app/" + app.ID + "/msg", portal, http.StatusForbidden},
		{"declared body over the limit", "POST", "/api/v1/app/" + app.ID + "/msg", testAdminToken, http.StatusRequestEntityTooLarge},
		{"unknown route", "POST", "/api/v1/nowhere", testAdminToken, http.StatusNotFound},
		{"method not allowed", "PUT", "/api/v1/app/" + app.ID + "/msg", testAdminToken, http.StatusMethodNotAllowed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rc := dialRaw(t, h)
			var headers []string
			if tt.token != "" {
				headers = []string{"Authorization", "Bearer " + tt.token}
			}
			// 200,000 bytes announced (under net/http's 256 KiB drain
			// allowance), a few sent.
			rc.head(tt.method, tt.path, 200_000, headers...)
			rc.write(`{"eventType":`)
			resp, b := rc.response()
			if resp.StatusCode != tt.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, b, tt.status)
			}
			if !resp.Close {
				t.Errorf("response without Connection: close")
			}
			if !rc.closedWithin(5 * time.Second) {
				t.Errorf("connection still open 5 s after the response")
			}
		})
	}
}

// TestBodyBudget: with room for one body in flight, a second request
// whose body does not fit waits, then gets 503 with Retry-After and stores
// nothing; one that is still waiting when room frees runs.
func TestBodyBudget(t *testing.T) {
	const total = 4096
	publish := func(n int) string {
		pad := n - len(`{"eventType":"a.b","payload":{"pad":""}}`)
		return `{"eventType":"a.b","payload":{"pad":"` + strings.Repeat("x", pad) + `"}}`
	}
	msgCount := func(h *harness, appID string) int {
		var msgs listResponse[messageOut]
		h.mustDo(http.StatusOK, "GET", "/api/v1/app/"+appID+"/msg", testAdminToken, nil, &msgs)
		return len(msgs.Data)
	}
	setup := func(t *testing.T, wait time.Duration) (*harness, string, *rawConn, string) {
		h := newHarness(t, func(c *Config) {
			c.MaxBodyBytes = 3000
			c.MaxBodyBytesInFlight = total
			c.AdmissionWait = wait
		})
		var app applicationOut
		h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"a"}`, &app)
		// The first publish holds 3,000 bytes of the 4,096 while its body
		// is arriving.
		first := publish(3000)
		rc := dialRaw(t, h)
		rc.head("POST", "/api/v1/app/"+app.ID+"/msg", len(first), "Authorization", "Bearer "+testAdminToken)
		rc.write(first[:100])
		h.waitBudget(total, 3000, 0)
		return h, app.ID, rc, first
	}

	t.Run("refused when no room frees", func(t *testing.T) {
		h, appID, rc, first := setup(t, 50*time.Millisecond)
		for _, key := range []string{"", "busy-key"} {
			req, err := http.NewRequest("POST", h.srv.URL+"/api/v1/app/"+appID+"/msg", strings.NewReader(publish(2000)))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+testAdminToken)
			if key != "" {
				req.Header.Set("idempotency-key", key)
			}
			resp, err := h.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("second publish: %d %s, want 503", resp.StatusCode, b)
			}
			assertErrorBody(t, resp.StatusCode, b, "service_unavailable", nil)
			if resp.Header.Get("Retry-After") == "" {
				t.Errorf("503 without Retry-After")
			}
		}
		if n := msgCount(h, appID); n != 0 {
			t.Errorf("messages stored while the first is still arriving: %d, want 0", n)
		}
		// The first completes; its bytes come back, and the refused key was
		// never taken.
		rc.write(first[100:])
		if resp, b := rc.response(); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("first publish: %d %s", resp.StatusCode, b)
		}
		h.waitBudget(total, 0, 0)
		h.mustDo(http.StatusAccepted, "POST", "/api/v1/app/"+appID+"/msg", testAdminToken, publish(2000), nil, "idempotency-key", "busy-key")
		if n := msgCount(h, appID); n != 2 {
			t.Errorf("messages: %d, want 2", n)
		}
	})

	t.Run("admitted when room frees", func(t *testing.T) {
		h, appID, rc, first := setup(t, time.Minute)
		done := make(chan int, 1)
		go func() {
			req, _ := http.NewRequest("POST", h.srv.URL+"/api/v1/app/"+appID+"/msg", strings.NewReader(publish(2000)))
			req.Header.Set("Authorization", "Bearer "+testAdminToken)
			resp, err := h.srv.Client().Do(req)
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
		h.waitBudget(total, 3000, 1)
		rc.write(first[100:])
		if resp, b := rc.response(); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("first publish: %d %s", resp.StatusCode, b)
		}
		if status := <-done; status != http.StatusAccepted {
			t.Fatalf("waiting publish: %d, want 202", status)
		}
		if n := msgCount(h, appID); n != 2 {
			t.Errorf("messages: %d, want 2", n)
		}
	})

	t.Run("chunked body", func(t *testing.T) {
		h, appID, rc, _ := setup(t, 50*time.Millisecond)
		// A body of unknown length may be as large as the limit: it needs
		// 3,000 bytes of room, which the stalled publish holds.
		post := func() (int, []byte) {
			req, _ := http.NewRequest("POST", h.srv.URL+"/api/v1/app/"+appID+"/msg", io.MultiReader(strings.NewReader(publish(200))))
			req.Header.Set("Authorization", "Bearer "+testAdminToken)
			resp, err := h.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, b
		}
		if status, b := post(); status != http.StatusServiceUnavailable {
			t.Fatalf("chunked publish beside the stalled one: %d %s, want 503", status, b)
		}
		_ = rc.c.Close()
		h.waitBudget(total, 0, 0)
		status, b := post()
		if status != http.StatusAccepted {
			t.Fatalf("chunked publish: %d %s", status, b)
		}
		var out messageOut
		if err := json.Unmarshal(b, &out); err != nil || msgCount(h, appID) != 1 {
			t.Errorf("chunked publish stored %d messages (%s)", msgCount(h, appID), b)
		}
		// Its bytes come back with the response.
		h.waitBudget(total, 0, 0)
	})
}

// TestBodyBudgetBursts: giving back the last bytes ends a burst when at
// least a quarter of the budget was held at once, and only then.
func TestBodyBudgetBursts(t *testing.T) {
	b := newBodyBudget(1000)
	ctx := t.Context()
	for _, tt := range []struct {
		name  string
		sizes []int64
		want  bool
	}{
		{"small requests", []int64{100, 100}, false},
		{"a quarter at once", []int64{150, 100}, true},
		{"one large request", []int64{900}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, n := range tt.sizes {
				if !b.acquire(ctx, n, time.Millisecond) {
					t.Fatalf("acquire %d refused", n)
				}
			}
			var ended bool
			for i, n := range tt.sizes {
				e := b.release(n)
				if i < len(tt.sizes)-1 && e {
					t.Errorf("burst ended with bytes still held")
				}
				ended = e
			}
			if ended != tt.want {
				t.Errorf("burst ended %v, want %v", ended, tt.want)
			}
		})
	}
	if b.acquire(ctx, 1001, time.Millisecond) {
		t.Error("acquired more than the budget")
	}
}

// TestBodyBudgetFollowsTheBytesSent: a request holds room for what it has
// sent, not for what it announces, so connections that announce large
// bodies and send nothing cannot take the budget from others; a chunked
// body over the limit is 413.
func TestBodyBudgetFollowsTheBytesSent(t *testing.T) {
	const total = 128 << 10
	h := newHarness(t, func(c *Config) {
		c.MaxBodyBytes = 90_000
		c.MaxBodyBytesInFlight = total
		c.AdmissionWait = 50 * time.Millisecond
	})
	var app applicationOut
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"a"}`, &app)
	path := "/api/v1/app/" + app.ID + "/msg"
	publish := func(n int) string {
		pad := n - len(`{"eventType":"a.b","payload":{"pad":""}}`)
		return `{"eventType":"a.b","payload":{"pad":"` + strings.Repeat("x", pad) + `"}}`
	}

	// Two announce 60 KiB each and send a few bytes: each holds the first
	// 16 KiB step only.
	for range 2 {
		rc := dialRaw(t, h)
		rc.head("POST", path, 60<<10, "Authorization", "Bearer "+testAdminToken)
		rc.write(`{"eventType":`)
	}
	h.waitBudget(total, 2*firstBodyChunk, 0)
	// A 90,000-byte publish (16, 16, 32 then 26 KiB more, 90 KiB in all)
	// still fits beside them.
	h.mustDo(http.StatusAccepted, "POST", path, testAdminToken, publish(90_000), nil)
	h.waitBudget(total, 2*firstBodyChunk, 0)

	// Chunked bodies, at the limit and one byte over it, beside the two.
	for _, tt := range []struct {
		size   int
		status int
	}{{90_000, http.StatusAccepted}, {90_001, http.StatusRequestEntityTooLarge}} {
		req, err := http.NewRequest("POST", h.srv.URL+path, io.MultiReader(strings.NewReader(publish(tt.size))))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		resp, err := h.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || req.ContentLength != 0 {
			t.Fatalf("chunked body of %d bytes: %d %.200s, want %d", tt.size, resp.StatusCode, b, tt.status)
		}
	}
	var msgs listResponse[messageOut]
	h.mustDo(http.StatusOK, "GET", "/api/v1/app/"+app.ID+"/msg", testAdminToken, nil, &msgs)
	if len(msgs.Data) != 2 {
		t.Errorf("messages: %d, want 2", len(msgs.Data))
	}
}
