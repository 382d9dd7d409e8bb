package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The testing page: send a test event of a catalog type to one endpoint,
// with the type's example payload or one the user edits, and watch its
// attempts arrive. The result is a fragment of its own
// (/portal/testing/result) that testing.js fetches again until the
// delivery is settled; without JavaScript a link reloads the page.

type testingData struct {
	Endpoints  []actEndpoint
	EventTypes []actEventType
	Endpoint   string
	EventType  string
	Payload    string
	Errors     map[string]string
	Error      string
	// ResultPath is the result fragment's path, once a test was sent.
	ResultPath string
	SelfPath   string
	Result     *testResult
}

// EndpointName names the chosen endpoint.
func (d *testingData) EndpointName() string {
	for _, e := range d.Endpoints {
		if e.ID == d.Endpoint {
			return e.Name()
		}
	}
	return d.Endpoint
}

// testResult is what became of a test event so far.
type testResult struct {
	MsgID       string
	Destination *actDestination
	Attempts    []actAttempt
	// Settled: the delivery succeeded or failed for good, so the result
	// will not change by itself.
	Settled bool
}

// testRetryWatch: a result whose next retry is further off than this is
// not polled for.
const testRetryWatch = time.Minute

// testingPage is GET /portal/testing.
func (p *Portal) testingPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	q := r.URL.Query()
	d := &testingData{Endpoint: q.Get("endpoint"), EventType: q.Get("event_type"), Errors: map[string]string{}}
	if err := p.loadTesting(r.Context(), s, d); err != nil {
		return err
	}
	if d.EventType == "" && len(d.EventTypes) > 0 {
		d.EventType = d.EventTypes[0].Name
	}
	if d.EventType != "" {
		var et actEventType
		err := p.call(r.Context(), s, "GET", "/api/v1/event-type/"+url.PathEscape(d.EventType), nil, &et)
		var ae *APIError
		switch {
		case err == nil:
			d.Payload = et.example()
		case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
			d.Errors["event_type"] = "no such event type"
		default:
			return err
		}
	}
	if msg := q.Get("msg"); msg != "" && d.Endpoint != "" {
		res, err := p.testResult(r.Context(), s, msg, d.Endpoint)
		if err != nil {
			return err
		}
		d.Result = res
		d.ResultPath = "/portal/testing/result?" + url.Values{"msg": {msg}, "endpoint": {d.Endpoint}}.Encode()
		d.SelfPath = "/portal/testing?" + url.Values{"msg": {msg}, "endpoint": {d.Endpoint}, "event_type": {d.EventType}}.Encode()
	}
	p.render(w, r, s, "testing", "Testing", d)
	return nil
}

func (p *Portal) loadTesting(ctx context.Context, s *Session, d *testingData) error {
	var err error
	if d.Endpoints, err = p.endpointsOf(ctx, s); err != nil {
		return err
	}
	if d.EventTypes, err = p.eventTypesOf(ctx, s); err != nil {
		return err
	}
	if d.Endpoint == "" && len(d.Endpoints) > 0 {
		d.Endpoint = d.Endpoints[0].ID
	}
	return nil
}

