package delivery_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/delivery"
	"github.com/hookrelay/hookrelay/internal/store"
)

// startRaw runs a TCP server on 127.0.0.1 that reads one HTTP request from
// each connection, hands the connection to answer, and closes it when
// answer returns. done is closed when the test ends.
func startRaw(t *testing.T, answer func(c net.Conn, done <-chan struct{})) string {
	t.Helper()
	ln := listen(t, "127.0.0.1:0")
	done := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() {
		close(done)
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, req.Body)
				answer(c, done)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// trickle writes s one byte every interval until it is written, a write
// fails or done is closed.
func trickle(c net.Conn, s string, interval time.Duration, done <-chan struct{}) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := range len(s) {
		if _, err := c.Write([]byte{s[i]}); err != nil {
			return
		}
		select {
		case <-tick.C:
		case <-done:
			return
		}
	}
}

// hugeBody answers 500 with a body of hugeBodySize bytes, streamed, and
// records how much of it each connection accepted before it was closed.
type hugeBody struct {
	mu    sync.Mutex
	wrote []int64
}

const hugeBodySize = 50 << 20

func (h *hugeBody) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Length", fmt.Sprint(hugeBodySize))
	w.WriteHeader(http.StatusInternalServerError)
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	var n int64
	for n < hugeBodySize {
		m, err := w.Write(chunk)
		n += int64(m)
		if err != nil {
			break
		}
	}
	h.mu.Lock()
	h.wrote = append(h.wrote, n)
	h.mu.Unlock()
}

func (h *hugeBody) written() []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]int64(nil), h.wrote...)
}

// transports are the two ways deliveries are sent: hookrelay's own HTTP/1.1
// client (no proxy) and net/http's transport (through a proxy; here without
// one, to face the same receivers).
var transports = []struct {
	name string
	set  func(delivery.Config) delivery.Config
}{
	{"h1", func(c delivery.Config) delivery.Config { return c }},
	{"net/http", delivery.ViaNetHTTP},
}

// TestHostileReceivers checks, over both transports, that a receiver
// answering in a hostile way ends in a failed attempt with its reason,
// holds no more than its endpoint's share of the workers, and does not
// delay a healthy endpoint.
func TestHostileReceivers(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) { testHostileReceivers(t, tr.set) })
	}
}

