package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/hookrelay/hookrelay"
)

// Out types carry exactly the fields of their Svix schema: the official Go
// SDK rejects unknown fields and requires the required ones.

// jsonTime encodes as RFC 3339 with fractional seconds, in UTC.
type jsonTime time.Time

func (t jsonTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(time.RFC3339Nano) + `"`), nil
}

func (t *jsonTime) UnmarshalJSON(b []byte) error {
	var tt time.Time
	if err := tt.UnmarshalJSON(b); err != nil {
		return err
	}
	*t = jsonTime(tt)
	return nil
}

func optTime(t *time.Time) *jsonTime {
	if t == nil {
		return nil
	}
	jt := jsonTime(*t)
	return &jt
}

// emptyObject stands for a payload that is not shown (with_content=false)
// or was expunged: the schema requires an object.
var emptyObject = json.RawMessage(`{}`)

type listResponse[T any] struct {
	Data         []T     `json:"data"`
	Iterator     *string `json:"iterator"`
	PrevIterator *string `json:"prevIterator"`
	Done         bool    `json:"done"`
}

// writeList writes one page. rows holds up to limit+1 items as the store
// returned them; the extra one only tells that more follow.
func writeList[R, T any](w http.ResponseWriter, rows []R, limit int, key func(R) string, conv func(R) T) {
	done := len(rows) <= limit
	if !done {
		rows = rows[:limit]
	}
	out := listResponse[T]{Data: make([]T, 0, len(rows)), Done: done}
	for _, r := range rows {
		out.Data = append(out.Data, conv(r))
	}
	if len(rows) > 0 {
		k := key(rows[len(rows)-1])
		out.Iterator = &k
	}
	writeJSON(w, http.StatusOK, out)
}

type applicationOut struct {
	UID       *string           `json:"uid,omitempty"`
	Name      string            `json:"name"`
	RateLimit *int              `json:"rateLimit,omitempty"`
	ID        string            `json:"id"`
	Metadata  map[string]string `json:"metadata"`
	CreatedAt jsonTime          `json:"createdAt"`
	UpdatedAt jsonTime          `json:"updatedAt"`
}

func toApplicationOut(a hookrelay.Application) applicationOut {
	md := a.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return applicationOut{
		UID: a.UID, Name: a.Name, RateLimit: a.RateLimit, ID: a.ID, Metadata: md,
		CreatedAt: jsonTime(a.CreatedAt), UpdatedAt: jsonTime(a.UpdatedAt),
	}
}

type eventTypeOut struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Archived    bool            `json:"archived"`
	Deprecated  bool            `json:"deprecated"`
	Schemas     json.RawMessage `json:"schemas,omitempty"`
	FeatureFlag *string         `json:"featureFlag,omitempty"`
	GroupName   *string         `json:"groupName,omitempty"`
	CreatedAt   jsonTime        `json:"createdAt"`
	UpdatedAt   jsonTime        `json:"updatedAt"`
}

func toEventTypeOut(et hookrelay.EventType, withContent bool) eventTypeOut {
	out := eventTypeOut{
		Name: et.Name, Description: et.Description, Archived: et.Archived, Deprecated: et.Deprecated,
		FeatureFlag: et.FeatureFlag, GroupName: et.GroupName,
		CreatedAt: jsonTime(et.CreatedAt), UpdatedAt: jsonTime(et.UpdatedAt),
	}
	if withContent && len(et.Schemas) > 0 && string(et.Schemas) != "null" {
		out.Schemas = et.Schemas
	}
	return out
}

type endpointOut struct {
	ID          string            `json:"id"`
	UID         *string           `json:"uid,omitempty"`
	URL         string            `json:"url"`
	Description string            `json:"description"`
	Version     int               `json:"version"`
	RateLimit   *int              `json:"rateLimit,omitempty"`
	FilterTypes []string          `json:"filterTypes,omitempty"`
	Channels    []string          `json:"channels,omitempty"`
	Disabled    bool              `json:"disabled"`
	Metadata    map[string]string `json:"metadata"`
	CreatedAt   jsonTime          `json:"createdAt"`
	UpdatedAt   jsonTime          `json:"updatedAt"`
}

func toEndpointOut(e hookrelay.Endpoint) endpointOut {
	md := e.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return endpointOut{
		ID: e.ID, UID: e.UID, URL: hookrelay.URLWithoutUserinfo(e.URL), Description: e.Description, Version: versionOf(e),
		RateLimit: e.RateLimit, FilterTypes: nonEmpty(e.FilterTypes), Channels: nonEmpty(e.Channels),
		Disabled: e.Disabled, Metadata: md,
		CreatedAt: jsonTime(e.CreatedAt), UpdatedAt: jsonTime(e.UpdatedAt),
	}
}

func versionOf(e hookrelay.Endpoint) int {
	if e.Version < 1 {
		return 1
	}
	return e.Version
}

// nonEmpty returns nil for an empty list so that it is left out: Svix's
// lists of channels and filter types have at least one item.
func nonEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