// testingSend is POST /portal/testing: the API publishes the test event to
// the endpoint alone (send-example with an empty payload, send-test with
// the given one), then the page shows its result.
func (p *Portal) testingSend(w http.ResponseWriter, r *http.Request, s *Session) error {
	ctx := r.Context()
	d := &testingData{
		Endpoint: r.PostFormValue("endpoint"), EventType: r.PostFormValue("event_type"),
		Payload: r.PostFormValue("payload"), Errors: map[string]string{},
	}
	if d.Endpoint == "" {
		d.Errors["endpoint"] = "choose an endpoint"
	}
	if d.EventType == "" {
		d.Errors["event_type"] = "choose an event type"
	}
	payload := bytes.TrimSpace([]byte(d.Payload))
	if len(payload) > 0 && !json.Valid(payload) {
		d.Errors["payload"] = "must be JSON: an object such as {\"id\": 1}"
	}
	if len(d.Errors) == 0 {
		var msg actMessage
		var err error
		if len(payload) == 0 {
			err = p.call(ctx, s, "POST", appPath(s.AppID, "endpoint", d.Endpoint, "send-example"),
				map[string]any{"eventType": d.EventType, "exampleIndex": 0}, &msg)
		} else {
			err = p.call(ctx, s, "POST", appPath(s.AppID, "endpoint", d.Endpoint, "send-test"),
				map[string]any{"eventType": d.EventType, "payload": json.RawMessage(payload)}, &msg)
		}
		var ae *APIError
		switch {
		case err == nil:
			p.redirect(w, r, s, "/portal/testing?"+url.Values{
				"endpoint": {d.Endpoint}, "event_type": {d.EventType}, "msg": {msg.ID},
			}.Encode())
			return nil
		case errors.As(err, &ae) && ae.Status == http.StatusUnprocessableEntity:
			for _, fe := range ae.Fields {
				switch name := fe.Name(); name {
				case "eventType", "exampleIndex":
					d.Errors["event_type"] = fe.Msg
				case "payload":
					d.Errors["payload"] = fe.Msg
				default:
					d.Error = strings.TrimSpace(d.Error + " " + name + ": " + fe.Msg)
				}
			}
		case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
			d.Errors["endpoint"] = ae.Detail
		default:
			return err
		}
	}
	if err := p.loadTesting(ctx, s, d); err != nil {
		return err
	}
	p.renderStatus(w, r, s, http.StatusUnprocessableEntity, "testing", "Testing", d)
	return nil
}

// testResult reads the test message's delivery to the endpoint and its
// attempts, newest first.
func (p *Portal) testResult(ctx context.Context, s *Session, msgID, endpointID string) (*testResult, error) {
	res := &testResult{MsgID: msgID}
	var dests actList[actDestination]
	if err := p.call(ctx, s, "GET", appPath(s.AppID, "msg", msgID, "endpoint")+"?limit=250", nil, &dests); err != nil {
		return nil, err
	}
	for i := range dests.Data {
		if dests.Data[i].ID == endpointID {
			res.Destination = &dests.Data[i]
		}
	}
	var atts actList[actAttempt]
	q := url.Values{"endpoint_id": {endpointID}, "limit": {"10"}}
	if err := p.call(ctx, s, "GET", appPath(s.AppID, "attempt", "msg", msgID)+"?"+q.Encode(), nil, &atts); err != nil {
		return nil, err
	}
	res.Attempts = atts.Data
	if d := res.Destination; d != nil && len(res.Attempts) > 0 {
		// Done, or waiting for a retry too far off to watch for.
		res.Settled = d.Status == 0 || d.Status == 2 ||
			(d.Status == 1 && d.NextAttempt != nil && d.NextAttempt.After(p.clock().Add(testRetryWatch)))
	}
	return res, nil
}

// testingResult is GET /portal/testing/result?msg=…&endpoint=…: the
// result fragment alone, for testing.js.
func (p *Portal) testingResult(w http.ResponseWriter, r *http.Request, s *Session) error {
	q := r.URL.Query()
	res, err := p.testResult(r.Context(), s, q.Get("msg"), q.Get("endpoint"))
	if err != nil {
		return err
	}
	return p.renderFragment(w, s, "testing", "test-result", &testingData{Result: res})
}

// renderFragment writes the template name of page with data, without the
// layout, for a script to put into the page.
func (p *Portal) renderFragment(w http.ResponseWriter, s *Session, page, name string, data any) error {
	t, ok := p.pages[page]
	if !ok {
		return errors.New("portal fragment: no page " + page)
	}
	pg := &Page{Session: s, Theme: p.theme, Data: data, portal: p}
	if s != nil {
		pg.Theme = s.Theme
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, pg); err != nil {
		return err
	}
	h := w.Header()
	p.securityHeaders(h, "/portal/")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
	return nil
}
