package portal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The activity pages: the log of messages and attempts with filters and
// paging, a message's detail with its deliveries and attempts, an
// attempt's detail, resending, and recovering an endpoint's failures with
// the task's progress. Every read and change is a call to the REST API as
// the session's principal.

// activityPageSize is the rows of one page of the log.
const activityPageSize = 20

// dateTimeLayouts are what a datetime-local input sends (times are UTC on
// these pages), and RFC 3339.
var dateTimeLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339}

// parseFormTime reads a time field; nil when empty.
func parseFormTime(v string) (*time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	for _, l := range dateTimeLayouts {
		if t, err := time.Parse(l, v); err == nil {
			t = t.UTC()
			return &t, nil
		}
	}
	return nil, errors.New("must be a date and time, such as 2026-12-01T09:30 (UTC)")
}

// formTime writes t for a datetime-local input.
func formTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04") }

// activityFilter is the log's filter form, read from the query.
type activityFilter struct {
	Endpoint  string
	Status    string // "", "succeeded" or "failed"
	EventType string
	Since     string
	Until     string
	Iterator  string

	since, until *time.Time
	// Errors maps a field to what is wrong with it.
	Errors map[string]string
}

func readActivityFilter(q url.Values) activityFilter {
	f := activityFilter{
		Endpoint:  strings.TrimSpace(q.Get("endpoint")),
		Status:    q.Get("status"),
		EventType: strings.TrimSpace(q.Get("event_type")),
		Since:     q.Get("since"),
		Until:     q.Get("until"),
		Iterator:  q.Get("iterator"),
		Errors:    map[string]string{},
	}
	var err error
	if f.since, err = parseFormTime(f.Since); err != nil {
		f.Errors["since"] = err.Error()
	}
	if f.until, err = parseFormTime(f.Until); err != nil {
		f.Errors["until"] = err.Error()
	}
	if f.since != nil && f.until != nil && !f.since.Before(*f.until) {
		f.Errors["until"] = "must be after the start"
	}
	switch f.Status {
	case "", "succeeded", "failed":
	default:
		f.Errors["status"] = "must be succeeded or failed"
	}
	return f
}

// query is the filter as a query string, with iterator when given.
func (f *activityFilter) query(iterator string) string {
	q := url.Values{}
	for _, kv := range [][2]string{
		{"endpoint", f.Endpoint}, {"status", f.Status}, {"event_type", f.EventType},
		{"since", f.Since}, {"until", f.Until}, {"iterator", iterator},
	} {
		if kv[1] != "" {
			q.Set(kv[0], kv[1])
		}
	}
	return q.Encode()
}

// apiQuery is the filter as the API's list query.
func (f *activityFilter) apiQuery() url.Values {
	q := url.Values{}
	q.Set("limit", fmt.Sprint(activityPageSize))
	q.Set("with_content", "false")
	if f.EventType != "" {
		q.Set("event_types", f.EventType)
	}
	if f.since != nil {
		q.Set("after", f.since.Format(time.RFC3339Nano))
	}
	if f.until != nil {
		q.Set("before", f.until.Format(time.RFC3339Nano))
	}
	if f.Iterator != "" {
		q.Set("iterator", f.Iterator)
	}
	switch f.Status {
	case "succeeded":
		q.Set("status", "0")
	case "failed":
		q.Set("status", "2")
	}
	return q
}

// activityRow is one line of the log: an attempt (when an endpoint or a
// status is chosen) or a message with its deliveries.
type activityRow struct {
	Time       time.Time
	EventType  string
	MsgID      string
	DetailPath string
	// Attempt rows, with their endpoint's name when the log is not one
	// endpoint's.
	Attempt  *actAttempt
	Endpoint string
	// Message rows.
	Destinations []actDestination
}

type activityData struct {
	Filter     activityFilter
	Endpoints  []actEndpoint
	EventTypes []actEventType
	Rows       []activityRow
	// Attempts: the rows are attempts (of the chosen endpoint, or of the
	// chosen status across every endpoint), else messages.
	Attempts bool
	NextPath string
	// FirstPath is the newest page with the same filter, when this page
	// is not the first.
	FirstPath string
	Error     string
}

