package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/hookrelay/hookrelay/internal/api"
)

// APIError is the REST API's refusal of a call, as the API wrote it (Svix's
// error format). Pages show Detail, or each field's message next to the
// field it names.
type APIError struct {
	Status int
	Code   string
	Detail string
	// Fields are the invalid fields of a 422.
	Fields []FieldError
}

// FieldError is one invalid field of a 422: Loc is its path, such as
// ["body", "url"].
type FieldError struct {
	Loc []string `json:"loc"`
	Msg string   `json:"msg"`
}

func (e *APIError) Error() string {
	if len(e.Fields) > 0 {
		parts := make([]string, len(e.Fields))
		for i, f := range e.Fields {
			parts[i] = f.Name() + ": " + f.Msg
		}
		return strings.Join(parts, "; ")
	}
	return e.Detail
}

// Name is the field's path without its leading "body" or "query", joined
// with dots: "url", "headers.X-Token".
func (f FieldError) Name() string {
	loc := f.Loc
	if len(loc) > 0 && (loc[0] == "body" || loc[0] == "query") {
		loc = loc[1:]
	}
	return strings.Join(loc, ".")
}

// Field returns the message for the field named name (see
// FieldError.Name), or "".
func (e *APIError) Field(name string) string {
	for _, f := range e.Fields {
		if f.Name() == name {
			return f.Msg
		}
	}
	return ""
}

// call makes one request to the REST API in process, as the session's
// principal: the API applies its own validation and permissions (a
// session's change its capabilities do not grant is its 403). in, when not nil, is the JSON
// body (a []byte or json.RawMessage is sent as is); out, when not nil,
// receives a 2xx response's JSON. A refusal is an *APIError.
func (p *Portal) call(ctx context.Context, s *Session, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		var b []byte
		switch v := in.(type) {
		case []byte:
			b = v
		case json.RawMessage:
			b = v
		default:
			var err error
			if b, err = json.Marshal(in); err != nil {
				return fmt.Errorf("api %s %s: encode: %w", method, path, err)
			}
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(api.WithCaller(ctx, s.caller()), method, "http://portal.internal"+path, body)
	if err != nil {
		return fmt.Errorf("api %s %s: %w", method, path, err)
	}
	req.RemoteAddr = "portal"
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := &recorder{header: http.Header{}}
	p.api.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status >= 200 && rec.status < 300 {
		if out != nil && rec.body.Len() > 0 {
			if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
				return fmt.Errorf("api %s %s: decode: %w", method, path, err)
			}
		}
		return nil
	}
	return decodeAPIError(rec.status, rec.body.Bytes())
}

// decodeAPIError reads an error response of the API.
func decodeAPIError(status int, b []byte) *APIError {
	e := &APIError{Status: status}
	if status == http.StatusUnprocessableEntity {
		var v struct {
			Detail []FieldError `json:"detail"`
		}
		if json.Unmarshal(b, &v) == nil && len(v.Detail) > 0 {
			e.Code, e.Fields = "validation", v.Detail
			e.Detail = e.Error()
			return e
		}
	}
	var v struct {
		Code   string `json:"code"`
		Detail string `json:"detail"`
	}
	if json.Unmarshal(b, &v) == nil && v.Detail != "" {
		e.Code, e.Detail = v.Code, v.Detail
		return e
	}
	e.Detail = http.StatusText(status)
	return e
}

// recorder is the ResponseWriter of an in-process call.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
