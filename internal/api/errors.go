package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hookrelay/hookrelay"
)

// apiError is a response in Svix's HttpErrorOut shape.
type apiError struct {
	status int
	code   string
	detail string
}

func (e *apiError) Error() string { return e.code + ": " + e.detail }

func errBadRequest(detail string) error {
	return &apiError{http.StatusBadRequest, "bad_request", detail}
}
func errNotFound(detail string) error  { return &apiError{http.StatusNotFound, "not_found", detail} }
func errConflict(detail string) error  { return &apiError{http.StatusConflict, "conflict", detail} }
func errForbidden(detail string) error { return &apiError{http.StatusForbidden, "forbidden", detail} }
func errUnauthorized(detail string) error {
	return &apiError{http.StatusUnauthorized, "authentication_failed", detail}
}
func errUnavailable() error {
	return &apiError{http.StatusServiceUnavailable, "service_unavailable", "database unavailable, retry later"}
}

// errTooLarge reports a request body over limit bytes.
func errTooLarge(limit int64) error {
	return &apiError{http.StatusRequestEntityTooLarge, "payload_too_large",
		fmt.Sprintf("request body is larger than the limit of %d bytes", limit)}
}

// fieldError is one entry of Svix's HTTPValidationError.
type fieldError struct {
	Loc  []string `json:"loc"`
	Msg  string   `json:"msg"`
	Type string   `json:"type"`
}

// validationError is a 422 response listing every invalid field.
type validationError []fieldError

func (v validationError) Error() string {
	parts := make([]string, len(v))
	for i, f := range v {
		parts[i] = strings.Join(f.Loc, ".") + ": " + f.Msg
	}
	return "validation failed: " + strings.Join(parts, "; ")
}

// invalid returns a validationError of one field.
func invalid(msg string, loc ...string) error {
	return validationError{{Loc: loc, Msg: msg, Type: "value_error"}}
}

type errorBody struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// writeError writes a known error; anything else is a 500.
func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	var ve validationError
	switch {
	case errors.As(err, &ve):
		writeJSON(w, http.StatusUnprocessableEntity, struct {
			Detail validationError `json:"detail"`
		}{ve})
	case errors.As(err, &ae):
		writeJSON(w, ae.status, errorBody{ae.code, ae.detail})
	default:
		writeJSON(w, http.StatusInternalServerError, errorBody{"internal_error", "internal error"})
	}
}

// writeErr maps store and body errors to responses and logs the
// unexpected ones.
func (s *server) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, new(*apiError)), errors.As(err, new(validationError)):
	case errors.As(err, &mbe):
		err = errTooLarge(mbe.Limit)
	case errors.Is(err, hookrelay.ErrNotFound):
		err = errNotFound("entity not found")
	case errors.Is(err, hookrelay.ErrConflict):
		err = errConflict("entity already exists")
	case errors.Is(err, hookrelay.ErrStale):
		err = errConflict("entity was changed by another request at the same time; retry")
	default:
		s.log.Error("api request failed", append(requestAttrs(r), "error", err)...)
		if s.metrics != nil {
			s.metrics.StoreFailed()
		}
		if s.databaseDown(r.Context()) {
			// Nothing was accepted: tell the client to come back rather than
			// report a server fault.
			w.Header().Set("Retry-After", "1")
			err = errUnavailable()
		}
	}
	writeError(w, err)
}

// requestAttrs are the log attributes of a request: its method and path,
// and the IDs its path names (app_id, endpoint_id, msg_id, attempt_id, as
// given: an ID or a uid).
func requestAttrs(r *http.Request) []any {
	attrs := []any{"method", r.Method, "path", r.URL.Path}
	for _, name := range [...]string{"app_id", "endpoint_id", "msg_id", "attempt_id"} {
		if v := r.PathValue(name); v != "" {
			attrs = append(attrs, name, v)
		}
	}
	return attrs
}

// databaseDown reports whether the store fails a quick ping: an unexpected
// store error is then an outage (503), not a bug (500).
func (s *server) databaseDown(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	return s.store.Ping(ctx) != nil
}

// writeJSON writes v as the response body with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"code":"internal_error","detail":"encode response"}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(validUTF8(buf.Bytes()))
}