// endpointsOf lists the application's endpoints (at most 250, the API's
// page; an application has at most 50 by default).
func (p *Portal) endpointsOf(ctx context.Context, s *Session) ([]actEndpoint, error) {
	var out actList[actEndpoint]
	if err := p.call(ctx, s, "GET", appPath(s.AppID, "endpoint")+"?limit=250&order=ascending", nil, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// eventTypesOf lists the catalog's event types (the first 250), without
// their schemas.
func (p *Portal) eventTypesOf(ctx context.Context, s *Session) ([]actEventType, error) {
	var out actList[actEventType]
	if err := p.call(ctx, s, "GET", "/api/v1/event-type?limit=250&with_content=false", nil, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// activity is GET /portal/activity: the log, newest first.
func (p *Portal) activity(w http.ResponseWriter, r *http.Request, s *Session) error {
	ctx := r.Context()
	d := activityData{Filter: readActivityFilter(r.URL.Query())}
	var err error
	if d.Endpoints, err = p.endpointsOf(ctx, s); err != nil {
		return err
	}
	if d.EventTypes, err = p.eventTypesOf(ctx, s); err != nil {
		return err
	}
	f := &d.Filter
	status := http.StatusOK
	if len(f.Errors) > 0 {
		p.renderStatus(w, r, s, http.StatusUnprocessableEntity, "activity", "Activity", d)
		return nil
	}
	if f.Endpoint != "" || f.Status != "" {
		// Attempts: one endpoint's (Svix's list-by-endpoint), or those of
		// one status across the application (hookrelay's
		// GET .../attempt?status=), with the same filters.
		d.Attempts = true
		path := appPath(s.AppID, "attempt")
		if f.Endpoint != "" {
			path = appPath(s.AppID, "attempt", "endpoint", f.Endpoint)
		}
		var out actList[actAttempt]
		q := f.apiQuery()
		// The content holds a failed attempt's reason (at most the
		// response body limit); the messages are read without theirs.
		q.Set("with_content", "true")
		err = p.call(ctx, s, "GET", path+"?"+q.Encode(), nil, &out)
		var types map[string]string
		if err == nil {
			types, err = p.eventTypesOfAttempts(ctx, s, out.Data)
		}
		names := map[string]string{}
		for _, e := range d.Endpoints {
			names[e.ID] = e.Name()
		}
		for i := 0; err == nil && i < len(out.Data); i++ {
			a := &out.Data[i]
			row := activityRow{Time: a.Timestamp, MsgID: a.MsgID, Attempt: a, EventType: types[a.MsgID],
				DetailPath: "/portal/activity/msg/" + url.PathEscape(a.MsgID) + "/attempt/" + url.PathEscape(a.ID)}
			if f.Endpoint == "" {
				row.Endpoint = names[a.EndpointID]
				if row.Endpoint == "" {
					row.Endpoint = a.EndpointID
				}
			}
			d.Rows = append(d.Rows, row)
		}
		if err == nil {
			d.setPaging(out.Done, out.Iterator)
		}
	} else {
		var out actList[actMessage]
		err = p.call(ctx, s, "GET", appPath(s.AppID, "msg")+"?"+f.apiQuery().Encode(), nil, &out)
		if err == nil {
			for _, m := range out.Data {
				row := activityRow{Time: m.Timestamp, EventType: m.EventType, MsgID: m.ID,
					DetailPath: "/portal/activity/msg/" + url.PathEscape(m.ID)}
				var dests actList[actDestination]
				if err = p.call(ctx, s, "GET", appPath(s.AppID, "msg", m.ID, "endpoint")+"?limit=50", nil, &dests); err != nil {
					break
				}
				row.Destinations = dests.Data
				d.Rows = append(d.Rows, row)
			}
			d.setPaging(out.Done, out.Iterator)
		}
	}
	var ae *APIError
	if errors.As(err, &ae) {
		// A filter the API refused (an endpoint that is gone, a bad
		// iterator): shown above the log.
		d.Error, d.Rows, d.NextPath, status = ae.Error(), nil, "", ae.Status
	} else if err != nil {
		return err
	}
	p.renderStatus(w, r, s, status, "activity", "Activity", d)
	return nil
}

// eventTypesOfAttempts maps the message of each attempt to its event type,
// reading each message once without its payload (which may be large); a
// message gone since has none.
func (p *Portal) eventTypesOfAttempts(ctx context.Context, s *Session, atts []actAttempt) (map[string]string, error) {
	types := map[string]string{}
	for _, a := range atts {
		if _, ok := types[a.MsgID]; ok {
			continue
		}
		var m actMessage
		err := p.call(ctx, s, "GET", appPath(s.AppID, "msg", a.MsgID)+"?with_content=false", nil, &m)
		var ae *APIError
		if err != nil && !(errors.As(err, &ae) && ae.Status == http.StatusNotFound) {
			return nil, err
		}
		types[a.MsgID] = m.EventType
	}
	return types, nil
}

func (d *activityData) setPaging(done bool, iterator *string) {
	if !done && iterator != nil {
		d.NextPath = "/portal/activity?" + d.Filter.query(*iterator)
	}
	if d.Filter.Iterator != "" {
		d.FirstPath = "/portal/activity?" + d.Filter.query("")
	}
}

// messageData is the message detail page.
type messageData struct {
	Msg          actMessage
	Payload      string
	Destinations []actDestination
	Attempts     []actAttempt
	Endpoints    map[string]actEndpoint
	Resent       string
	Error        string
}

// EndpointName names the endpoint id for the page.
func (d *messageData) EndpointName(id string) string {
	if e, ok := d.Endpoints[id]; ok {
		return e.Name()
	}
	return id
}

// activityMessage is GET /portal/activity/msg/{msg_id}.
func (p *Portal) activityMessage(w http.ResponseWriter, r *http.Request, s *Session) error {
	d, err := p.loadMessage(r.Context(), s, r.PathValue("msg_id"))
	if err != nil {
		return err
	}
	if ep := r.URL.Query().Get("resent"); ep != "" {
		d.Resent = d.EndpointName(ep)
	}
	p.render(w, r, s, "activity_message", "Message "+d.Msg.ID, d)
	return nil
}

func (p *Portal) loadMessage(ctx context.Context, s *Session, msgID string) (*messageData, error) {
	d := &messageData{Endpoints: map[string]actEndpoint{}}
	if err := p.call(ctx, s, "GET", appPath(s.AppID, "msg", msgID), nil, &d.Msg); err != nil {
		return nil, err
	}
	d.Payload = prettyJSON(d.Msg.Payload)
	var dests actList[actDestination]
	if err := p.call(ctx, s, "GET", appPath(s.AppID, "msg", d.Msg.ID, "endpoint")+"?limit=250", nil, &dests); err != nil {
		return nil, err
	}
	d.Destinations = dests.Data
	for _, e := range dests.Data {
		d.Endpoints[e.ID] = e.actEndpoint
	}
	var atts actList[actAttempt]
	if err := p.call(ctx, s, "GET", appPath(s.AppID, "attempt", "msg", d.Msg.ID)+"?limit=100", nil, &atts); err != nil {
		return nil, err
	}
	d.Attempts = atts.Data
	return d, nil
}

// activityResend is POST /portal/activity/msg/{msg_id}/resend: the
// message goes to the form's endpoint again.
func (p *Portal) activityResend(w http.ResponseWriter, r *http.Request, s *Session) error {
	msgID, ep := r.PathValue("msg_id"), r.PostFormValue("endpoint")
	err := p.call(r.Context(), s, "POST", appPath(s.AppID, "msg", msgID, "endpoint", ep, "resend"), struct{}{}, nil)
	if err != nil {
		return err
	}
	p.redirect(w, r, s, "/portal/activity/msg/"+url.PathEscape(msgID)+"?resent="+url.QueryEscape(ep))
	return nil
}

// attemptData is the attempt detail page.
type attemptData struct {
	Attempt  actAttempt
	Msg      actMessage
	Endpoint *actEndpoint
	Payload  string
	Headers  []shownHeader
	Failure  failure
	Response string
	// ResponseIsJSON: Response was indented as JSON.
	ResponseIsJSON bool
}

// activityAttempt is GET /portal/activity/msg/{msg_id}/attempt/{attempt_id}.
func (p *Portal) activityAttempt(w http.ResponseWriter, r *http.Request, s *Session) error {
	ctx := r.Context()
	d := attemptData{}
	msgID, attID := r.PathValue("msg_id"), r.PathValue("attempt_id")
	if err := p.call(ctx, s, "GET", appPath(s.AppID, "msg", msgID, "attempt", attID), nil, &d.Attempt); err != nil {
		return err
	}
	if err := p.call(ctx, s, "GET", appPath(s.AppID, "msg", msgID), nil, &d.Msg); err != nil {
		return err
	}
	d.Payload = prettyJSON(d.Msg.Payload)
	d.Failure = d.Attempt.Failure()
	d.Response = d.Attempt.Response
	if b := []byte(strings.TrimSpace(d.Response)); len(b) > 0 && (b[0] == '{' || b[0] == '[') && json.Valid(b) {
		d.Response, d.ResponseIsJSON = prettyJSON(b), true
	}
	// The endpoint's headers as configured now; an endpoint deleted since
	// leaves the signing headers only.
	var hdr actHeaders
	var ep actEndpoint
	err := p.call(ctx, s, "GET", appPath(s.AppID, "endpoint", d.Attempt.EndpointID), nil, &ep)
	if err == nil {
		d.Endpoint = &ep
		err = p.call(ctx, s, "GET", appPath(s.AppID, "endpoint", d.Attempt.EndpointID, "headers"), nil, &hdr)
	}
	var ae *APIError
	if err != nil && !(errors.As(err, &ae) && ae.Status == http.StatusNotFound) {
		return err
	}
	d.Headers = sentHeaders(d.Msg.ID, d.Attempt.Timestamp, hdr.Headers, hdr.Sensitive)
	p.render(w, r, s, "activity_attempt", "Attempt "+d.Attempt.ID, d)
	return nil
}

// recoverData is the recover form.
type recoverData struct {
	Endpoints []actEndpoint
	Endpoint  string
	Since     string
	Errors    map[string]string
	Error     string
}

// activityRecoverForm is GET /portal/activity/recover.
func (p *Portal) activityRecoverForm(w http.ResponseWriter, r *http.Request, s *Session) error {
	eps, err := p.endpointsOf(r.Context(), s)
	if err != nil {
		return err
	}
	d := recoverData{Endpoints: eps, Endpoint: r.URL.Query().Get("endpoint"),
		Since: formTime(p.clock().Add(-24 * time.Hour)), Errors: map[string]string{}}
	p.render(w, r, s, "activity_recover", "Recover failed messages", d)
	return nil
}

// activityRecover is POST /portal/activity/recover: the API starts a task
// that queues again every failed delivery of the endpoint since the time
// given; the page then follows the task.
func (p *Portal) activityRecover(w http.ResponseWriter, r *http.Request, s *Session) error {
	ctx := r.Context()
	d := recoverData{Endpoint: r.PostFormValue("endpoint"), Since: r.PostFormValue("since"), Errors: map[string]string{}}
	since, err := parseFormTime(d.Since)
	switch {
	case err != nil:
		d.Errors["since"] = err.Error()
	case since == nil:
		d.Errors["since"] = "is required"
	}
	if d.Endpoint == "" {
		d.Errors["endpoint"] = "choose an endpoint"
	}
	var task actTask
	if len(d.Errors) == 0 {
		err = p.call(ctx, s, "POST", appPath(s.AppID, "endpoint", d.Endpoint, "recover"),
			map[string]string{"since": since.Format(time.RFC3339)}, &task)
		var ae *APIError
		switch {
		case err == nil:
			p.redirect(w, r, s, "/portal/activity/task/"+url.PathEscape(task.ID)+"?endpoint="+url.QueryEscape(d.Endpoint))
			return nil
		case errors.As(err, &ae) && ae.Status == http.StatusUnprocessableEntity:
			for _, fe := range ae.Fields {
				d.Errors[fe.Name()] = fe.Msg
			}
		case errors.As(err, &ae) && ae.Status != http.StatusForbidden:
			d.Error = ae.Detail
		default:
			return err
		}
	}
	if d.Endpoints, err = p.endpointsOf(ctx, s); err != nil {
		return err
	}
	p.renderStatus(w, r, s, http.StatusUnprocessableEntity, "activity_recover", "Recover failed messages", d)
	return nil
}

// taskData is the task progress page.
type taskData struct {
	Task     actTask
	Endpoint string
	Count    string
	Running  bool
	SelfPath string
	LogPath  string
}

// taskRefreshSeconds is how often a running task's page reloads itself.
const taskRefreshSeconds = 2

// activityTask is GET /portal/activity/task/{task_id}: a recover task's
// progress. While the task runs the page asks the browser to reload it
// (the Refresh header, no script needed) and offers a reload link.
func (p *Portal) activityTask(w http.ResponseWriter, r *http.Request, s *Session) error {
	d := taskData{Endpoint: r.URL.Query().Get("endpoint")}
	if err := p.call(r.Context(), s, "GET", appPath(s.AppID, "background-task", r.PathValue("task_id")), nil, &d.Task); err != nil {
		return err
	}
	for _, k := range []string{"recovered", "replayed"} {
		if v, ok := d.Task.Data[k]; ok {
			d.Count = fmt.Sprint(v)
		}
	}
	if d.Count == "" {
		d.Count = "0"
	}
	d.Running = d.Task.Status == "running"
	d.SelfPath = r.URL.Path
	if d.Endpoint != "" {
		d.SelfPath += "?endpoint=" + url.QueryEscape(d.Endpoint)
		d.LogPath = "/portal/activity?endpoint=" + url.QueryEscape(d.Endpoint)
	} else {
		d.LogPath = "/portal/activity"
	}
	if d.Running {
		w.Header().Set("Refresh", fmt.Sprint(taskRefreshSeconds))
	}
	p.render(w, r, s, "activity_task", "Recovery progress", d)
	return nil
}

// CarrySession is the hidden session input of a GET form, when the page
// carries the session (no CSRF token: a GET changes nothing).
func (pg *Page) CarrySession() template.HTML {
	if pg.Session == nil || !pg.Session.carried {
		return ""
	}
	return template.HTML(`<input type="hidden" name="` + sessionParam + `" value="` + template.HTMLEscapeString(pg.Session.secret) + `">`)
}
