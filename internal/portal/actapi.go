package portal

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The REST API's answers that the activity, testing and health pages read
// (Svix shapes; see internal/api/types.go), and the paths they call.

type actList[T any] struct {
	Data     []T     `json:"data"`
	Iterator *string `json:"iterator"`
	Done     bool    `json:"done"`
}

type actMessage struct {
	ID        string          `json:"id"`
	EventID   *string         `json:"eventId"`
	EventType string          `json:"eventType"`
	Payload   json.RawMessage `json:"payload"`
	Channels  []string        `json:"channels"`
	Tags      []string        `json:"tags"`
	Timestamp time.Time       `json:"timestamp"`
}

type actAttempt struct {
	ID                 string      `json:"id"`
	MsgID              string      `json:"msgId"`
	EndpointID         string      `json:"endpointId"`
	URL                string      `json:"url"`
	Response           string      `json:"response"`
	ResponseStatusCode int         `json:"responseStatusCode"`
	ResponseDurationMs int64       `json:"responseDurationMs"`
	Status             int         `json:"status"`
	TriggerType        int         `json:"triggerType"`
	Timestamp          time.Time   `json:"timestamp"`
	Msg                *actMessage `json:"msg"`
}

// Succeeded reports whether the attempt succeeded (Svix status 0).
func (a actAttempt) Succeeded() bool { return a.Status == 0 }

// Failure is the attempt's failure in plain words (zero for a success).
// The Svix attempt carries no outcome kind: explain reads it from the
// code and the stored reason.
func (a actAttempt) Failure() failure {
	return explain(0, a.Succeeded(), a.ResponseStatusCode, a.Response)
}

// StatusText and Tone describe the attempt's status for the page.
func (a actAttempt) StatusText() string { return deliveryStatus(a.Status) }
func (a actAttempt) Tone() string       { return statusTone(a.Status) }

// Code is the response status for the page: "—" without a response.
func (a actAttempt) Code() string {
	if a.ResponseStatusCode == 0 {
		return "—"
	}
	return strconv.Itoa(a.ResponseStatusCode)
}

// Duration is the attempt's duration for people.
func (a actAttempt) Duration() string { return formatMs(float64(a.ResponseDurationMs)) }

// Trigger names how the attempt came about.
func (a actAttempt) Trigger() string {
	if a.TriggerType == 1 {
		return "manual"
	}
	return "scheduled"
}

type actEndpoint struct {
	ID          string   `json:"id"`
	UID         *string  `json:"uid"`
	URL         string   `json:"url"`
	Description string   `json:"description"`
	Disabled    bool     `json:"disabled"`
	FilterTypes []string `json:"eventTypes"`
}

// Name is how pages name the endpoint: its description, else its URL.
func (e actEndpoint) Name() string {
	if d := strings.TrimSpace(e.Description); d != "" {
		return d
	}
	return e.URL
}

// actDestination is a message's delivery to one endpoint
// (MessageEndpointOut).
type actDestination struct {
	actEndpoint
	Status      int        `json:"status"`
	NextAttempt *time.Time `json:"nextAttempt"`
}

// StatusText and Tone describe the delivery's status for the page.
func (d actDestination) StatusText() string { return deliveryStatus(d.Status) }
func (d actDestination) Tone() string       { return statusTone(d.Status) }

type actEventType struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Archived    bool            `json:"archived"`
	Deprecated  bool            `json:"deprecated"`
	Schemas     json.RawMessage `json:"schemas"`
}

// example returns the event type's first example payload, indented, or "".
func (et *actEventType) example() string {
	var versions map[string]struct {
		Examples []json.RawMessage `json:"examples"`
	}
	if len(et.Schemas) == 0 || json.Unmarshal(et.Schemas, &versions) != nil {
		return ""
	}
	v1, ok := versions["1"]
	if !ok || len(v1.Examples) == 0 {
		return ""
	}
	ex := bytes.TrimSpace(v1.Examples[0])
	if len(ex) == 0 || ex[0] != '{' {
		return ""
	}
	return prettyJSON(ex)
}

type actHeaders struct {
	Headers   map[string]string `json:"headers"`
	Sensitive []string          `json:"sensitive"`
}

type actTask struct {
	ID     string         `json:"id"`
	Status string         `json:"status"`
	Task   string         `json:"task"`
	Data   map[string]any `json:"data"`
}

// deliveryStatus names a Svix MessageStatus for people.
func deliveryStatus(st int) string {
	switch st {
	case 0:
		return "Succeeded"
	case 1:
		return "Pending"
	case 2:
		return "Failed"
	case 3:
		return "Sending"
	}
	return "Unknown"
}

// statusTone is the pill class of a Svix MessageStatus.
func statusTone(st int) string {
	switch st {
	case 0:
		return "ok"
	case 2:
		return "bad"
	}
	return "warn"
}

// prettyJSON indents a JSON document for reading; text that is not JSON
// is returned as is.
func prettyJSON(b []byte) string {
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") != nil {
		return string(b)
	}
	return out.String()
}

// appPath is the API path of the session's application followed by rest
// (which starts with "/" or is empty); every element is escaped.
func appPath(appID string, rest ...string) string {
	p := "/api/v1/app/" + url.PathEscape(appID)
	for _, r := range rest {
		p += "/" + url.PathEscape(r)
	}
	return p
}
