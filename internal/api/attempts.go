package api

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// listFilters are the query's filters of the listings of messages,
// attempts and an endpoint's messages.
type listFilters struct {
	page          store.Page
	channel, tag  string
	eventTypes    []string
	before, after *time.Time
	status        *hookrelay.MessageStatus // only withStatus
}

// readListFilters reads limit and iterator, channel, tag, event_types,
// before, after and, withStatus, status (a message status, 0 to 3), in
// this order, which is the order of their problems in the answer.
func readListFilters(q *query, withStatus bool) listFilters {
	f := listFilters{
		page:       q.page(false),
		channel:    q.pattern("channel", checkChannel),
		tag:        q.pattern("tag", checkTag),
		eventTypes: q.eventTypes(),
		before:     ceilMicro(q.timestamp("before")),
		after:      q.timestamp("after"),
	}
	if !withStatus {
		return f
	}
	if st := q.intEnum("status", 0, 1, 2, 3); st != nil {
		ms := hookrelay.MessageStatus(*st)
		f.status = &ms
	}
	return f
}

// attemptQuery is what an attempt listing reads from its query.
type attemptQuery struct {
	params      store.ListAttemptsParams // without the path's IDs
	withContent bool
	withMsg     bool
}

// readAttemptQuery reads, in this order (that of their problems in the
// answer), the filters (readListFilters with status), status_code_class,
// with_content (default true) and, withMsg, with_msg (default false).
// requireStatus refuses a query without status.
func readAttemptQuery(q *query, requireStatus, withMsg bool) attemptQuery {
	f := readListFilters(q, true)
	aq := attemptQuery{params: store.ListAttemptsParams{
		Page: f.page, Status: f.status, Channel: f.channel, Tag: f.tag, EventTypes: f.eventTypes, Before: f.before, After: f.after,
		StatusCodeClass: q.intEnum("status_code_class", 0, 100, 200, 300, 400, 500),
	}}
	if requireStatus && q.v.Get("status") == "" {
		q.fail("status", "is required: 0 (succeeded), 1 (pending), 2 (failed) or 3 (sending)")
	}
	aq.withContent = q.boolean("with_content", true)
	if withMsg {
		aq.withMsg = q.boolean("with_msg", false)
	}
	return aq
}

// writeAttempts writes a page of the attempts aq asks for; with_msg embeds
// each attempt's message (left out when it is gone), read once per message
// on the page.
func (s *server) writeAttempts(w http.ResponseWriter, r *http.Request, aq attemptQuery) error {
	sh := shapeOf(r)
	params := aq.params
	limit := params.Page.Limit
	msgs := map[string]*messageOut{}
	return listPage(w, params.Page, hookrelay.PrefixAttempt, func(page store.Page) ([]hookrelay.Attempt, error) {
		params.Page = page
		atts, err := s.store.ListAttempts(r.Context(), params)
		if err != nil || !aq.withMsg {
			return atts, err
		}
		for _, a := range atts[:min(len(atts), limit)] {
			if _, ok := msgs[a.MsgID]; ok {
				continue
			}
			m, err := s.store.GetMessage(r.Context(), params.AppID, a.MsgID)
			if errors.Is(err, hookrelay.ErrNotFound) {
				msgs[a.MsgID] = nil
				continue
			}
			if err != nil {
				return nil, err
			}
			out := toMessageOut(sh, *m, aq.withContent)
			msgs[a.MsgID] = &out
		}
		return atts, nil
	}, func(a hookrelay.Attempt) string { return a.ID },
		func(a hookrelay.Attempt) messageAttemptOut {
			return toMessageAttemptOut(sh, a, aq.withContent, msgs[a.MsgID])
		})
}

// listAttemptsByEndpoint is GET /api/v1/app/{app_id}/attempt/endpoint/{endpoint_id}.
func (s *server) listAttemptsByEndpoint(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	q := newQuery(r)
	aq := readAttemptQuery(q, false, true)
	if err := q.err(); err != nil {
		return err
	}
	ep, err := s.endpoint(r, app)
	if err != nil {
		return err
	}
	aq.params.AppID, aq.params.EndpointID = app.ID, ep.ID
	return s.writeAttempts(w, r, aq)
}

// appAttemptParams are the query parameters of listAttemptsByApp: those of
// Svix's list-by-endpoint that apply without an endpoint.
var appAttemptParams = []string{"limit", "iterator", "status", "status_code_class", "channel", "tag",
	"before", "after", "with_content", "with_msg", "event_types"}

// listAttemptsByApp is GET /api/v1/app/{app_id}/attempt, a hookrelay
// extension: the application's attempts of one status across all its
// endpoints, newest first, with the filters and answer of Svix's
// list-by-endpoint. status is required (the store reads failed ones from
// one index range, succeeded ones endpoint by endpoint); any parameter
// it does not take is refused rather than ignored, since Svix has no such
// route to say what one would mean.
func (s *server) listAttemptsByApp(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	q := newQuery(r)
	q.only(appAttemptParams, map[string]string{
		"endpoint_id": "is not a parameter of this route: list one endpoint's attempts at /api/v1/app/{app_id}/attempt/endpoint/{endpoint_id}",
	})
	aq := readAttemptQuery(q, true, true)
	if err := q.err(); err != nil {
		return err
	}
	aq.params.AppID = app.ID
	return s.writeAttempts(w, r, aq)
}

