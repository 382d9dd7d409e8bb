package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/hookrelay/hookrelay/internal/store"
)

// idempotencyTTL is how long a key's response is replayed.
const idempotencyTTL = 24 * time.Hour

const maxIdempotencyKeyLen = 256

// idempotent runs a POST under its idempotency-key header, if any: the first
// request with a key runs and its response is stored; later requests with
// the same key and scope (caller, method and path) within idempotencyTTL get
// that response replayed, or 409 while the first is still running. A
// response of 500 or above abandons the key so the request may be retried.
//
// wrap has read the whole body before: a request whose body never arrived
// whole leaves no trace under its key. A key must be 1 to 256 characters of
// printable ASCII (422 otherwise), which every store keeps as is.
func (s *server) idempotent(w http.ResponseWriter, r *http.Request, p *principal, run func(http.ResponseWriter, *http.Request)) {
	key := r.Header.Get("idempotency-key")
	if key == "" {
		run(w, r)
		return
	}
	if msg := checkIdempotencyKey(key); msg != "" {
		writeError(w, validationError{{Loc: []string{"header", "idempotency-key"}, Msg: msg, Type: "value_error"}})
		return
	}
	scope := p.scope() + "|" + r.Method + "|" + scopePath(r.URL.EscapedPath())
	rec := &store.IdempotencyRecord{Scope: scope, Key: key, ExpiresAt: s.clock().Add(idempotencyTTL)}
	prev, started, err := s.store.StartIdempotent(r.Context(), rec)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	if !started {
		if !prev.Done {
			writeError(w, errConflict("a request with this idempotency key is still in progress"))
			return
		}
		if len(prev.Body) > 0 {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(prev.StatusCode)
		_, _ = w.Write(prev.Body)
		return
	}

	rw := &recorder{ResponseWriter: w}
	// Record the outcome even if the client goes away meanwhile.
	ctx := context.WithoutCancel(r.Context())
	finished := false
	defer func() {
		if !finished {
			if err := s.store.AbandonIdempotent(ctx, scope, key); err != nil {
				s.log.Error("abandon idempotency key", "error", err)
			}
		}
	}()
	run(rw, r)
	status := rw.status
	if status == 0 {
		status = http.StatusOK
	}
	if status >= 500 {
		return
	}
	if err := s.store.FinishIdempotent(ctx, scope, key, status, rw.body.Bytes()); err != nil {
		s.log.Error("finish idempotency key", "error", err)
		return
	}
	finished = true
}

// maxScopePath is the longest path a key's scope holds as it is: the
// longest path of an object (IDs, uids and names are at most 256
// characters) is shorter.
const maxScopePath = 1024

// scopePath is path as a key's scope holds it: path itself, or for a longer
// path than maxScopePath its SHA-256, so that the scope stays within what
// every store can index (a PostgreSQL index entry holds at most 2704
// bytes).
func scopePath(path string) string {
	if len(path) <= maxScopePath {
		return path
	}
	sum := sha256.Sum256([]byte(path))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// checkIdempotencyKey returns why key is not a valid idempotency key, or "".
func checkIdempotencyKey(key string) string {
	if len(key) > maxIdempotencyKeyLen {
		return "must be at most 256 characters"
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x20 || c > 0x7e {
			return "must be printable ASCII"
		}
	}
	return ""
}

// recorder passes a response through and keeps a copy.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (rw *recorder) WriteHeader(code int) {
	if rw.status == 0 {
		rw.status = code
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *recorder) Write(b []byte) (int, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	rw.body.Write(b)
	return rw.ResponseWriter.Write(b)
}

func (rw *recorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }
