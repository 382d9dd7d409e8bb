package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hookrelay/hookrelay"
)

// Delivery options are a hookrelay extension served at
// /api/v1/app/{app_id}/endpoint/{endpoint_id}/options, so that the endpoint
// object itself stays exactly Svix's. The JSON object is
//
//	{"method": "POST", "timeoutSeconds": 30, "retrySchedule": [5, 300], "maxInFlight": 16}
//
// GET returns every field: method is "POST" or "PUT" (POST when never set;
// there is no server setting for it); timeoutSeconds, retrySchedule and
// maxInFlight are null while the server default applies. PUT replaces all
// four (a field missing or null takes the server default); PATCH changes the
// fields present (null resets one to the server default). Both answer 200
// with the options now in force.
//
// An empty retrySchedule ([]) means no retries: the first failed attempt is
// final. Endpoint create (POST .../endpoint) and update (PUT and PATCH of
// the endpoint) also take an `options` object in their body, with PUT's
// semantics on create and PUT and PATCH's on PATCH; a null `options`
// resets all four; a missing one leaves them as they are. The endpoint
// responses never show the options.

// Bounds of the delivery options.
const (
	minTimeoutSeconds    = 1
	maxTimeoutSeconds    = 60
	maxRetryEntries      = 20
	minRetryDelaySeconds = 1
	maxRetryDelaySeconds = 86400
	minMaxInFlight       = 1
	maxMaxInFlight       = 1000
)

// endpointOptionsIn is the body of PUT and PATCH .../options and the
// `options` object of an endpoint body.
type endpointOptionsIn struct {
	Method         opt[string] `json:"method"`
	TimeoutSeconds opt[int]    `json:"timeoutSeconds"`
	RetrySchedule  opt[[]int]  `json:"retrySchedule"`
	MaxInFlight    opt[int]    `json:"maxInFlight"`
	// unknown are the object's keys that name no option, sorted. The
	// object is hookrelay's own, so no Svix document makes a key it does
	// not know one to ignore: validate refuses each.
	unknown []string
}

// optionNames are the keys of an options object.
var optionNames = []string{"method", "timeoutSeconds", "retrySchedule", "maxInFlight"}

// UnmarshalJSON decodes the options as encoding/json does (a key matches
// a field whatever its case) and notes the keys that match none.
func (in *endpointOptionsIn) UnmarshalJSON(b []byte) error {
	type fields endpointOptionsIn // without this method
	var f fields
	unknown, err := decodeKnown(b, &f, optionNames...)
	if err != nil {
		return err
	}
	*in = endpointOptionsIn(f)
	in.unknown = unknown
	return nil
}

// decodeKnown decodes the JSON object b into v, as encoding/json does,
// and returns the keys of b that match none of names (as encoding/json
// matches a key to a field, whatever its case), sorted.
func decodeKnown(b []byte, v any, names ...string) ([]string, error) {
	if err := json.Unmarshal(b, v); err != nil {
		return nil, err
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return nil, err
	}
	var out []string
	for k := range keys {
		if !slices.ContainsFunc(names, func(name string) bool { return strings.EqualFold(name, k) }) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out, nil
}

// validate checks every non-null field; prefix locates the object inside
// the body. Null is always allowed: it stands for the server default.
func (in *endpointOptionsIn) validate(c *checker, prefix ...string) {
	loc := func(f ...string) []string { return append(append([]string{}, prefix...), f...) }
	if in.Method.has() {
		if m := strings.ToUpper(in.Method.V); m != http.MethodPost && m != http.MethodPut {
			c.add("must be POST or PUT", loc("method")...)
		}
	}
	if in.TimeoutSeconds.has() {
		if v := in.TimeoutSeconds.V; v < minTimeoutSeconds || v > maxTimeoutSeconds {
			c.add(fmt.Sprintf("must be between %d and %d seconds", minTimeoutSeconds, maxTimeoutSeconds), loc("timeoutSeconds")...)
		}
	}
	if in.RetrySchedule.has() {
		if n := len(in.RetrySchedule.V); n > maxRetryEntries {
			c.add(fmt.Sprintf("must have at most %d delays, got %d", maxRetryEntries, n), loc("retrySchedule")...)
		}
		for i, d := range in.RetrySchedule.V {
			if d < minRetryDelaySeconds || d > maxRetryDelaySeconds {
				c.add(fmt.Sprintf("each delay must be between %d and %d seconds", minRetryDelaySeconds, maxRetryDelaySeconds),
					loc("retrySchedule", fmt.Sprint(i))...)
			}
		}
	}
	if in.MaxInFlight.has() {
		if v := in.MaxInFlight.V; v < minMaxInFlight || v > maxMaxInFlight {
			c.add(fmt.Sprintf("must be between %d and %d", minMaxInFlight, maxMaxInFlight), loc("maxInFlight")...)
		}
	}
	for _, k := range in.unknown {
		c.add("is not a delivery option; they are method, timeoutSeconds, retrySchedule and maxInFlight", loc(k)...)
	}
}

// replace returns the options the validated body describes, every missing
// or null field at its server default.
func (in *endpointOptionsIn) replace() hookrelay.EndpointOptions {
	var o hookrelay.EndpointOptions
	in.merge(&o)
	return o
}

// merge writes the fields present in the validated body onto o; a null
// field resets it to the server default.
func (in *endpointOptionsIn) merge(o *hookrelay.EndpointOptions) {
	if in.Method.Set {
		o.Method = strings.ToUpper(in.Method.V) // "" when null
	}
	if in.TimeoutSeconds.Set {
		o.TimeoutSeconds = in.TimeoutSeconds.V
	}
	if in.RetrySchedule.Set {
		o.RetrySchedule = nil
		if in.RetrySchedule.has() {
			o.RetrySchedule = make([]time.Duration, len(in.RetrySchedule.V))
			for i, d := range in.RetrySchedule.V {
				o.RetrySchedule[i] = time.Duration(d) * time.Second
			}
		}
	}
	if in.MaxInFlight.Set {
		o.MaxInFlight = in.MaxInFlight.V
	}
}

// endpointOptionsOut is what GET, PUT and PATCH .../options answer.
type endpointOptionsOut struct {
	Method         string    `json:"method"`
	TimeoutSeconds *int      `json:"timeoutSeconds"`
	RetrySchedule  []float64 `json:"retrySchedule"` // seconds; null: server default
	MaxInFlight    *int      `json:"maxInFlight"`
}

func toEndpointOptionsOut(o hookrelay.EndpointOptions) endpointOptionsOut {
	out := endpointOptionsOut{Method: o.Method}
	if out.Method == "" {
		out.Method = http.MethodPost
	}
	if o.TimeoutSeconds > 0 {
		out.TimeoutSeconds = &o.TimeoutSeconds
	}
	if o.RetrySchedule != nil {
		out.RetrySchedule = make([]float64, len(o.RetrySchedule))
		for i, d := range o.RetrySchedule {
			out.RetrySchedule[i] = d.Seconds()
		}
	}
	if o.MaxInFlight > 0 {
		out.MaxInFlight = &o.MaxInFlight
	}
	return out
}

func (s *server) getEndpointOptions(w http.ResponseWriter, r *http.Request, p *principal) error {
	_, ep, err := s.appEndpoint(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toEndpointOptionsOut(ep.Options))
	return nil
}

// updateEndpointOptions (PUT) replaces every option.
func (s *server) updateEndpointOptions(w http.ResponseWriter, r *http.Request, p *principal) error {
	return s.writeEndpointOptions(w, r, p, false)
}

// patchEndpointOptions (PATCH) changes the options present.
func (s *server) patchEndpointOptions(w http.ResponseWriter, r *http.Request, p *principal) error {
	return s.writeEndpointOptions(w, r, p, true)
}

func (s *server) writeEndpointOptions(w http.ResponseWriter, r *http.Request, p *principal, patch bool) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	var in endpointOptionsIn
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	var c checker
	in.validate(&c)
	if err := c.err(); err != nil {
		return err
	}
	_, ep, err := s.changeEndpoint(r, p, app, func(ep *hookrelay.Endpoint) error {
		if patch {
			in.merge(&ep.Options)
		} else {
			ep.Options = in.replace()
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toEndpointOptionsOut(ep.Options))
	return nil
}
