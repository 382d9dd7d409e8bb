package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hookrelay/hookrelay/internal/store"
)

// opt is a request field that remembers whether it was present and whether
// it was null, which PATCH semantics and required fields need.
type opt[T any] struct {
	Set  bool
	Null bool
	V    T
}

// UnmarshalJSON is called by json.Unmarshal with b already checked to be
// valid JSON, which lets two common shapes skip a second scan: raw JSON is
// copied as is, and a string of printable ASCII without escapes is its
// bytes between the quotes. Anything else decodes as usual.
func (o *opt[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	switch v := any(&o.V).(type) {
	case *json.RawMessage:
		*v = append((*v)[:0], b...)
		return nil
	case *string:
		if plainString(b) {
			*v = string(b[1 : len(b)-1])
			return nil
		}
	}
	return json.Unmarshal(b, &o.V)
}

// plainString reports whether b is a JSON string whose content needs no
// decoding: printable ASCII, no backslash, no quote.
func plainString(b []byte) bool {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return false
	}
	for _, c := range b[1 : len(b)-1] {
		if c < 0x20 || c > 0x7e || c == '\\' || c == '"' {
			return false
		}
	}
	return true
}

// has reports whether the field carries a non-null value.
func (o opt[T]) has() bool { return o.Set && !o.Null }

// ptr returns the value, or nil when absent or null.
func (o opt[T]) ptr() *T {
	if !o.has() {
		return nil
	}
	v := o.V
	return &v
}

// decodeBody reads the JSON object of the request into dst (a pointer to a
// struct of opt fields). Malformed JSON is 400; a value of the wrong type is
// 422 naming the field; a body over the limit is 413. A body that is not
// valid UTF-8, or that binds a string holding U+0000, is 422 naming the
// field (see text.go): encoding/json would otherwise turn bad bytes into
// U+FFFD, storing something other than what was sent.
func decodeBody(r *http.Request, dst any) error {
	b, err := requestBody(r)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge(mbe.Limit)
		}
		return errBadRequest("read request body: " + err.Error())
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		b = []byte("{}")
	}
	if !utf8.Valid(b) {
		return invalidUTF8(b)
	}
	if b[0] != '{' {
		if !json.Valid(b) {
			return malformed(b)
		}
		return invalidType("body must be a JSON object", "body")
	}
	// Unmarshal checks the whole body before it decodes anything, so a
	// syntax error leaves dst untouched.
	if err := json.Unmarshal(b, dst); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return malformed(b)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			loc := []string{"body"}
			if te.Field != "" {
				loc = append(loc, strings.Split(te.Field, ".")...)
			}
			return invalidType(fmt.Sprintf("invalid type: expected %s, got %s", typeName(te.Type), te.Value), loc...)
		}
		var ve validationError
		if errors.As(err, &ve) {
			return ve
		}
		return errBadRequest("invalid JSON body: " + err.Error())
	}
	// A NUL can only come from a \u0000 escape: raw control characters
	// are not JSON.
	if bytes.Contains(b, []byte(`\u0000`)) {
		return nulFields(dst)
	}
	return nil
}

// malformed is the error for a body that is not JSON.
func malformed(b []byte) error {
	var probe any
	if err := json.Unmarshal(b, &probe); err != nil {
		return errBadRequest("malformed JSON body: " + err.Error())
	}
	return errBadRequest("malformed JSON body")
}

func invalidType(msg string, loc ...string) error {
	return validationError{{Loc: loc, Msg: msg, Type: "type_error"}}
}

// typeName names a Go type the way a JSON client thinks of it.
func typeName(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		if t == reflect.TypeOf(json.RawMessage(nil)) {
			return "JSON value"
		}
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Pointer:
		return typeName(t.Elem())
	}
	return t.String()
}

// query reads and validates query parameters, collecting every problem.
type query struct {
	v    url.Values
	errs validationError
	// repeated names the parameters failed for being given more than
	// once, each failed once.
	repeated map[string]bool
}

func newQuery(r *http.Request) *query { return &query{v: r.URL.Query()} }

func (q *query) fail(name, msg string) {
	q.errs = append(q.errs, fieldError{Loc: []string{"query", name}, Msg: msg, Type: "value_error"})
}

