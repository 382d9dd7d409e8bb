package api

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/hookrelay/hookrelay"
)

// Custom endpoint headers. Names are kept as written; two names that differ
// only in case are the same header.

// Limits of an endpoint's custom headers. The total counts the bytes of
// every name and value.
const (
	maxEndpointHeaders   = 20
	maxHeaderNameBytes   = 256
	maxHeaderValueBytes  = 4096
	maxHeadersTotalBytes = 16 << 10
)

// sensitiveNames are always redacted; so is any name containing one of
// sensitiveParts.
var (
	sensitiveNames = map[string]bool{
		"authorization": true, "proxy-authorization": true, "cookie": true,
		"x-api-key": true, "x-webhook-token": true,
	}
	sensitiveParts = []string{"token", "secret", "password", "auth", "key"}
)

// isSensitive reports whether a header's value is hidden when read back.
func isSensitive(name string) bool {
	n := strings.ToLower(name)
	if sensitiveNames[n] {
		return true
	}
	for _, p := range sensitiveParts {
		if strings.Contains(n, p) {
			return true
		}
	}
	return false
}

// checkHeaderName rejects reserved names and names that are not an HTTP
// token (RFC 9110 tchar).
func checkHeaderName(name string) string {
	n := strings.ToLower(name)
	switch {
	case name == "":
		return "header name must not be empty"
	case len(name) > maxHeaderNameBytes:
		return fmt.Sprintf("header name must be at most %d bytes", maxHeaderNameBytes)
	case hookrelay.ReservedHeader(n):
		return "header name is reserved"
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return "invalid header name"
		}
	}
	return ""
}

func isTokenChar(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0
}

// checkHeaderValue rejects control characters other than horizontal tab,
// as net/http does.
func checkHeaderValue(v string) string {
	if len(v) > maxHeaderValueBytes {
		return fmt.Sprintf("header value must be at most %d bytes", maxHeaderValueBytes)
	}
	for i := 0; i < len(v); i++ {
		b := v[i]
		if (b < ' ' && b != '\t') || b == 0x7f {
			return "invalid header value"
		}
	}
	return ""
}

// endpointHeadersIn is EndpointHeadersIn (PUT) and EndpointHeadersPatchIn
// (PATCH), whose deleteHeaders names headers to remove.
type endpointHeadersIn struct {
	Headers       opt[map[string]*string] `json:"headers"`
	DeleteHeaders opt[[]string]           `json:"deleteHeaders"`
}

// validate checks names and values; patch allows null values and
// deleteHeaders (removal). The limits of the whole set are checked by
// checkHeaderSet, on the headers that result.
func (in *endpointHeadersIn) validate(c *checker, patch bool) {
	in.validateDelete(c, patch)
	if !c.required(in.Headers.Set, in.Headers.Null, "headers") {
		return
	}
	if len(in.Headers.V) > 4*maxEndpointHeaders {
		// Not worth checking one by one.
		c.add(fmt.Sprintf("an endpoint has at most %d custom headers", maxEndpointHeaders), "headers")
		return
	}
	seen := map[string]string{}
	names := make([]string, 0, len(in.Headers.V))
	for name := range in.Headers.V {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v := in.Headers.V[name]
		c.check(checkHeaderName(name), "headers", name)
		if v == nil {
			if !patch {
				c.add("none is not an allowed value", "headers", name)
			}
		} else {
			c.check(checkHeaderValue(*v), "headers", name)
		}
		if prev, ok := seen[strings.ToLower(name)]; ok {
			c.add("duplicate header name (same as "+prev+")", "headers", name)
		}
		seen[strings.ToLower(name)] = name
	}
}

// validateDelete checks deleteHeaders: only in a patch, names only, and
// none that the same body also sets.
func (in *endpointHeadersIn) validateDelete(c *checker, patch bool) {
	if !in.DeleteHeaders.Set {
		return
	}
	if !patch {
		c.add("is only taken by PATCH: PUT replaces every header, so leave out the ones to remove", "deleteHeaders")
		return
	}
	c.notNull(in.DeleteHeaders.Set, in.DeleteHeaders.Null, "deleteHeaders")
	if len(in.DeleteHeaders.V) > 4*maxEndpointHeaders {
		c.add(fmt.Sprintf("at most %d names", 4*maxEndpointHeaders), "deleteHeaders")
		return
	}
	for i, name := range in.DeleteHeaders.V {
		idx := fmt.Sprint(i)
		if msg := checkHeaderName(name); msg != "" && msg != "header name is reserved" {
			c.add(msg, "deleteHeaders", idx)
			continue
		}
		for set, v := range in.Headers.V {
			if v != nil && strings.EqualFold(set, name) {
				c.add("header "+name+" is both set in headers and named in deleteHeaders", "deleteHeaders", idx)
			}
		}
	}
}

