package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// eventTypeIn covers Svix's EventTypeIn (with name), EventTypeUpdate and
// EventTypePatch, and the newer EventTypeUpsertIn. featureFlags is the
// newer form of featureFlag: hookrelay keeps one flag per event type, so
// it takes a list of one (see alias; validate leaves it in FeatureFlag).
type eventTypeIn struct {
	Name         opt[string]          `json:"name"`
	Description  opt[string]          `json:"description"`
	Archived     opt[bool]            `json:"archived"`
	Deprecated   opt[bool]            `json:"deprecated"`
	FeatureFlag  opt[string]          `json:"featureFlag"`
	FeatureFlags opt[[]string]        `json:"featureFlags"`
	GroupName    opt[string]          `json:"groupName"`
	Schemas      opt[json.RawMessage] `json:"schemas"`
}

// validate checks the fields shared by create, update and patch;
// descriptionRequired is false for patch.
func (in *eventTypeIn) validate(c *checker, descriptionRequired bool) {
	if descriptionRequired {
		c.required(in.Description.Set, in.Description.Null, "description")
	} else {
		c.notNull(in.Description.Set, in.Description.Null, "description")
	}
	c.notNull(in.Archived.Set, in.Archived.Null, "archived")
	c.notNull(in.Deprecated.Set, in.Deprecated.Null, "deprecated")
	if in.FeatureFlag.has() {
		c.check(checkName(in.FeatureFlag.V, 256), "featureFlag")
	}
	if in.FeatureFlags.Set {
		flags := opt[string]{Set: true, Null: true}
		switch n := len(in.FeatureFlags.V); {
		case in.FeatureFlags.Null:
		case n == 1:
			c.check(checkName(in.FeatureFlags.V[0], 256), "featureFlags", "0")
			flags = opt[string]{Set: true, V: in.FeatureFlags.V[0]}
		case n == 0:
			c.add("must have at least 1 item, or be null", "featureFlags")
		default:
			c.add("hookrelay keeps one feature flag per event type: give at most one", "featureFlags")
		}
		in.FeatureFlag = alias(c, flags, "featureFlags", in.FeatureFlag, "featureFlag")
	}
	if in.GroupName.has() {
		c.check(checkName(in.GroupName.V, 256), "groupName")
	}
	if in.Schemas.has() && (len(in.Schemas.V) == 0 || in.Schemas.V[0] != '{') {
		c.errs = append(c.errs, fieldError{Loc: []string{"body", "schemas"}, Msg: "must be an object", Type: "type_error"})
	}
}

// schemas returns the schemas to store (nil when absent or null).
func (in *eventTypeIn) schemas() json.RawMessage {
	if !in.Schemas.has() {
		return nil
	}
	return in.Schemas.V
}

// apply writes every field of a create or update body onto et.
func (in *eventTypeIn) apply(et *hookrelay.EventType) {
	et.Description = in.Description.V
	et.Archived = in.Archived.V
	et.Deprecated = in.Deprecated.V
	et.FeatureFlag = in.FeatureFlag.ptr()
	et.GroupName = in.GroupName.ptr()
	et.Schemas = in.schemas()
}

func (s *server) eventType(r *http.Request, p *principal) (*hookrelay.EventType, error) {
	et, err := s.store.GetEventType(r.Context(), p.envID, r.PathValue("event_type_name"))
	if errors.Is(err, hookrelay.ErrNotFound) {
		return nil, errNotFound("event type not found")
	}
	return et, err
}

// listEventTypes leaves archived types out unless include_archived=true and
// schemas out unless with_content=true.
func (s *server) listEventTypes(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := newQuery(r)
	page := q.page(true)
	if page.Iterator != "" {
		if msg := checkName(page.Iterator, 256); msg != "" {
			q.fail("iterator", msg)
		}
	}
	includeArchived := q.boolean("include_archived", false)
	withContent := q.boolean("with_content", false)
	if err := q.err(); err != nil {
		return err
	}
	list := func(page store.Page) ([]hookrelay.EventType, error) {
		return s.store.ListEventTypes(r.Context(), p.envID, includeArchived, page)
	}
	sh := shapeOf(r)
	return listPage(w, page, "", list, func(et hookrelay.EventType) string { return et.Name },
		func(et hookrelay.EventType) eventTypeOut { return toEventTypeOut(sh, et, withContent) })
}