type messageEndpointOut struct {
	ID          string    `json:"id"`
	UID         *string   `json:"uid,omitempty"`
	URL         string    `json:"url"`
	Description string    `json:"description"`
	Version     int       `json:"version"`
	RateLimit   *int      `json:"rateLimit,omitempty"`
	FilterTypes []string  `json:"filterTypes,omitempty"`
	Channels    []string  `json:"channels,omitempty"`
	Disabled    bool      `json:"disabled"`
	Status      int       `json:"status"`
	NextAttempt *jsonTime `json:"nextAttempt,omitempty"`
	CreatedAt   jsonTime  `json:"createdAt"`
	UpdatedAt   jsonTime  `json:"updatedAt"`
}

func toMessageEndpointOut(e hookrelay.Endpoint, d hookrelay.Delivery) messageEndpointOut {
	return messageEndpointOut{
		ID: e.ID, UID: e.UID, URL: hookrelay.URLWithoutUserinfo(e.URL), Description: e.Description, Version: versionOf(e),
		RateLimit: e.RateLimit, FilterTypes: nonEmpty(e.FilterTypes), Channels: nonEmpty(e.Channels),
		Disabled: e.Disabled, Status: int(d.Status), NextAttempt: optTime(d.NextAttempt),
		CreatedAt: jsonTime(e.CreatedAt), UpdatedAt: jsonTime(e.UpdatedAt),
	}
}

type messageOut struct {
	ID        string          `json:"id"`
	EventID   *string         `json:"eventId,omitempty"`
	EventType string          `json:"eventType"`
	Payload   json.RawMessage `json:"payload"`
	Channels  []string        `json:"channels,omitempty"`
	Tags      []string        `json:"tags,omitempty"`
	Timestamp jsonTime        `json:"timestamp"`
}

// payloadOut returns what a response shows of a stored payload.
func payloadOut(p []byte, withContent bool) json.RawMessage {
	if !withContent || len(p) == 0 {
		return emptyObject
	}
	return json.RawMessage(p)
}

func toMessageOut(m hookrelay.Message, withContent bool) messageOut {
	return messageOut{
		ID: m.ID, EventID: m.EventID, EventType: m.EventType, Payload: payloadOut(m.Payload, withContent),
		Channels: nonEmpty(m.Channels), Tags: nonEmpty(m.Tags), Timestamp: jsonTime(m.CreatedAt),
	}
}

type endpointMessageOut struct {
	ID          string          `json:"id"`
	EventID     *string         `json:"eventId,omitempty"`
	EventType   string          `json:"eventType"`
	Payload     json.RawMessage `json:"payload"`
	Channels    []string        `json:"channels,omitempty"`
	Tags        []string        `json:"tags,omitempty"`
	Timestamp   jsonTime        `json:"timestamp"`
	Status      int             `json:"status"`
	NextAttempt *jsonTime       `json:"nextAttempt,omitempty"`
}

func toEndpointMessageOut(m hookrelay.Message, d hookrelay.Delivery, withContent bool) endpointMessageOut {
	return endpointMessageOut{
		ID: m.ID, EventID: m.EventID, EventType: m.EventType, Payload: payloadOut(m.Payload, withContent),
		Channels: nonEmpty(m.Channels), Tags: nonEmpty(m.Tags), Timestamp: jsonTime(m.CreatedAt),
		Status: int(d.Status), NextAttempt: optTime(d.NextAttempt),
	}
}

type messageAttemptOut struct {
	ID                 string      `json:"id"`
	MsgID              string      `json:"msgId"`
	EndpointID         string      `json:"endpointId"`
	URL                string      `json:"url"`
	Response           string      `json:"response"`
	ResponseStatusCode int         `json:"responseStatusCode"`
	ResponseDurationMs int64       `json:"responseDurationMs"`
	Status             int         `json:"status"`
	TriggerType        int         `json:"triggerType"`
	Timestamp          jsonTime    `json:"timestamp"`
	Msg                *messageOut `json:"msg,omitempty"`
}

// toMessageAttemptOut makes the Svix attempt object. Its response is the
// stored body decoded as UTF-8, each invalid byte replaced by U+FFFD (NUL
// stays, and is escaped in JSON): the exact bytes are at the
// .../attempt/{attempt_id}/response route.
func toMessageAttemptOut(a hookrelay.Attempt, withContent bool, msg *messageOut) messageAttemptOut {
	resp := ""
	if withContent {
		resp = hookrelay.ValidUTF8(a.Response)
	}
	return messageAttemptOut{
		ID: a.ID, MsgID: a.MsgID, EndpointID: a.EndpointID, URL: hookrelay.ValidUTF8(hookrelay.URLWithoutUserinfo(a.URL)), Response: resp,
		ResponseStatusCode: a.ResponseStatusCode, ResponseDurationMs: a.ResponseDurationMs,
		Status: int(a.Status), TriggerType: int(a.TriggerType), Timestamp: jsonTime(a.CreatedAt), Msg: msg,
	}
}

type endpointStatsOut struct {
	Success int64 `json:"success"`
	Pending int64 `json:"pending"`
	Sending int64 `json:"sending"`
	Fail    int64 `json:"fail"`
}

type endpointHeadersOut struct {
	Headers   map[string]string `json:"headers"`
	Sensitive []string          `json:"sensitive"`
}

type endpointSecretOut struct {
	Key string `json:"key"`
}

type recoverOut struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Task   string `json:"task"`
}
