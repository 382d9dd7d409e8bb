package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
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

// listPage lists one page and writes it: it asks list for one row more
// than page.Limit, which writeList drops after learning from it that more
// follow, and writes the rest converted by conv, the last one's key as the
// iterator. The keys are IDs with prefix (or, with prefix "", checked by
// the caller): an iterator that is not one is 422, since a listing would
// read a position it never gave as a wrong page. An error is returned,
// with nothing written.
func listPage[R, T any](w http.ResponseWriter, page store.Page, prefix string, list func(store.Page) ([]R, error), key func(R) string, conv func(R) T) error {
	if prefix != "" && page.Iterator != "" && !hookrelay.IsID(prefix, page.Iterator) {
		return validationError{{Loc: []string{"query", "iterator"},
			Msg: "is not an iterator of this listing (an ID starting " + prefix + ")", Type: "value_error"}}
	}
	limit := page.Limit
	page.Limit++
	rows, err := list(page)
	if err != nil {
		return err
	}
	writeList(w, rows, limit, key, conv)
	return nil
}

type applicationOut struct {
	UID          *string           `json:"uid,omitempty"`
	Name         string            `json:"name"`
	RateLimit    *int              `json:"rateLimit,omitempty"`
	ThrottleRate *int              `json:"throttleRate,omitempty"`
	ID           string            `json:"id"`
	Metadata     map[string]string `json:"metadata"`
	CreatedAt    jsonTime          `json:"createdAt"`
	UpdatedAt    jsonTime          `json:"updatedAt"`
}

// rates returns the rate limit under the names sh has: rateLimit (up to
// 1.x), throttleRate (after 1.44).
func rates(sh shape, v *int) (rateLimit, throttleRate *int) {
	switch sh {
	case shapeV1_44:
		return v, nil
	case shapeV1, shapeBrowser:
		return v, v
	}
	return nil, v
}

func toApplicationOut(sh shape) func(hookrelay.Application) applicationOut {
	return func(a hookrelay.Application) applicationOut {
		md := a.Metadata
		if md == nil {
			md = map[string]string{}
		}
		out := applicationOut{
			UID: a.UID, Name: a.Name, ID: a.ID, Metadata: md,
			CreatedAt: jsonTime(a.CreatedAt), UpdatedAt: jsonTime(a.UpdatedAt),
		}
		out.RateLimit, out.ThrottleRate = rates(sh, a.RateLimit)
		return out
	}
}

type eventTypeOut struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Archived    bool            `json:"archived"`
	Deprecated  bool            `json:"deprecated"`
	Schemas     json.RawMessage `json:"schemas,omitempty"`
	FeatureFlag *string         `json:"featureFlag,omitempty"`
	// FeatureFlags is absent from the v1.44.0 shape.
	FeatureFlags []string `json:"featureFlags,omitempty"`
	GroupName    *string  `json:"groupName,omitempty"`
	CreatedAt    jsonTime `json:"createdAt"`
	UpdatedAt    jsonTime `json:"updatedAt"`
}

func toEventTypeOut(sh shape, et hookrelay.EventType, withContent bool) eventTypeOut {
	out := eventTypeOut{
		Name: et.Name, Description: et.Description, Archived: et.Archived, Deprecated: et.Deprecated,
		FeatureFlag: et.FeatureFlag, GroupName: et.GroupName,
		CreatedAt: jsonTime(et.CreatedAt), UpdatedAt: jsonTime(et.UpdatedAt),
	}
	if et.FeatureFlag != nil && sh != shapeV1_44 {
		out.FeatureFlags = []string{*et.FeatureFlag}
	}
	if withContent && len(et.Schemas) > 0 && string(et.Schemas) != "null" {
		out.Schemas = et.Schemas
	}
	return out
}

type endpointOut struct {
	ID           string            `json:"id"`
	UID          *string           `json:"uid,omitempty"`
	URL          string            `json:"url"`
	Description  string            `json:"description"`
	Version      *int              `json:"version,omitempty"`
	RateLimit    *int              `json:"rateLimit,omitempty"`
	ThrottleRate *int              `json:"throttleRate,omitempty"`
	FilterTypes  []string          `json:"filterTypes,omitempty"`
	EventTypes   []string          `json:"eventTypes,omitempty"`
	Channels     []string          `json:"channels,omitempty"`
	Disabled     bool              `json:"disabled"`
	Metadata     map[string]string `json:"metadata"`
	CreatedAt    jsonTime          `json:"createdAt"`
	UpdatedAt    jsonTime          `json:"updatedAt"`
}