// createEventType is POST /api/v1/event-type. Creating over an archived
// event type of the same name replaces it (that is how Svix unarchives);
// over a live one it is a conflict.
func (s *server) createEventType(w http.ResponseWriter, r *http.Request, p *principal) error {
	var in eventTypeIn
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	var c checker
	if c.required(in.Name.Set, in.Name.Null, "name") {
		c.check(checkName(in.Name.V, 256), "name")
	}
	in.validate(&c, true)
	if err := c.err(); err != nil {
		return err
	}
	existing, err := s.store.GetEventType(r.Context(), p.envID, in.Name.V)
	switch {
	case err == nil && !existing.Archived:
		return errConflict("an event type with this name already exists")
	case err == nil:
		in.apply(existing)
		existing.UpdatedAt = s.now()
		if err := s.store.UpdateEventType(r.Context(), existing); err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, toEventTypeOut(shapeOf(r), *existing, true))
		return nil
	case !errors.Is(err, hookrelay.ErrNotFound):
		return err
	}
	et := s.newEventType(p, in.Name.V, &in)
	if err := s.store.CreateEventType(r.Context(), et); err != nil {
		if errors.Is(err, hookrelay.ErrConflict) {
			return errConflict("an event type with this name already exists")
		}
		return err
	}
	writeJSON(w, http.StatusCreated, toEventTypeOut(shapeOf(r), *et, true))
	return nil
}

func (s *server) newEventType(p *principal, name string, in *eventTypeIn) *hookrelay.EventType {
	now := s.now()
	et := &hookrelay.EventType{EnvID: p.envID, Name: name, CreatedAt: now, UpdatedAt: now}
	in.apply(et)
	return et
}

func (s *server) getEventType(w http.ResponseWriter, r *http.Request, p *principal) error {
	et, err := s.eventType(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toEventTypeOut(shapeOf(r), *et, true))
	return nil
}

// updateEventType is PUT /api/v1/event-type/{event_type_name}: it replaces
// every field, or creates the event type (201).
func (s *server) updateEventType(w http.ResponseWriter, r *http.Request, p *principal) error {
	var in eventTypeIn
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	var c checker
	in.validate(&c, true)
	if err := c.err(); err != nil {
		return err
	}
	et, err := s.eventType(r, p)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) || ae.status != http.StatusNotFound {
			return err
		}
		name := r.PathValue("event_type_name")
		if msg := checkName(name, 256); msg != "" {
			return validationError{{Loc: []string{"path", "event_type_name"}, Msg: msg, Type: "value_error"}}
		}
		et = s.newEventType(p, name, &in)
		if err := s.store.CreateEventType(r.Context(), et); err != nil {
			if errors.Is(err, hookrelay.ErrConflict) {
				return errConflict("an event type with this name already exists")
			}
			return err
		}
		writeJSON(w, http.StatusCreated, toEventTypeOut(shapeOf(r), *et, true))
		return nil
	}
	in.apply(et)
	et.UpdatedAt = s.now()
	if err := s.store.UpdateEventType(r.Context(), et); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toEventTypeOut(shapeOf(r), *et, true))
	return nil
}

// patchEventType changes the fields present; null featureFlag, groupName
// or schemas removes them.
func (s *server) patchEventType(w http.ResponseWriter, r *http.Request, p *principal) error {
	var in eventTypeIn
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	var c checker
	in.validate(&c, false)
	if err := c.err(); err != nil {
		return err
	}
	et, err := s.eventType(r, p)
	if err != nil {
		return err
	}
	if in.Description.has() {
		et.Description = in.Description.V
	}
	if in.Archived.has() {
		et.Archived = in.Archived.V
	}
	if in.Deprecated.has() {
		et.Deprecated = in.Deprecated.V
	}
	if in.FeatureFlag.Set {
		et.FeatureFlag = in.FeatureFlag.ptr()
	}
	if in.GroupName.Set {
		et.GroupName = in.GroupName.ptr()
	}
	if in.Schemas.Set {
		et.Schemas = in.schemas()
	}
	et.UpdatedAt = s.now()
	if err := s.store.UpdateEventType(r.Context(), et); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toEventTypeOut(shapeOf(r), *et, true))
	return nil
}

// deleteEventType archives the event type, or deletes it with
// expunge=true.
func (s *server) deleteEventType(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := newQuery(r)
	expunge := q.boolean("expunge", false)
	if err := q.err(); err != nil {
		return err
	}
	et, err := s.eventType(r, p)
	if err != nil {
		return err
	}
	if expunge {
		err = s.store.DeleteEventType(r.Context(), p.envID, et.Name)
	} else if !et.Archived {
		et.Archived = true
		et.UpdatedAt = s.now()
		err = s.store.UpdateEventType(r.Context(), et)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