// getEndpointHeaders returns the custom headers; sensitive ones are listed
// by name only.
func (s *server) getEndpointHeaders(w http.ResponseWriter, r *http.Request, p *principal) error {
	_, ep, err := s.appEndpoint(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toHeadersOut(ep))
	return nil
}

// toHeadersOut shows ep's custom headers, the sensitive ones by name only.
func toHeadersOut(ep *hookrelay.Endpoint) endpointHeadersOut {
	out := endpointHeadersOut{Headers: map[string]string{}, Sensitive: []string{}}
	hidden := map[string]bool{}
	for _, n := range ep.Sensitive {
		hidden[strings.ToLower(n)] = true
	}
	for name, v := range ep.Headers {
		if hidden[strings.ToLower(name)] || isSensitive(name) {
			out.Sensitive = append(out.Sensitive, name)
		} else {
			out.Headers[name] = v
		}
	}
	sort.Strings(out.Sensitive)
	return out
}

// updateEndpointHeaders (PUT) replaces every custom header.
func (s *server) updateEndpointHeaders(w http.ResponseWriter, r *http.Request, p *principal) error {
	return s.writeEndpointHeaders(w, r, p, false)
}

// patchEndpointHeaders (PATCH) merges: a null value removes the header.
func (s *server) patchEndpointHeaders(w http.ResponseWriter, r *http.Request, p *principal) error {
	return s.writeEndpointHeaders(w, r, p, true)
}

func (s *server) writeEndpointHeaders(w http.ResponseWriter, r *http.Request, p *principal, patch bool) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	setHeaders, err := readEndpointHeaders(r, patch)
	if err != nil {
		return err
	}
	if _, _, err := s.changeEndpoint(r, p, app, setHeaders); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// readEndpointHeaders decodes and checks a headers body, of a PATCH when
// patch, and returns the change that sets them (applyTo; 422 when the set
// that results passes the limits).
func readEndpointHeaders(r *http.Request, patch bool) (func(*hookrelay.Endpoint) error, error) {
	var in endpointHeadersIn
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	var c checker
	in.validate(&c, patch)
	if err := c.err(); err != nil {
		return nil, err
	}
	return func(ep *hookrelay.Endpoint) error {
		return in.applyTo(ep, patch)
	}, nil
}

// applyTo sets ep's custom headers from a validated body: replaced by
// them, or merged with them when patch (a null value removes a header).
// The set that results must keep within the limits (422 otherwise; ep is
// then unchanged).
func (in *endpointHeadersIn) applyTo(ep *hookrelay.Endpoint, patch bool) error {
	headers := map[string]string{}
	if patch {
		for k, v := range ep.Headers {
			headers[k] = v
		}
	}
	for name, v := range in.Headers.V {
		deleteHeader(headers, name)
		if v != nil {
			headers[name] = *v
		}
	}
	if patch {
		for _, name := range in.DeleteHeaders.V {
			deleteHeader(headers, name)
		}
	}
	if err := checkHeaderSet(headers); err != nil {
		return err
	}
	var sensitive []string
	for name := range headers {
		if isSensitive(name) {
			sensitive = append(sensitive, name)
		}
	}
	sort.Strings(sensitive)
	ep.Headers = headers
	ep.Sensitive = sensitive
	return nil
}

// deleteHeader removes name from headers, whatever its case.
func deleteHeader(headers map[string]string, name string) {
	for k := range headers {
		if strings.EqualFold(k, name) {
			delete(headers, k)
		}
	}
}

// checkHeaderSet enforces the count and total size of an endpoint's custom
// headers.
func checkHeaderSet(headers map[string]string) error {
	if len(headers) > maxEndpointHeaders {
		return invalid(fmt.Sprintf("an endpoint has at most %d custom headers; this would make %d", maxEndpointHeaders, len(headers)), "body", "headers")
	}
	total := 0
	for name, v := range headers {
		total += len(name) + len(v)
	}
	if total > maxHeadersTotalBytes {
		return invalid(fmt.Sprintf("custom headers total at most %d bytes of names and values; this would make %d", maxHeadersTotalBytes, total), "body", "headers")
	}
	return nil
}