func testHostileReceivers(t *testing.T, transport func(delivery.Config) delivery.Config) {
	const (
		hostileMsgs = 4
		healthyMsgs = 20
		bodyLimit   = 4 << 10
	)
	var huge hugeBody
	tests := []struct {
		name   string
		start  func(t *testing.T) string // returns the receiver's URL
		code   int                       // the attempts' status code
		reason string                    // part of the attempts' response
		// slow: each attempt lasts the whole timeout, so the healthy
		// endpoint must be done before any of them is.
		slow bool
	}{
		{
			name: "huge body",
			start: func(t *testing.T) string {
				srv := newReceiverOn(t, listen(t, "127.0.0.1:0"), false, func(w http.ResponseWriter, r *http.Request, n int) {
					huge.ServeHTTP(w, r)
				})
				return srv.URL
			},
			code:   500,
			reason: strings.Repeat("x", bodyLimit),
		},
		{
			name: "huge headers",
			start: func(t *testing.T) string {
				return newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
					w.Header().Set("X-Junk", strings.Repeat("j", 1<<20))
				}).URL
			},
			reason: "server response headers exceeded 65536 bytes",
		},
		{
			name: "trickling headers",
			start: func(t *testing.T) string {
				return startRaw(t, func(c net.Conn, done <-chan struct{}) {
					trickle(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 200*time.Millisecond, done)
				})
			},
			reason: "request timed out after 1s",
			slow:   true,
		},
		{
			name: "trickling body",
			start: func(t *testing.T) string {
				return startRaw(t, func(c net.Conn, done <-chan struct{}) {
					if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"); err != nil {
						return
					}
					trickle(c, strings.Repeat("t", 100), 200*time.Millisecond, done)
				})
			},
			code:   200,
			reason: "reading the response body: request timed out after 1s",
			slow:   true,
		},
		{
			name: "silent after accepting (TLS)",
			start: func(t *testing.T) string {
				// Accepts connections and never answers the handshake.
				ln := listen(t, "127.0.0.1:0")
				var mu sync.Mutex
				var conns []net.Conn
				t.Cleanup(func() {
					ln.Close()
					mu.Lock()
					defer mu.Unlock()
					for _, c := range conns {
						c.Close()
					}
				})
				go func() {
					for {
						c, err := ln.Accept()
						if err != nil {
							return
						}
						mu.Lock()
						conns = append(conns, c)
						mu.Unlock()
					}
				}()
				return "https://" + ln.Addr().String()
			},
			reason: "request timed out after 1s",
			slow:   true,
		},
		{
			name: "connection reset",
			start: func(t *testing.T) string {
				return newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
					c, _, err := http.NewResponseController(w).Hijack()
					if err != nil {
						t.Errorf("hijack: %v", err)
						return
					}
					_ = c.(*net.TCPConn).SetLinger(0) // close with RST
					c.Close()
				}).URL
			},
			reason: "connection reset by peer",
		},
		{
			name: "connection closed mid-body",
			start: func(t *testing.T) string {
				return startRaw(t, func(c net.Conn, done <-chan struct{}) {
					_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial")
				})
			},
			code:   200,
			reason: "reading the response body: connection closed by the receiver mid-response (unexpected EOF)",
		},
		{
			name: "closed without an answer",
			start: func(t *testing.T) string {
				return startRaw(t, func(c net.Conn, done <-chan struct{}) {})
			},
			reason: "connection closed by the receiver without a response (EOF)",
		},
		{
			name: "garbage instead of HTTP",
			start: func(t *testing.T) string {
				return startRaw(t, func(c net.Conn, done <-chan struct{}) {
					_, _ = io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n\r\n")
				})
			},
			reason: "malformed HTTP",
		},
		{
			name: "bad certificate",
			start: func(t *testing.T) string {
				return newReceiverOn(t, listen(t, "127.0.0.1:0"), true, nil).URL
			},
			reason: "certificate signed by unknown authority",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			healthy := newReceiver(t, nil)
			hostileEp := f.endpoint(tt.start(t), nil)
			healthyEp := f.endpoint(healthy.URL, nil)
			cfg := baseConfig(f.st)
			cfg.Workers = 4
			cfg.MaxInFlightPerEndpoint = 2
			cfg.Timeout = time.Second
			cfg.ResponseBodyLimit = bodyLimit
			d, _ := startDispatcher(t, transport(cfg))

			hostileAttempts := func() []hookrelay.Attempt {
				as, err := f.st.ListAttempts(context.Background(), store.ListAttemptsParams{
					AppID: f.app.ID, EndpointID: hostileEp.ID, Page: store.Page{Limit: 250}})
				if err != nil {
					t.Fatalf("list attempts: %v", err)
				}
				return as
			}
			// The hostile endpoint's messages come first in the queue.
			for i := range hostileMsgs {
				f.publish(hostileEp.ID, fmt.Sprintf(`{"hostile":%d}`, i))
			}
			for i := range healthyMsgs {
				f.publish(healthyEp.ID, fmt.Sprintf(`{"healthy":%d}`, i))
			}
			start := time.Now()
			d.Wake()
			waitFor(t, 5*time.Second, "the healthy endpoint to get every message", func() bool {
				return healthy.count() == healthyMsgs
			})
			if tt.slow {
				if as := hostileAttempts(); len(as) > 0 {
					t.Errorf("the healthy endpoint was done only after %v, when %d hostile attempts had ended", time.Since(start), len(as))
				}
			}
			var as []hookrelay.Attempt
			waitFor(t, 10*time.Second, "every hostile delivery to be attempted", func() bool {
				as = hostileAttempts()
				return len(as) == hostileMsgs
			})
			for _, a := range as {
				if a.Status != hookrelay.StatusFail || a.ResponseStatusCode != tt.code || !strings.Contains(a.Response, tt.reason) {
					t.Fatalf("attempt: status %d code %d response %.200q; want a failure, code %d, %.80q",
						a.Status, a.ResponseStatusCode, a.Response, tt.code, tt.reason)
				}
				if len(a.Response) > bodyLimit {
					t.Fatalf("kept a %d-byte response; the limit is %d", len(a.Response), bodyLimit)
				}
				if tt.slow && (a.ResponseDurationMs < 900 || a.ResponseDurationMs > 3000) {
					t.Errorf("attempt lasted %dms, want about the 1s timeout", a.ResponseDurationMs)
				}
			}
		})
	}
	t.Run("huge body not read whole", func(t *testing.T) {
		w := huge.written()
		if len(w) != hostileMsgs {
			t.Fatalf("%d huge responses written, want %d", len(w), hostileMsgs)
		}
		for _, n := range w {
			t.Logf("wrote %d", n)
			// What the kernel buffers of both ends took is all the
			// server could write before the connection was closed.
			if n > hugeBodySize/4 {
				t.Errorf("the server wrote %d of %d bytes before the connection was closed", n, hugeBodySize)
			}
		}
	})
}