// listAttemptsByMsg is GET /api/v1/app/{app_id}/attempt/msg/{msg_id}; the
// endpoint_id filter takes an endpoint ID or uid (unknown: 404).
func (s *server) listAttemptsByMsg(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	q := newQuery(r)
	aq := readAttemptQuery(q, false, false)
	endpointID := q.pattern("endpoint_id", checkUID)
	if err := q.err(); err != nil {
		return err
	}
	msg, err := s.message(r, app)
	if err != nil {
		return err
	}
	aq.params.AppID, aq.params.MsgID = app.ID, msg.ID
	if endpointID != "" {
		ep, err := s.endpointByID(r, app, endpointID)
		if err != nil {
			return err
		}
		aq.params.EndpointID = ep.ID
	}
	return s.writeAttempts(w, r, aq)
}

// attempt resolves the path's app, message and {attempt_id} of that
// message (404 when any is missing).
func (s *server) attempt(r *http.Request, p *principal) (*hookrelay.Attempt, error) {
	app, msg, err := s.appMessage(r, p)
	if err != nil {
		return nil, err
	}
	a, err := s.store.GetAttempt(r.Context(), app.ID, msg.ID, r.PathValue("attempt_id"))
	if errors.Is(err, hookrelay.ErrNotFound) {
		return nil, errNotFound("attempt not found")
	}
	return a, err
}

func (s *server) getAttempt(w http.ResponseWriter, r *http.Request, p *principal) error {
	a, err := s.attempt(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toMessageAttemptOut(shapeOf(r), *a, true, nil))
	return nil
}

// getAttemptResponse is GET .../msg/{msg_id}/attempt/{attempt_id}/response,
// a hookrelay extension: the attempt's stored response body, exactly the
// bytes received (cut to the body limit), as application/octet-stream. The
// attempt object's response field is only a UTF-8 view of them. A failure
// reason stored in place of a body is answered the same way; an expunged
// body is empty.
func (s *server) getAttemptResponse(w http.ResponseWriter, r *http.Request, p *principal) error {
	a, err := s.attempt(r, p)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(a.Response)))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, a.Response)
	return nil
}

// expungeAttemptContent drops the stored response body of an attempt.
func (s *server) expungeAttemptContent(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, msg, err := s.appMessage(r, p)
	if err != nil {
		return err
	}
	err = s.store.ExpungeAttemptContent(r.Context(), app.ID, msg.ID, r.PathValue("attempt_id"))
	if errors.Is(err, hookrelay.ErrNotFound) {
		return errNotFound("attempt not found")
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listAttemptedMessages is GET .../endpoint/{endpoint_id}/msg: the messages
// queued for the endpoint with their delivery status.
func (s *server) listAttemptedMessages(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	q := newQuery(r)
	f := readListFilters(q, true)
	withContent := q.boolean("with_content", true)
	if err := q.err(); err != nil {
		return err
	}
	ep, err := s.endpoint(r, app)
	if err != nil {
		return err
	}
	params := store.ListDeliveriesParams{
		AppID: app.ID, EndpointID: ep.ID, Page: f.page, Status: f.status,
		Channel: f.channel, Tag: f.tag, EventTypes: f.eventTypes, Before: f.before, After: f.after,
	}
	sh := shapeOf(r)
	return listPage(w, params.Page, hookrelay.PrefixMessage, func(page store.Page) ([]store.EndpointMessage, error) {
		params.Page = page
		return s.store.ListEndpointMessages(r.Context(), params)
	}, func(m store.EndpointMessage) string { return m.Message.ID },
		func(m store.EndpointMessage) endpointMessageOut {
			return toEndpointMessageOut(sh, m.Message, m.Delivery, withContent)
		})
}

// listAttemptedDestinations is GET .../msg/{msg_id}/endpoint: the endpoints
// the message was queued for with their delivery status.
func (s *server) listAttemptedDestinations(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	q := newQuery(r)
	page := q.page(false)
	if err := q.err(); err != nil {
		return err
	}
	msg, err := s.message(r, app)
	if err != nil {
		return err
	}
	sh := shapeOf(r)
	return listPage(w, page, hookrelay.PrefixEndpoint, func(page store.Page) ([]store.MessageDestination, error) {
		return s.store.ListMessageDestinations(r.Context(), store.ListDeliveriesParams{AppID: app.ID, MsgID: msg.ID, Page: page})
	}, func(d store.MessageDestination) string { return d.Endpoint.ID },
		func(d store.MessageDestination) messageEndpointOut {
			return toMessageEndpointOut(sh, d.Endpoint, d.Delivery)
		})
}

// resend is POST .../msg/{msg_id}/endpoint/{endpoint_id}/resend: the
// message is delivered to the endpoint again now (202). A message whose
// payload was expunged cannot be resent (400).
func (s *server) resend(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, msg, err := s.appMessage(r, p)
	if err != nil {
		return err
	}
	ep, err := s.endpoint(r, app)
	if err != nil {
		return err
	}
	if msg.Payload == nil {
		return errBadRequest("the message's payload was expunged; it cannot be resent")
	}
	if err := s.store.Resend(r.Context(), app.ID, msg.ID, ep.ID, s.now()); err != nil {
		return err
	}
	s.wake()
	writeJSON(w, http.StatusAccepted, struct{}{})
	return nil
}