// err returns the collected problems, or nil.
func (q *query) err() error {
	if len(q.errs) == 0 {
		return nil
	}
	return q.errs
}

// get returns the parameter's value, or "" after failing it when it is
// given more than once, is not valid UTF-8 or holds U+0000. Every reader
// of a parameter that takes one value goes through it: a second value is
// refused rather than ignored, since which one would count is a guess.
func (q *query) get(name string) string {
	vs := q.v[name]
	if len(vs) > 1 {
		if !q.repeated[name] {
			if q.repeated == nil {
				q.repeated = map[string]bool{}
			}
			q.repeated[name] = true
			q.fail(name, fmt.Sprintf("is given %d times; it takes one value", len(vs)))
		}
		return ""
	}
	s := q.v.Get(name)
	if msg := checkText(s); msg != "" {
		q.fail(name, msg)
		return ""
	}
	return s
}

func (q *query) str(name string) string { return q.get(name) }

func (q *query) boolean(name string, def bool) bool {
	s := q.get(name)
	if s == "" {
		return def
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		q.fail(name, "must be true or false")
		return def
	}
	return b
}

// timestamp parses an RFC 3339 time. A "+" sent unescaped in a query
// string arrives as a space and is taken back.
func (q *query) timestamp(name string) *time.Time {
	s := q.get(name)
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, strings.ReplaceAll(s, " ", "+"))
	if err != nil {
		q.fail(name, "must be an RFC 3339 date-time")
		return nil
	}
	t = t.UTC()
	return &t
}

// ceilMicro is t rounded up to a whole microsecond, the precision the
// stores keep times at, or nil for nil. A bound that holds a time when it
// is at least t (since), or when it is before t (before, until), holds
// the same times at microsecond precision once rounded up; a bound that
// holds a time after t (after) needs no rounding: the stores truncate.
func ceilMicro(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := roundUpMicro(*t)
	return &c
}

// roundUpMicro is ceilMicro for a time that is always given.
func roundUpMicro(t time.Time) time.Time {
	c := t.Truncate(time.Microsecond)
	if c.Before(t) {
		c = c.Add(time.Microsecond)
	}
	return c
}

// pattern reads an optional string parameter matching check.
func (q *query) pattern(name string, check func(string) string) string {
	s := q.get(name)
	if s == "" {
		return ""
	}
	if msg := check(s); msg != "" {
		q.fail(name, msg)
		return ""
	}
	return s
}

// only fails every parameter whose name is not in names, in name order;
// hints gives the message for some of them.
func (q *query) only(names []string, hints map[string]string) {
	var unknown []string
	for name := range q.v {
		if !slices.Contains(names, name) {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	for _, name := range unknown {
		msg, ok := hints[name]
		if !ok {
			msg = "is not a parameter of this route; it takes " + strings.Join(names, ", ")
		}
		q.fail(name, msg)
	}
}

// page reads limit (default 50, 1..250), iterator and, when withOrder, order.
func (q *query) page(withOrder bool) store.Page {
	p := store.Page{Limit: 50, Iterator: q.get("iterator")}
	if s := q.get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 250 {
			q.fail("limit", "must be an integer between 1 and 250")
		} else {
			p.Limit = n
		}
	}
	if withOrder {
		switch s := q.get("order"); s {
		case "", "ascending":
			p.Order = store.Ascending
		case "descending":
			p.Order = store.Descending
		default:
			q.fail("order", "must be ascending or descending")
		}
	}
	return p
}

// eventTypes reads event_types, repeated or comma-separated.
func (q *query) eventTypes() []string {
	var out []string
	for _, v := range q.v["event_types"] {
		if msg := checkText(v); msg != "" {
			q.fail("event_types", msg)
			continue
		}
		for _, name := range strings.Split(v, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			if msg := checkName(name, 256); msg != "" {
				q.fail("event_types", msg)
				continue
			}
			out = append(out, name)
		}
	}
	return out
}

// intEnum reads an integer parameter that must be one of allowed.
func (q *query) intEnum(name string, allowed ...int) *int {
	s := q.get(name)
	if s == "" {
		return nil
	}
	n, err := strconv.Atoi(s)
	if err == nil {
		for _, a := range allowed {
			if n == a {
				return &n
			}
		}
	}
	q.fail(name, fmt.Sprintf("must be one of %v", allowed))
	return nil
}