// TestLongResponseNotWaitedFor checks that a 2xx response longer than the
// kept limit, whose rest trickles, is a prompt success: what is beyond the
// limit is drained only briefly, not until the timeout.
func TestLongResponseNotWaitedFor(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) { testLongResponseNotWaitedFor(t, tr.set) })
	}
}

func testLongResponseNotWaitedFor(t *testing.T, transport func(delivery.Config) delivery.Config) {
	const limit = 1000
	f := newFixture(t)
	url := startRaw(t, func(c net.Conn, done <-chan struct{}) {
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"+strings.Repeat("a", limit+10)); err != nil {
			return
		}
		trickle(c, strings.Repeat("b", 100000), 100*time.Millisecond, done)
	})
	cfg := baseConfig(f.st)
	cfg.ResponseBodyLimit = limit
	d, _ := startDispatcher(t, transport(cfg))
	a := deliverOnce(t, f, d, url)
	if a.Status != hookrelay.StatusSuccess || a.ResponseStatusCode != 200 || a.Response != strings.Repeat("a", limit) {
		t.Fatalf("attempt: status %d code %d response of %d bytes; want a success with %d bytes kept",
			a.Status, a.ResponseStatusCode, len(a.Response), limit)
	}
	if a.ResponseDurationMs > 2000 {
		t.Fatalf("the attempt lasted %dms: the trickling rest was waited for", a.ResponseDurationMs)
	}
}

// TestLeftoversBlameNoOtherMessage checks, over both transports, that a
// receiver writing more than its response on a kept-alive connection fails
// nobody else: the next message on that host, to another endpoint (another
// customer's, say), is delivered.
func TestLeftoversBlameNoOtherMessage(t *testing.T) {
	const (
		ok   = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
		junk = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfake"
	)
	tests := []struct {
		name string
		// idle: the extra bytes are written only once the first
		// attempt is recorded, while the connection waits in the pool.
		idle bool
	}{
		{name: "right after the response"},
		{name: "while the connection is idle", idle: true},
	}
	for _, tr := range transports {
		for _, tt := range tests {
			t.Run(tr.name+"/"+tt.name, func(t *testing.T) {
				ln := listen(t, "127.0.0.1:0")
				writeJunk, junkWritten := make(chan struct{}), make(chan struct{})
				var wg sync.WaitGroup
				t.Cleanup(func() { ln.Close(); wg.Wait() })
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						c, err := ln.Accept()
						if err != nil {
							return
						}
						wg.Add(1)
						go func() {
							defer wg.Done()
							defer c.Close()
							br := bufio.NewReader(c)
							for {
								req, err := http.ReadRequest(br)
								if err != nil {
									return
								}
								_, _ = io.Copy(io.Discard, req.Body)
								answer := ok
								if req.URL.Path == "/a" && !tt.idle {
									answer += junk
								}
								if _, err := io.WriteString(c, answer); err != nil {
									return
								}
								if req.URL.Path == "/a" && tt.idle {
									<-writeJunk
									_, _ = io.WriteString(c, junk)
									close(junkWritten)
								}
							}
						}()
					}
				}()
				base := "http://" + ln.Addr().String()
				f := newFixture(t)
				cfg := baseConfig(f.st)
				d, _ := startDispatcher(t, tr.set(cfg))
				a := deliverOnce(t, f, d, base+"/a")
				if a.Status != hookrelay.StatusSuccess || a.Response != "ok" {
					t.Fatalf("first attempt: status %d, response %q", a.Status, a.Response)
				}
				if tt.idle {
					close(writeJunk)
					<-junkWritten
				}
				b := deliverOnce(t, f, d, base+"/b")
				if b.Status != hookrelay.StatusSuccess || b.ResponseStatusCode != 200 || b.Response != "ok" {
					t.Fatalf("the next message, to another endpoint: status %d, code %d, response %q; want a success",
						b.Status, b.ResponseStatusCode, b.Response)
				}
			})
		}
	}
}
