package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"runtime/debug"
	"sync"
	"time"
)

// DefaultMaxBodyBytesInFlight bounds the request body bytes the API holds
// at once when Config.MaxBodyBytesInFlight is 0.
const DefaultMaxBodyBytesInFlight = 32 << 20

// DefaultAdmissionWait is how long a request waits for room in the body
// budget, when Config.AdmissionWait is 0, before it is refused with 503.
const DefaultAdmissionWait = 2 * time.Second

// bodyBudget bounds the bytes of request bodies held at once: a request
// reserves room for its body as it reads it (see readBody) and gives it
// back when its response is written. The bytes a request makes from its body (the decoded
// payload, the response, the stored copy) are a small multiple of it, so
// the budget bounds those too.
type bodyBudget struct {
	mu    sync.Mutex
	total int64
	free  int64
	// peak is the most bytes held at once since the budget was last
	// wholly free.
	peak    int64
	waiting int // requests waiting for room, for tests
	// changed is closed and replaced whenever bytes are given back.
	changed chan struct{}
}

func newBodyBudget(n int64) *bodyBudget {
	return &bodyBudget{total: n, free: n, changed: make(chan struct{})}
}

// acquire reserves n bytes, waiting up to wait for them to be free. It
// reports false when they were not free in time or ctx ended.
func (b *bodyBudget) acquire(ctx context.Context, n int64, wait time.Duration) bool {
	var timer *time.Timer
	for {
		b.mu.Lock()
		if n <= b.free {
			b.free -= n
			b.peak = max(b.peak, b.total-b.free)
			b.mu.Unlock()
			return true
		}
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
			b.waiting++
			defer func() {
				b.mu.Lock()
				b.waiting--
				b.mu.Unlock()
			}()
		}
		changed := b.changed
		b.mu.Unlock()
		select {
		case <-changed:
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// release gives back n bytes. It reports whether that ended a burst: the
// budget is wholly free again after at least a quarter of it was held.
func (b *bodyBudget) release(n int64) (burstEnded bool) {
	if n <= 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.free += n
	close(b.changed)
	b.changed = make(chan struct{})
	if b.free == b.total {
		burstEnded = b.peak >= b.total/4
		b.peak = 0
	}
	return burstEnded
}

// releaseBody gives back a request's bytes to the budget. When that ends a
// burst and the budget then stays unused for a second, the memory is
// returned to the operating system at once: the runtime would otherwise
// keep the burst's peak for up to its two-minute periodic collection.
func (s *server) releaseBody(n int64) {
	if !s.bodies.release(n) || !s.freeing.CompareAndSwap(false, true) {
		return
	}
	time.AfterFunc(time.Second, func() {
		defer s.freeing.Store(false)
		if free, _ := s.bodies.state(); free == s.bodies.total {
			debug.FreeOSMemory()
		}
	})
}

// state returns the free bytes and the number of waiting requests.
func (b *bodyBudget) state() (free int64, waiting int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.free, b.waiting
}

// hasBody reports whether the request comes with a body still to read.
func hasBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
}

// firstBodyChunk is the room a request reserves before its first byte
// arrives; beyond it, a body reserves as much again as it has sent, so a
// client holds room only for bytes it actually sent (at most twice them).
// Hundreds of connections that announce large bodies and send nothing thus
// hold a few MB of the budget, not all of it.
const firstBodyChunk = 16 << 10

// readBody reads the whole request body, within the body budget, before
// the handler runs: a request whose body never arrives whole is answered
// (400) without having touched anything, idempotency keys included. The
// buffer grows by doubling, each step reserved first; a step that finds no
// room within s.admissionWait is 503. It returns the bytes to give back to
// the budget once the response is written. On error the response has been
// written.
func (s *server) readBody(w http.ResponseWriter, r *http.Request) (reserved int64, ok bool) {
	if !hasBody(r) {
		return 0, true
	}
	if r.ContentLength > s.maxBody {
		s.refuse(w, r, errTooLarge(s.maxBody))
		return 0, false
	}
	fail := func(err error) (int64, bool) {
		s.releaseBody(reserved)
		s.refuse(w, r, err)
		return 0, false
	}
	// A body of unknown length (chunked) may be as large as the limit, and
	// one byte more is 413.
	size, body := r.ContentLength, r.Body
	if size < 0 {
		size, body = s.maxBody, http.MaxBytesReader(w, r.Body, s.maxBody)
	}
	var b []byte
	for {
		if len(b) == cap(b) {
			if int64(len(b)) == size {
				if r.ContentLength >= 0 {
					break // net/http ends the body at its Content-Length
				}
				// Exactly the limit so far: one byte more is too large.
				var probe [1]byte
				if _, err := body.Read(probe[:]); err != io.EOF {
					return fail(s.bodyError(err))
				}
				break
			}
			grow := min(max(int64(cap(b)), firstBodyChunk), size-int64(len(b)))
			if !s.bodies.acquire(r.Context(), grow, s.admissionWait) {
				w.Header().Set("Retry-After", "1")
				return fail(&apiError{http.StatusServiceUnavailable, "service_unavailable",
					"the server is busy reading other request bodies, retry later"})
			}
			reserved += grow
			nb := make([]byte, len(b), int64(len(b))+grow)
			copy(nb, b)
			b = nb
		}
		n, err := body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(s.bodyError(err))
		}
	}
	r.Body = &readAhead{b: b}
	return reserved, true
}

// bodyError is the answer to a failed read of a request body; a nil error
// means a byte beyond the limit was read.
func (s *server) bodyError(err error) error {
	var mbe *http.MaxBytesError
	if err == nil || errors.As(err, &mbe) {
		return errTooLarge(s.maxBody)
	}
	return errBadRequest("read request body: " + err.Error())
}

// readAhead is a request body read ahead by (*server).readBody.
type readAhead struct{ b []byte }

func (rb *readAhead) Read(p []byte) (int, error) {
	if len(rb.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, rb.b)
	rb.b = rb.b[n:]
	return n, nil
}

func (rb *readAhead) Close() error { return nil }

// requestBody returns the rest of the request body: the bytes read ahead,
// without a copy, or all of r.Body for a request that bypassed wrap.
func requestBody(r *http.Request) ([]byte, error) {
	if rb, ok := r.Body.(*readAhead); ok {
		b := rb.b
		rb.b = nil
		return b, nil
	}
	return io.ReadAll(r.Body)
}

// refuse answers err to a request whose body was not read (or not read
// whole) and closes the connection after the response, rather than read a
// body nobody will use: net/http would otherwise wait for up to 256 KiB of
// it before reusing, or closing, the connection.
func (s *server) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if hasBody(r) {
		if _, read := r.Body.(*readAhead); !read {
			w.Header().Set("Connection", "close")
			// Fail at once the read net/http makes after the response.
			_ = http.NewResponseController(w).SetReadDeadline(time.Now())
		}
	}
	s.writeErr(w, r, err)
}
