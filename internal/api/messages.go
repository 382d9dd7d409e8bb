package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// messageIn is Svix's MessageIn. payloadRetentionPeriod (days) or
// payloadRetentionHours, not both, set when the message's payload expires
// (see retention); without either the server's default applies.
type messageIn struct {
	EventType              opt[string]                     `json:"eventType"`
	EventID                opt[string]                     `json:"eventId"`
	Payload                opt[json.RawMessage]            `json:"payload"`
	Channels               opt[[]string]                   `json:"channels"`
	Tags                   opt[[]string]                   `json:"tags"`
	Application            opt[applicationIn]              `json:"application"`
	PayloadRetentionPeriod opt[int64]                      `json:"payloadRetentionPeriod"`
	PayloadRetentionHours  opt[int64]                      `json:"payloadRetentionHours"`
	TransformationsParams  opt[map[string]json.RawMessage] `json:"transformationsParams"`
	DeliverAt              opt[string]                     `json:"deliverAt"`
}

// Bounds of deliverAt, as Svix documents them: at least a minute and at
// most 24 hours after the publish.
const (
	minDeliverAhead = time.Minute
	maxDeliverAhead = 24 * time.Hour
)

// deliverAt validates deliverAt against now and returns it (nil when
// absent or null): the message's deliveries are first due then.
func (in *messageIn) deliverAt(c *checker, now time.Time) *time.Time {
	if !in.DeliverAt.has() {
		return nil
	}
	at, err := time.Parse(time.RFC3339Nano, in.DeliverAt.V)
	if err != nil {
		c.add("must be an RFC 3339 date-time", "deliverAt")
		return nil
	}
	at = at.UTC().Truncate(time.Microsecond)
	if at.Before(now.Add(minDeliverAhead)) || at.After(now.Add(maxDeliverAhead)) {
		c.add(fmt.Sprintf("must be at least 1 minute and at most 24 hours in the future (the server's time is %s)",
			now.Format(time.RFC3339)), "deliverAt")
		return nil
	}
	return &at
}

// payload validates the body and returns the payload to store: the bytes of
// `payload` exactly as sent, or the text of transformationsParams.rawPayload
// when present (how the SDKs' "raw payload" helpers send a payload that
// must not be re-serialized). Either must be a JSON object.
func (in *messageIn) payload(c *checker) []byte {
	if c.required(in.EventType.Set, in.EventType.Null, "eventType") {
		c.check(checkName(in.EventType.V, 256), "eventType")
	}
	if in.EventID.has() {
		c.check(checkName(in.EventID.V, 256), "eventId")
	}
	var payload []byte
	if c.required(in.Payload.Set, in.Payload.Null, "payload") {
		if len(in.Payload.V) == 0 || in.Payload.V[0] != '{' {
			c.errs = append(c.errs, fieldError{Loc: []string{"body", "payload"}, Msg: "must be a JSON object", Type: "type_error"})
		}
		payload = in.Payload.V
	}
	if in.TransformationsParams.has() {
		if raw, ok := in.TransformationsParams.V["rawPayload"]; ok && string(raw) != "null" {
			var text string
			switch {
			case json.Unmarshal(raw, &text) != nil:
				c.add("must be a string", "transformationsParams", "rawPayload")
			case !json.Valid([]byte(text)) || !isJSONObject([]byte(text)):
				c.add("must be the text of a JSON object", "transformationsParams", "rawPayload")
			default:
				payload = []byte(text)
			}
		}
	}
	if in.Channels.has() {
		c.checkList(in.Channels.V, 1, 10, checkChannel, "channels")
	}
	if in.Tags.has() {
		c.checkList(in.Tags.V, 1, 5, checkTag, "tags")
	}
	if in.PayloadRetentionPeriod.has() && (in.PayloadRetentionPeriod.V < 1 || in.PayloadRetentionPeriod.V > 90) {
		c.add("must be between 1 and 90", "payloadRetentionPeriod")
	}
	if in.PayloadRetentionHours.has() && (in.PayloadRetentionHours.V < 1 || in.PayloadRetentionHours.V > 2160) {
		c.add("must be between 1 and 2160", "payloadRetentionHours")
	}
	if in.PayloadRetentionPeriod.has() && in.PayloadRetentionHours.has() {
		c.add("must not be given together with payloadRetentionPeriod", "payloadRetentionHours")
	}
	if in.Application.has() {
		in.Application.V.validate(c, "application")
	}
	return payload
}

// retention returns how long the message asks its payload to be kept, or
// 0 when it names no retention (the server's default then holds). Call it
// on a validated messageIn.
func (in *messageIn) retention() time.Duration {
	switch {
	case in.PayloadRetentionHours.has():
		return time.Duration(in.PayloadRetentionHours.V) * time.Hour
	case in.PayloadRetentionPeriod.has():
		return time.Duration(in.PayloadRetentionPeriod.V) * 24 * time.Hour
	}
	return 0
}

