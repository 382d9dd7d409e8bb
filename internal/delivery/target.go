package delivery

import (
	"errors"
	"net/url"
	"strings"
)

// escapeTarget percent-encodes the bytes of a request target (path and
// query) that a request line cannot carry: control characters, space, DEL
// and every non-ASCII byte. The API refuses URLs with spaces and control
// characters, but a URL stored before it did must still go out as a valid
// request line, never as "POST /x?q=a b HTTP/1.1". Go's URL parser keeps a
// query as given; a path it already encodes.
func escapeTarget(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// urlProblem says why an endpoint URL does not parse without quoting the
// URL, which may hold a password.
func urlProblem(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
