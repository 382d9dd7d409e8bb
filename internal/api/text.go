package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The input text rule (see the package comment): request bodies, path
// values and query values are valid UTF-8, and text the API keeps holds no
// U+0000, which PostgreSQL's text and jsonb cannot store. Message payloads
// and event type schemas are JSON documents kept byte for byte: a \u0000
// escape in them is plain ASCII text and is kept.

const (
	msgNotUTF8 = "must be valid UTF-8"
	msgHasNUL  = "must not contain the NUL character"
)

// checkText returns the problem of a path or query value, or "".
func checkText(s string) string {
	if !utf8.ValidString(s) {
		return msgNotUTF8
	}
	if strings.IndexByte(s, 0) >= 0 {
		return msgHasNUL
	}
	return ""
}

// invalidUTF8 is the 422 for body b, which is not valid UTF-8. It names the
// value holding the first bad byte by its JSON path (the object, when the
// byte is in a key, since a key with a bad byte cannot be echoed); the body
// when the byte is outside any value.
func invalidUTF8(b []byte) error {
	bad := 0
	for bad < len(b) {
		r, size := utf8.DecodeRune(b[bad:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		bad += size
	}
	return validationError{{Loc: jsonPathAt(b, bad), Msg: msgNotUTF8, Type: "value_error"}}
}

// jsonPathAt returns the location, as ["body", keys and indexes...], of the
// JSON token of b that holds the byte at offset off. Bytes between tokens
// are ASCII punctuation and space, so a non-ASCII byte is inside a token or
// makes b malformed (then ["body"]).
func jsonPathAt(b []byte, off int) []string {
	type frame struct {
		obj     bool
		wantKey bool
		key     string
		n       int
	}
	var stack []frame
	path := func(withTop bool) []string {
		loc := []string{"body"}
		for i, f := range stack {
			if i == len(stack)-1 && !withTop {
				break
			}
			if f.obj {
				loc = append(loc, f.key)
			} else {
				loc = append(loc, strconv.Itoa(f.n))
			}
		}
		return loc
	}
	// advance moves the innermost container past the value just read.
	advance := func() {
		if len(stack) == 0 {
			return
		}
		if top := &stack[len(stack)-1]; top.obj {
			top.wantKey = true
		} else {
			top.n++
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := dec.Token()
		if err != nil {
			return []string{"body"}
		}
		past := int(dec.InputOffset()) > off
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			advance()
			continue
		}
		if len(stack) > 0 {
			if top := &stack[len(stack)-1]; top.obj && top.wantKey {
				if past {
					return path(false)
				}
				top.key, _ = tok.(string)
				top.wantKey = false
				continue
			}
		}
		if past {
			return path(true)
		}
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, frame{obj: d == '{', wantKey: d == '{'})
			continue
		}
		advance()
	}
}

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	optPkgPath     = reflect.TypeFor[opt[int]]().PkgPath()
)

// isOpt reports whether t is an instance of opt.
func isOpt(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && t.PkgPath() == optPkgPath && strings.HasPrefix(t.Name(), "opt[")
}

// nulFields reports every string bound into dst (a pointer to a request
// struct) that holds U+0000: field values, list items, map keys and map
// values, each at its JSON path. json.RawMessage values are not looked
// into: they are JSON documents kept as written.
func nulFields(dst any) error {
	var errs validationError
	walkNUL(reflect.ValueOf(dst), []string{"body"}, &errs)
	if len(errs) == 0 {
		return nil
	}
	return errs
}

func walkNUL(v reflect.Value, loc []string, errs *validationError) {
	add := func(loc []string) {
		*errs = append(*errs, fieldError{Loc: loc, Msg: msgHasNUL, Type: "value_error"})
	}
	switch v.Kind() {
	case reflect.String:
		if strings.IndexByte(v.String(), 0) >= 0 {
			add(loc)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkNUL(v.Elem(), loc, errs)
		}
	case reflect.Slice, reflect.Array:
		if v.Type() == rawMessageType {
			return
		}
		for i := range v.Len() {
			walkNUL(v.Index(i), append(slices.Clip(loc), strconv.Itoa(i)), errs)
		}
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			at := append(slices.Clip(loc), k.String())
			if k.Kind() == reflect.String && strings.IndexByte(k.String(), 0) >= 0 {
				add(at)
				continue
			}
			walkNUL(v.MapIndex(k), at, errs)
		}
	case reflect.Struct:
		t := v.Type()
		if isOpt(t) {
			// Reflection reads the fields rather than calling methods: a
			// value reached through an embedded unexported struct cannot
			// be turned back into an interface.
			if v.FieldByName("Set").Bool() && !v.FieldByName("Null").Bool() {
				walkNUL(v.FieldByName("V"), loc, errs)
			}
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
				walkNUL(v.Field(i), loc, errs) // its fields are the body's, as in encoding/json
				continue
			}
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			walkNUL(v.Field(i), append(slices.Clip(loc), name), errs)
		}
	}
}