// endpointFields are the fields an endpoint's objects name differently
// by shape: the 1.x documents have version, filterTypes and rateLimit (and
// throttleRate after 1.44); the current one eventTypes and throttleRate;
// shapeBrowser all of them.
type endpointFields struct {
	version                 *int
	rateLimit, throttleRate *int
	filterTypes, eventTypes []string
}

func endpointFieldsOf(sh shape, e hookrelay.Endpoint) endpointFields {
	var f endpointFields
	f.rateLimit, f.throttleRate = rates(sh, e.RateLimit)
	if sh == shapeCurrent || sh == shapeBrowser {
		f.eventTypes = nonEmpty(e.FilterTypes)
	}
	if sh == shapeCurrent {
		return f
	}
	v := versionOf(e)
	f.version = &v
	f.filterTypes = nonEmpty(e.FilterTypes)
	return f
}

func toEndpointOut(sh shape) func(hookrelay.Endpoint) endpointOut {
	return func(e hookrelay.Endpoint) endpointOut {
		md := e.Metadata
		if md == nil {
			md = map[string]string{}
		}
		f := endpointFieldsOf(sh, e)
		return endpointOut{
			ID: e.ID, UID: e.UID, URL: hookrelay.URLWithoutUserinfo(e.URL), Description: e.Description, Version: f.version,
			RateLimit: f.rateLimit, ThrottleRate: f.throttleRate, FilterTypes: f.filterTypes, EventTypes: f.eventTypes,
			Channels: nonEmpty(e.Channels), Disabled: e.Disabled, Metadata: md,
			CreatedAt: jsonTime(e.CreatedAt), UpdatedAt: jsonTime(e.UpdatedAt),
		}
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
	ID           string    `json:"id"`
	UID          *string   `json:"uid,omitempty"`
	URL          string    `json:"url"`
	Description  string    `json:"description"`
	Version      *int      `json:"version,omitempty"`
	RateLimit    *int      `json:"rateLimit,omitempty"`
	ThrottleRate *int      `json:"throttleRate,omitempty"`
	FilterTypes  []string  `json:"filterTypes,omitempty"`
	EventTypes   []string  `json:"eventTypes,omitempty"`
	Channels     []string  `json:"channels,omitempty"`
	Disabled     bool      `json:"disabled"`
	Status       int       `json:"status"`
	StatusText   *string   `json:"statusText,omitempty"`
	NextAttempt  *jsonTime `json:"nextAttempt,omitempty"`
	CreatedAt    jsonTime  `json:"createdAt"`
	UpdatedAt    jsonTime  `json:"updatedAt"`
}

func toMessageEndpointOut(sh shape, e hookrelay.Endpoint, d hookrelay.Delivery) messageEndpointOut {
	f := endpointFieldsOf(sh, e)
	return messageEndpointOut{
		ID: e.ID, UID: e.UID, URL: hookrelay.URLWithoutUserinfo(e.URL), Description: e.Description, Version: f.version,
		RateLimit: f.rateLimit, ThrottleRate: f.throttleRate, FilterTypes: f.filterTypes, EventTypes: f.eventTypes,
		Channels: nonEmpty(e.Channels), Disabled: e.Disabled,
		Status: statusOut(sh, d.Status), StatusText: statusText(sh, int(d.Status)), NextAttempt: optTime(d.NextAttempt),
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
	DeliverAt *jsonTime       `json:"deliverAt,omitempty"`
}

// payloadOut returns what a response shows of a stored payload.
func payloadOut(p []byte, withContent bool) json.RawMessage {
	if !withContent || len(p) == 0 {
		return emptyObject
	}
	return json.RawMessage(p)
}

func toMessageOut(sh shape, m hookrelay.Message, withContent bool) messageOut {
	return messageOut{
		ID: m.ID, EventID: m.EventID, EventType: m.EventType, Payload: payloadOut(m.Payload, withContent),
		Channels: nonEmpty(m.Channels), Tags: nonEmpty(m.Tags), Timestamp: jsonTime(m.CreatedAt),
		DeliverAt: deliverAtOut(sh, m),
	}
}

// deliverAtOut is a message's deliverAt, in the shapes that have it.
func deliverAtOut(sh shape, m hookrelay.Message) *jsonTime {
	if sh == shapeV1_44 {
		return nil
	}
	return optTime(m.DeliverAt)
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
	StatusText  *string         `json:"statusText,omitempty"`
	NextAttempt *jsonTime       `json:"nextAttempt,omitempty"`
	DeliverAt   *jsonTime       `json:"deliverAt,omitempty"`
}

func toEndpointMessageOut(sh shape, m hookrelay.Message, d hookrelay.Delivery, withContent bool) endpointMessageOut {
	return endpointMessageOut{
		ID: m.ID, EventID: m.EventID, EventType: m.EventType, Payload: payloadOut(m.Payload, withContent),
		Channels: nonEmpty(m.Channels), Tags: nonEmpty(m.Tags), Timestamp: jsonTime(m.CreatedAt),
		Status: statusOut(sh, d.Status), StatusText: statusText(sh, int(d.Status)), NextAttempt: optTime(d.NextAttempt),
		DeliverAt: deliverAtOut(sh, m),
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
	StatusText         *string     `json:"statusText,omitempty"`
	TriggerType        int         `json:"triggerType"`
	Timestamp          jsonTime    `json:"timestamp"`
	Msg                *messageOut `json:"msg,omitempty"`
}

// toMessageAttemptOut makes the Svix attempt object. Its response is the
// stored body decoded as UTF-8, each invalid byte replaced by U+FFFD (NUL
// stays, and is escaped in JSON): the exact bytes are at the
// .../attempt/{attempt_id}/response route.
func toMessageAttemptOut(sh shape, a hookrelay.Attempt, withContent bool, msg *messageOut) messageAttemptOut {
	resp := ""
	if withContent {
		resp = hookrelay.ValidUTF8(a.Response)
	}
	return messageAttemptOut{
		ID: a.ID, MsgID: a.MsgID, EndpointID: a.EndpointID, URL: hookrelay.ValidUTF8(hookrelay.URLWithoutUserinfo(a.URL)), Response: resp,
		ResponseStatusCode: a.ResponseStatusCode, ResponseDurationMs: a.ResponseDurationMs,
		Status: int(a.Status), StatusText: statusText(sh, int(a.Status)), TriggerType: int(a.TriggerType), Timestamp: jsonTime(a.CreatedAt), Msg: msg,
	}
}

type endpointStatsOut struct {
	Success int64 `json:"success"`
	Pending int64 `json:"pending"`
	Sending int64 `json:"sending"`
	Fail    int64 `json:"fail"`
	// Canceled is absent from the v1.44.0 shape. hookrelay cancels no
	// delivery, so it is 0.
	Canceled *int64 `json:"canceled,omitempty"`
}

type endpointHeadersOut struct {
	Headers   map[string]string `json:"headers"`
	Sensitive []string          `json:"sensitive"`
}

type endpointSecretOut struct {
	Key string `json:"key"`
}

// recoverOut is RecoverOut and ReplayOut; updatedAt is absent from the
// v1.44.0 shape.
type recoverOut struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	Task      string    `json:"task"`
	UpdatedAt *jsonTime `json:"updatedAt,omitempty"`
}

// updatedAtOut is a task's updatedAt in the shapes that have it.
func updatedAtOut(sh shape, t time.Time) *jsonTime {
	if sh == shapeV1_44 {
		return nil
	}
	jt := jsonTime(t)
	return &jt
}

// statusOut is a delivery's MessageStatus as sh knows it: the v1.44.0
// document has no Canceled (4), which the Go SDK v1.44.0 refuses to
// decode, so a canceled delivery reads as failed (2) there; its statusText
// elsewhere says "canceled".
func statusOut(sh shape, status hookrelay.MessageStatus) int {
	if sh == shapeV1_44 && status == hookrelay.StatusCanceled {
		return int(hookrelay.StatusFail)
	}
	return int(status)
}