// isJSONObject reports whether valid JSON text b is an object.
func isJSONObject(b []byte) bool {
	for _, ch := range b {
		switch ch {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return ch == '{'
	}
	return false
}

// createMessage is POST /api/v1/app/{app_id}/msg: 202 with the message. The
// message and its deliveries are stored in one transaction; a taken eventId
// is 409. With deliverAt the deliveries are first due at that time
// instead of at once.
func (s *server) createMessage(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := newQuery(r)
	withContent := q.boolean("with_content", true)
	if err := q.err(); err != nil {
		return err
	}
	var in messageIn
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	var c checker
	payload := in.payload(&c)
	now := s.now()
	deliverAt := in.deliverAt(&c, now)
	if err := c.err(); err != nil {
		return err
	}
	app, cached, err := s.publishApp(r, p, in.Application)
	if err != nil {
		return err
	}
	msg := &hookrelay.Message{
		ID:        hookrelay.NewID(hookrelay.PrefixMessage),
		AppID:     app.ID,
		EventID:   in.EventID.ptr(),
		EventType: in.EventType.V,
		Payload:   payload,
		Channels:  nonEmpty(in.Channels.V),
		Tags:      nonEmpty(in.Tags.V),
		CreatedAt: now,
		DeliverAt: deliverAt,
	}
	if d := in.retention(); d > 0 {
		at := msg.CreatedAt.Add(d)
		msg.PayloadExpiresAt = &at
	}
	_, err = s.publish(r.Context(), app, store.CreateMessageParams{Message: msg})
	if cached && errors.Is(err, hookrelay.ErrNotFound) {
		// The application went away since it was cached (deleted on another
		// node, or its uid moved): look again.
		s.apps.reset()
		if app, err = s.appOrCreate(r, p, in.Application); err != nil {
			return err
		}
		msg.AppID = app.ID
		_, err = s.publish(r.Context(), app, store.CreateMessageParams{Message: msg})
	}
	if errors.Is(err, hookrelay.ErrConflict) {
		return errConflict("a message with this eventId already exists")
	}
	if err != nil {
		return err
	}
	writeMessage(w, http.StatusAccepted, toMessageOut(shapeOf(r), *msg, withContent))
	return nil
}

// message resolves the path's {msg_id} (an ID or eventId) in app.
func (s *server) message(r *http.Request, app *hookrelay.Application) (*hookrelay.Message, error) {
	msg, err := s.store.GetMessage(r.Context(), app.ID, r.PathValue("msg_id"))
	if errors.Is(err, hookrelay.ErrNotFound) {
		return nil, errNotFound("message not found")
	}
	return msg, err
}

func (s *server) appMessage(r *http.Request, p *principal) (*hookrelay.Application, *hookrelay.Message, error) {
	app, err := s.app(r, p)
	if err != nil {
		return nil, nil, err
	}
	msg, err := s.message(r, app)
	if err != nil {
		return nil, nil, err
	}
	return app, msg, nil
}

func (s *server) getMessage(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	q := newQuery(r)
	withContent := q.boolean("with_content", true)
	if err := q.err(); err != nil {
		return err
	}
	msg, err := s.message(r, app)
	if err != nil {
		return err
	}
	writeMessage(w, http.StatusOK, toMessageOut(shapeOf(r), *msg, withContent))
	return nil
}

// listMessages lists newest first, filtered by channel, tag, event_types,
// before and after.
func (s *server) listMessages(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	q := newQuery(r)
	f := readListFilters(q, false)
	withContent := q.boolean("with_content", true)
	if err := q.err(); err != nil {
		return err
	}
	params := store.ListMessagesParams{
		AppID: app.ID, Page: f.page,
		Channel: f.channel, Tag: f.tag, EventTypes: f.eventTypes, Before: f.before, After: f.after,
	}
	sh := shapeOf(r)
	return listPage(w, params.Page, hookrelay.PrefixMessage, func(page store.Page) ([]hookrelay.Message, error) {
		params.Page = page
		return s.store.ListMessages(r.Context(), params)
	}, func(m hookrelay.Message) string { return m.ID },
		func(m hookrelay.Message) messageOut { return toMessageOut(sh, m, withContent) })
}

// expungeMessageContent drops the payload; the message reads back with {}.
func (s *server) expungeMessageContent(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, msg, err := s.appMessage(r, p)
	if err != nil {
		return err
	}
	if err := s.store.ExpungeMessageContent(r.Context(), app.ID, msg.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
