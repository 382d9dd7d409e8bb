package portal

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The endpoints pages of the customer portal: the list, create, edit
// (fields, delivery options, custom headers), disable/enable and delete.
// Every change is one or more calls of the REST API as the session; a
// refusal is shown next to the field it names.

// endpointState is how the list and the edit page show an endpoint's
// status.
type endpointState struct {
	Label  string // Active, Failing, Disabled
	Class  string // ok, warn, bad (a pill's colour)
	Reason string // why, in words; "" when active and well
}

// stateOf says what an endpoint's state is and why, from its disabled flag
// and its health: for a disabled endpoint, the reason stored when it was
// disabled (see disabledWords); for an enabled one, its run of failures
// against the receiver, if it is in one.
func stateOf(ep endpointJSON, h *healthJSON) endpointState {
	if ep.Disabled {
		return endpointState{"Disabled", "bad", disabledWords(h)}
	}
	if h != nil && h.FailingSince != nil {
		return endpointState{"Failing", "warn", "No successful delivery " + streakWords(h) + "."}
	}
	return endpointState{"Active", "ok", ""}
}

// streakWords describes h's current run of failures: "since <time>, N
// failed attempts in a row (last: ...)".
func streakWords(h *healthJSON) string {
	r := fmt.Sprintf("since %s, %s in a row", fmtTime(*h.FailingSince), plural(h.ConsecutiveFailures, "failed attempt"))
	if h.LastAttempt != nil {
		r += " (last: " + attemptWords(h.LastAttempt.Outcome, h.LastAttempt.ResponseStatusCode) + ")"
	}
	return r
}

// disabledWords says why a disabled endpoint is disabled, from the reason
// the server stored with it (h.Disabled): by hand, and where; or by the
// server, for a run of failures or a 410 Gone, with the failures it acted
// on. An endpoint disabled before the server stored reasons has none: the
// words say so, and give its run of failures, if any, only as a fact.
func disabledWords(h *healthJSON) string {
	const held = " Messages are held until it is enabled."
	const fix = " Fix the receiver, then enable the endpoint: messages held meanwhile are delivered."
	var d *disabledJSON
	if h != nil {
		d = h.Disabled
	}
	when := ""
	if d != nil && d.At != nil {
		when = " on " + fmtTime(*d.At)
	}
	switch {
	case d != nil && d.Reason == "manual":
		where := ""
		switch {
		case d.By != nil && *d.By == "portal":
			where = " in the portal"
		case d.By != nil && *d.By == "admin":
			where = " through the API"
		}
		return "Disabled by hand" + where + when + "." + held
	case d != nil && (d.Reason == "failing" || d.Reason == "gone"):
		last := ""
		if d.LastStatusCode != nil || d.LastOutcome != nil {
			code, outcome := 0, ""
			if d.LastStatusCode != nil {
				code = *d.LastStatusCode
			}
			if d.LastOutcome != nil {
				outcome = *d.LastOutcome
			}
			last = attemptWords(outcome, code)
		}
		var r string
		if d.Reason == "gone" {
			r = "Disabled by the server" + when + ": the receiver answered HTTP 410 Gone, which asks for no more deliveries."
		} else {
			r = "Disabled by the server" + when + " because it kept failing"
			if d.FailingSince != nil {
				r += fmt.Sprintf(": no successful delivery since %s, %s in a row", fmtTime(*d.FailingSince),
					plural(d.ConsecutiveFailures, "failed attempt"))
			}
			if last != "" {
				r += " (last: " + last + ")"
			}
			r += "."
		}
		return r + fix
	}
	r := "Disabled; the reason was not recorded (it was disabled before the server kept reasons)." + held
	if h != nil && h.FailingSince != nil {
		r += " Its last attempts failed: no successful delivery " + streakWords(h) + "."
	}
	return r
}

// attemptWords describes an attempt's outcome for people.
func attemptWords(outcome string, code int) string {
	switch {
	case code == 410:
		return "HTTP 410 Gone"
	case code > 0:
		return fmt.Sprintf("HTTP %d", code)
	}
	switch outcome {
	case "unanswered":
		return "no answer"
	case "refused":
		return "not sent: refused by the server's rules"
	case "internal":
		return "not sent: a failure of the server"
	}
	return outcome
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// percent shows a success rate (0..1).
func percent(r *float64) string {
	if r == nil {
		return "—"
	}
	v := *r * 100
	if v == 100 || v == 0 {
		return fmt.Sprintf("%.0f%%", v)
	}
	return fmt.Sprintf("%.1f%%", v)
}

// endpointRow is one endpoint of the list.
type endpointRow struct {
	Endpoint    endpointJSON
	State       endpointState
	SuccessRate string
	Attempts    int64
	LastAt      *time.Time
	LastWords   string
}

type endpointsPage struct {
	Rows   []endpointRow
	Notice string
	// PrevPath and NextPath are the pages before and after this one, ""
	// when there is none.
	PrevPath, NextPath string
}

// notices are the messages shown after a change (post/redirect/get); the
// query names one, so no text of the request is reflected.
var notices = map[string]string{
	"created":  "Endpoint created.",
	"saved":    "Changes saved.",
	"deleted":  "Endpoint deleted.",
	"disabled": "Endpoint disabled. Messages are held until it is enabled again.",
	"enabled":  "Endpoint enabled. Held messages are being delivered.",
	"header":   "Header saved. A sensitive value is never shown again.",
	"removed":  "Header removed.",
	"rotated":  "Secret rotated. The previous secret keeps signing during its grace period.",
}

func (p *Portal) appPath(s *Session, rest string) string {
	return "/api/v1/app/" + pathEscape(s.AppID) + rest
}

// listAllEndpoints reads every endpoint of the session's application.
func (p *Portal) listAllEndpoints(r *http.Request, s *Session, appID string) ([]endpointJSON, error) {
	return listAll[endpointJSON](p, r, s, "/api/v1/app/"+pathEscape(appID)+"/endpoint?limit=250&order=ascending")
}

// listAll reads every page of the list route at path, whose query names
// the page size, following the iterators (at most 100 pages).
func listAll[T any](p *Portal, r *http.Request, s *Session, path string) ([]T, error) {
	var out []T
	iter := ""
	for range 100 {
		page := path
		if iter != "" {
			page += "&iterator=" + pathEscape(iter)
		}
		var l listPage[T]
		if err := p.call(r.Context(), s, "GET", page, nil, &l); err != nil {
			return nil, err
		}
		out = append(out, l.Data...)
		if l.Done || l.Iterator == nil || len(l.Data) == 0 {
			break
		}
		iter = *l.Iterator
	}
	return out, nil
}

// fetchHealth reads an endpoint's health over the last 24 hours.
func (p *Portal) fetchHealth(r *http.Request, s *Session, appID, epID string) (*healthJSON, error) {
	var h healthJSON
	err := p.call(r.Context(), s, "GET", "/api/v1/app/"+pathEscape(appID)+"/endpoint/"+pathEscape(epID)+"/health?bucket=hour", nil, &h)
	if err != nil {
		return nil, err
	}
	return &h, nil
}

// summaryBatch is how many endpoints one call of the summary route names
// (the most it takes).
const summaryBatch = 100

// fetchSummaries reads the health summaries of eps (the health route's
// figures over the last 24 hours), one call of the summary route per
// summaryBatch endpoints, by endpoint ID. An endpoint deleted since it was
// listed has none.
func (p *Portal) fetchSummaries(r *http.Request, s *Session, appID string, eps []endpointJSON) (map[string]*healthJSON, error) {
	out := make(map[string]*healthJSON, len(eps))
	for start := 0; start < len(eps); start += summaryBatch {
		q := url.Values{}
		for _, ep := range eps[start:min(start+summaryBatch, len(eps))] {
			q.Add("endpoint", ep.ID)
		}
		var l summaryList
		if err := p.call(r.Context(), s, "GET", "/api/v1/app/"+pathEscape(appID)+"/endpoint-summary?"+q.Encode(), nil, &l); err != nil {
			return nil, err
		}
		for i := range l.Data {
			out[l.Data[i].EndpointID] = &l.Data[i].healthJSON
		}
	}
	return out, nil
}

// endpointRows makes the rows of eps, endpoints of appID, with their
// health (see fetchSummaries); an endpoint deleted since it was listed is
// left out.
func (p *Portal) endpointRows(r *http.Request, s *Session, appID string, eps []endpointJSON) ([]endpointRow, error) {
	health, err := p.fetchSummaries(r, s, appID, eps)
	if err != nil {
		return nil, err
	}
	rows := make([]endpointRow, 0, len(eps))
	for _, ep := range eps {
		h := health[ep.ID]
		if h == nil {
			continue
		}
		row := endpointRow{Endpoint: ep, State: stateOf(ep, h), SuccessRate: percent(h.Totals.SuccessRate), Attempts: h.Totals.Total}
		if h.LastAttempt != nil {
			t := h.LastAttempt.Timestamp
			row.LastAt = &t
			row.LastWords = attemptWords(h.LastAttempt.Outcome, h.LastAttempt.ResponseStatusCode)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// allEndpointRows reads every endpoint of appID with its health.
func (p *Portal) allEndpointRows(r *http.Request, s *Session, appID string) ([]endpointRow, error) {
	eps, err := p.listAllEndpoints(r, s, appID)
	if err != nil {
		return nil, err
	}
	return p.endpointRows(r, s, appID, eps)
}

// endpointsPerPage is how many endpoints a page of the list shows.
const endpointsPerPage = 50

// errBadEndpointsPage is the answer to a link to a page of the list that
// this server did not make.
var errBadEndpointsPage = &APIError{Status: http.StatusBadRequest,
	Detail: "This page link is not valid: open the endpoints list from its first page."}

// endpointsList is GET /portal/endpoints: one page of the session's
// endpoints, oldest first, with their health. The first page has no
// parameter; after=ID is the page that follows endpoint ID, before=ID the
// one that precedes it (read newest first from there through the API's
// iterator, then turned around). It costs two API calls whatever the
// number of endpoints: the page of the list and its summaries.
func (p *Portal) endpointsList(w http.ResponseWriter, r *http.Request, s *Session) error {
	q := r.URL.Query()
	after, before := q.Get("after"), q.Get("before")
	if (after != "" && before != "") || !pageKey(after) || !pageKey(before) {
		return errBadEndpointsPage
	}
	path := "/api/v1/app/" + pathEscape(s.AppID) + "/endpoint?limit=" + strconv.Itoa(endpointsPerPage)
	switch {
	case before != "":
		path += "&order=descending&iterator=" + url.QueryEscape(before)
	case after != "":
		path += "&order=ascending&iterator=" + url.QueryEscape(after)
	default:
		path += "&order=ascending"
	}
	var l endpointList
	if err := p.call(r.Context(), s, "GET", path, nil, &l); err != nil {
		return err
	}
	eps := l.Data
	if before != "" {
		slices.Reverse(eps)
	}
	if len(eps) == 0 && (after != "" || before != "") {
		// Nothing is left on that side of the link's endpoint (they were
		// deleted since): start again from the first page.
		p.redirect(w, r, s, "/portal/endpoints")
		return nil
	}
	pg := endpointsPage{Notice: notices[q.Get("done")]}
	more := !l.Done && l.Iterator != nil
	if len(eps) > 0 {
		first, last := eps[0].ID, eps[len(eps)-1].ID
		if (before != "" && more) || after != "" {
			pg.PrevPath = "/portal/endpoints?before=" + url.QueryEscape(first)
		}
		if (before == "" && more) || before != "" {
			pg.NextPath = "/portal/endpoints?after=" + url.QueryEscape(last)
		}
	}
	rows, err := p.endpointRows(r, s, s.AppID, eps)
	if err != nil {
		return err
	}
	pg.Rows = rows
	p.render(w, r, s, "endpoints", "Endpoints", pg)
	return nil
}

// pageKey reports whether k may be a page link's endpoint ID: empty, or
// an ID's letters, digits and underscore, no longer than one.
func pageKey(k string) bool {
	if len(k) > 64 {
		return false
	}
	for _, c := range k {
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// endpointForm is the create and edit form, as typed.
type endpointForm struct {
	URL         string
	Description string
	Channels    string
	RateLimit   string
	Method      string
	Timeout     string
	Retry       string
	MaxInFlight string
	All         bool
	Picked      map[string]bool
	Other       []string
	Header      headerInput

	// Errors are messages per field name (url, description, filterTypes,
	// channels, rateLimit, method, timeout, retry, maxInFlight, header);
	// General are those that name no field.
	Errors  map[string]string
	General []string
}

func (f *endpointForm) fail(field, msg string) {
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	if _, ok := f.Errors[field]; !ok {
		f.Errors[field] = msg
	}
}

// HasErrors reports whether the form has any message.
func (f *endpointForm) HasErrors() bool { return len(f.Errors) > 0 || len(f.General) > 0 }

// apiErrorFields are the form fields of the API's field names.
var apiErrorFields = map[string]string{
	"url": "url", "description": "description", "filterTypes": "filterTypes", "eventTypes": "filterTypes",
	"channels": "channels", "rateLimit": "rateLimit", "throttleRate": "rateLimit", "options.method": "method", "options.timeoutSeconds": "timeout",
	"options.retrySchedule": "retry", "options.maxInFlight": "maxInFlight", "headers": "header",
}

// addAPIError puts the API's refusal next to the fields it names.
func (f *endpointForm) addAPIError(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status >= 500 {
		return false
	}
	if len(ae.Fields) == 0 {
		f.General = append(f.General, ae.Detail)
		return true
	}
	for _, fe := range ae.Fields {
		name := fe.Name()
		field := ""
		for prefix, ff := range apiErrorFields {
			if name == prefix || strings.HasPrefix(name, prefix+".") {
				if len(prefix) > len(field) {
					field = ff
				}
			}
		}
		msg := fe.Msg
		if strings.HasPrefix(name, "headers.") {
			msg = strings.TrimPrefix(name, "headers.") + ": " + msg
		}
		if field == "" {
			f.General = append(f.General, msg)
			continue
		}
		f.fail(field, msg)
	}
	return true
}

// readEndpointForm reads the posted form.
func readEndpointForm(r *http.Request) endpointForm {
	v := r.PostForm
	f := endpointForm{
		URL:         strings.TrimSpace(v.Get("url")),
		Description: v.Get("description"),
		Channels:    v.Get("channels"),
		RateLimit:   strings.TrimSpace(v.Get("rateLimit")),
		Method:      v.Get("method"),
		Timeout:     strings.TrimSpace(v.Get("timeout")),
		Retry:       strings.TrimSpace(v.Get("retry")),
		MaxInFlight: strings.TrimSpace(v.Get("maxInFlight")),
		All:         v.Get("events") != "some",
		Picked:      map[string]bool{},
		Header: headerInput{
			Preset: v.Get("header_preset"), Name: v.Get("header_name"), Value: v.Get("header_value"),
			User: v.Get("header_user"), Password: v.Get("header_password"),
		},
	}
	for _, t := range v["type"] {
		f.Picked[t] = true
	}
	return f
}

// optInt reads an optional whole number field: nil when blank.
func (f *endpointForm) optInt(field, s string) *int {
	if s == "" {
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		f.fail(field, "must be a whole number")
		return nil
	}
	return &n
}

// body builds the API body of the form: for create (patch false) fields
// left blank are left out; for an edit (patch true) they are null, which
// clears them or restores the server default.
func (f *endpointForm) body(patch bool) map[string]any {
	b := map[string]any{"url": f.URL, "description": f.Description}
	set := func(k string, v any, blank bool) {
		if !blank {
			b[k] = v
		} else if patch {
			b[k] = nil
		}
	}
	picked := make([]string, 0, len(f.Picked))
	for t := range f.Picked {
		picked = append(picked, t)
	}
	filter, err := filterTypesOf(f.All, picked)
	if err != nil {
		f.fail("filterTypes", err.Error())
	}
	set("filterTypes", filter, filter == nil)
	channels := splitList(f.Channels)
	set("channels", channels, len(channels) == 0)
	rl := f.optInt("rateLimit", f.RateLimit)
	set("rateLimit", rl, rl == nil)

	opts := map[string]any{}
	if m := strings.ToUpper(f.Method); m == "PUT" || m == "POST" {
		opts["method"] = m
	} else if f.Method != "" {
		f.fail("method", "must be POST or PUT")
	}
	if t := f.optInt("timeout", f.Timeout); t != nil {
		opts["timeoutSeconds"] = *t
	} else {
		opts["timeoutSeconds"] = nil
	}
	retry, err := parseRetrySchedule(f.Retry)
	switch {
	case err != nil:
		f.fail("retry", err.Error())
	case retry == nil:
		opts["retrySchedule"] = nil
	default:
		opts["retrySchedule"] = retry
	}
	if n := f.optInt("maxInFlight", f.MaxInFlight); n != nil {
		opts["maxInFlight"] = *n
	} else {
		opts["maxInFlight"] = nil
	}
	b["options"] = opts
	return b
}

// splitList reads a list typed with commas or spaces.
func splitList(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' }) {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// endpointEditPage is the data of the create and edit pages.
type endpointEditPage struct {
	New      bool
	Endpoint endpointJSON
	State    endpointState
	Form     endpointForm
	Families []eventFamily
	URLRules []string
	Headers  headersJSON
	// HeaderNames are the custom headers, sensitive ones marked.
	HeaderNames []headerRow
	Notice      string
}

type headerRow struct {
	Name      string
	Value     string
	Sensitive bool
}

// catalogFamilies reads the event type catalog's families (archived types
// left out).
func (p *Portal) catalogFamilies(r *http.Request, s *Session) ([]eventFamily, error) {
	ets, err := p.eventTypes(r, s, false)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ets))
	for i, et := range ets {
		names[i] = et.Name
	}
	return eventFamilies(names), nil
}

// eventTypes reads the whole catalog.
func (p *Portal) eventTypes(r *http.Request, s *Session, withContent bool) ([]eventTypeJSON, error) {
	path := "/api/v1/event-type?limit=250"
	if withContent {
		path += "&with_content=true"
	}
	return listAll[eventTypeJSON](p, r, s, path)
}

// endpointNew is GET /portal/endpoints/new.
func (p *Portal) endpointNew(w http.ResponseWriter, r *http.Request, s *Session) error {
	fams, err := p.catalogFamilies(r, s)
	if err != nil {
		return err
	}
	p.render(w, r, s, "endpoint_edit", "New endpoint", endpointEditPage{
		New: true, Form: endpointForm{All: true, Picked: map[string]bool{}, Method: "POST", Header: headerInput{Preset: ""}},
		Families: fams, URLRules: p.urlRules,
	})
	return nil
}

// endpointCreate is POST /portal/endpoints: it creates the endpoint, then
// adds the header the form describes.
func (p *Portal) endpointCreate(w http.ResponseWriter, r *http.Request, s *Session) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	f := readEndpointForm(r)
	body := f.body(false)
	hname, hvalue, hasHeader, herr := f.Header.build()
	var fe *fieldError
	if errors.As(herr, &fe) {
		f.fail("header", fe.Msg)
	}
	again := func(status int) error {
		fams, err := p.catalogFamilies(r, s)
		if err != nil {
			return err
		}
		f.Header.Value, f.Header.Password = "", "" // never echo a secret back
		p.renderStatus(w, r, s, status, "endpoint_edit", "New endpoint", endpointEditPage{
			New: true, Form: f, Families: fams, URLRules: p.urlRules,
		})
		return nil
	}
	if f.HasErrors() {
		return again(http.StatusUnprocessableEntity)
	}
	var ep endpointJSON
	if err := p.call(r.Context(), s, "POST", p.appPath(s, "/endpoint"), body, &ep); err != nil {
		if f.addAPIError(err) {
			return again(statusOf(err))
		}
		return err
	}
	if hasHeader {
		err := p.call(r.Context(), s, "PATCH", p.appPath(s, "/endpoint/"+pathEscape(ep.ID)+"/headers"),
			map[string]any{"headers": map[string]string{hname: hvalue}}, nil)
		if err != nil {
			// The endpoint exists: show its page with the header's refusal.
			var ef endpointForm
			if !ef.addAPIError(err) {
				return err
			}
			return p.renderEndpointEdit(w, r, s, ep.ID, &ef, statusOf(err))
		}
	}
	p.redirect(w, r, s, "/portal/endpoints/"+ep.ID+"?done=created")
	return nil
}

func statusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return http.StatusInternalServerError
}

// endpointEdit is GET /portal/endpoints/{id}.
func (p *Portal) endpointEdit(w http.ResponseWriter, r *http.Request, s *Session) error {
	return p.renderEndpointEdit(w, r, s, r.PathValue("id"), nil, http.StatusOK)
}

// renderEndpointEdit shows the edit page of endpoint id: with the form as
// posted (and its errors) when form is set, else as stored.
func (p *Portal) renderEndpointEdit(w http.ResponseWriter, r *http.Request, s *Session, id string, form *endpointForm, status int) error {
	base := p.appPath(s, "/endpoint/"+pathEscape(id))
	var ep endpointJSON
	if err := p.call(r.Context(), s, "GET", base, nil, &ep); err != nil {
		return err
	}
	var opts optionsJSON
	if err := p.call(r.Context(), s, "GET", base+"/options", nil, &opts); err != nil {
		return err
	}
	var hdrs headersJSON
	if err := p.call(r.Context(), s, "GET", base+"/headers", nil, &hdrs); err != nil {
		return err
	}
	h, err := p.fetchHealth(r, s, s.AppID, ep.ID)
	if err != nil {
		return err
	}
	fams, err := p.catalogFamilies(r, s)
	if err != nil {
		return err
	}
	stored := endpointForm{
		URL: ep.URL, Description: ep.Description, Channels: strings.Join(ep.Channels, ", "),
		Method: opts.Method, Retry: formatRetrySchedule(opts.RetrySchedule),
	}
	if ep.RateLimit != nil {
		stored.RateLimit = strconv.Itoa(*ep.RateLimit)
	}
	if opts.TimeoutSeconds != nil {
		stored.Timeout = strconv.Itoa(*opts.TimeoutSeconds)
	}
	if opts.MaxInFlight != nil {
		stored.MaxInFlight = strconv.Itoa(*opts.MaxInFlight)
	}
	sel := selectionOf(ep.FilterTypes, fams)
	stored.All, stored.Picked, stored.Other = sel.All, sel.Picked, sel.Other
	f := stored
	if form != nil {
		f = *form
		if f.URL == "" && f.Picked == nil { // only errors were given
			f.URL, f.Description, f.Channels, f.RateLimit = stored.URL, stored.Description, stored.Channels, stored.RateLimit
			f.Method, f.Timeout, f.Retry, f.MaxInFlight = stored.Method, stored.Timeout, stored.Retry, stored.MaxInFlight
			f.All, f.Picked, f.Other = stored.All, stored.Picked, stored.Other
		} else {
			f.Other = sel.Other
		}
		f.Header.Value, f.Header.Password = "", ""
	}
	var rows []headerRow
	for n, v := range hdrs.Headers {
		rows = append(rows, headerRow{Name: n, Value: v})
	}
	for _, n := range hdrs.Sensitive {
		rows = append(rows, headerRow{Name: n, Sensitive: true})
	}
	sort.Slice(rows, func(i, j int) bool { return strings.ToLower(rows[i].Name) < strings.ToLower(rows[j].Name) })
	p.renderStatus(w, r, s, status, "endpoint_edit", "Endpoint", endpointEditPage{
		Endpoint: ep, State: stateOf(ep, h), Form: f, Families: fams, URLRules: p.urlRules,
		Headers: hdrs, HeaderNames: rows, Notice: notices[r.URL.Query().Get("done")],
	})
	return nil
}

// endpointSave is POST /portal/endpoints/{id}: a PATCH of every field of
// the form (blank ones cleared or back to the server default).
func (p *Portal) endpointSave(w http.ResponseWriter, r *http.Request, s *Session) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	id := r.PathValue("id")
	f := readEndpointForm(r)
	body := f.body(true)
	if f.HasErrors() {
		return p.renderEndpointEdit(w, r, s, id, &f, http.StatusUnprocessableEntity)
	}
	if err := p.call(r.Context(), s, "PATCH", p.appPath(s, "/endpoint/"+pathEscape(id)), body, nil); err != nil {
		if f.addAPIError(err) && statusOf(err) != http.StatusNotFound {
			return p.renderEndpointEdit(w, r, s, id, &f, statusOf(err))
		}
		return err
	}
	p.redirect(w, r, s, "/portal/endpoints/"+id+"?done=saved")
	return nil
}

// endpointAddHeader is POST /portal/endpoints/{id}/headers: it sets one
// header built from a preset.
func (p *Portal) endpointAddHeader(w http.ResponseWriter, r *http.Request, s *Session) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	id := r.PathValue("id")
	f := readEndpointForm(r)
	name, value, ok, err := f.Header.build()
	var fe *fieldError
	switch {
	case errors.As(err, &fe):
		ef := endpointForm{Header: f.Header}
		ef.fail("header", fe.Msg)
		return p.renderEndpointEdit(w, r, s, id, &ef, http.StatusUnprocessableEntity)
	case !ok:
		ef := endpointForm{Header: f.Header}
		ef.fail("header", "choose the kind of header and fill it in")
		return p.renderEndpointEdit(w, r, s, id, &ef, http.StatusUnprocessableEntity)
	}
	err = p.call(r.Context(), s, "PATCH", p.appPath(s, "/endpoint/"+pathEscape(id)+"/headers"),
		map[string]any{"headers": map[string]string{name: value}}, nil)
	if err != nil {
		ef := endpointForm{Header: f.Header}
		if ef.addAPIError(err) && statusOf(err) != http.StatusNotFound {
			return p.renderEndpointEdit(w, r, s, id, &ef, statusOf(err))
		}
		return err
	}
	p.redirect(w, r, s, "/portal/endpoints/"+id+"?done=header#headers")
	return nil
}

// endpointRemoveHeader is POST /portal/endpoints/{id}/headers/remove.
func (p *Portal) endpointRemoveHeader(w http.ResponseWriter, r *http.Request, s *Session) error {
	id := r.PathValue("id")
	name := r.PostFormValue("name")
	err := p.call(r.Context(), s, "PATCH", p.appPath(s, "/endpoint/"+pathEscape(id)+"/headers"),
		map[string]any{"headers": map[string]any{name: nil}}, nil)
	if err != nil {
		return err
	}
	p.redirect(w, r, s, "/portal/endpoints/"+id+"?done=removed#headers")
	return nil
}

// endpointSetDisabled is POST /portal/endpoints/{id}/disable and /enable.
func (p *Portal) endpointSetDisabled(disabled bool) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, s *Session) error {
		id := r.PathValue("id")
		err := p.call(r.Context(), s, "PATCH", p.appPath(s, "/endpoint/"+pathEscape(id)), map[string]any{"disabled": disabled}, nil)
		if err != nil {
			return err
		}
		done := "enabled"
		if disabled {
			done = "disabled"
		}
		p.redirect(w, r, s, "/portal/endpoints/"+id+"?done="+done)
		return nil
	}
}

// endpointDeleteConfirm is GET /portal/endpoints/{id}/delete.
func (p *Portal) endpointDeleteConfirm(w http.ResponseWriter, r *http.Request, s *Session) error {
	var ep endpointJSON
	if err := p.call(r.Context(), s, "GET", p.appPath(s, "/endpoint/"+pathEscape(r.PathValue("id"))), nil, &ep); err != nil {
		return err
	}
	p.render(w, r, s, "endpoint_delete", "Delete endpoint", ep)
	return nil
}

// endpointDelete is POST /portal/endpoints/{id}/delete.
func (p *Portal) endpointDelete(w http.ResponseWriter, r *http.Request, s *Session) error {
	if err := p.call(r.Context(), s, "DELETE", p.appPath(s, "/endpoint/"+pathEscape(r.PathValue("id"))), nil, nil); err != nil {
		return err
	}
	p.redirect(w, r, s, "/portal/endpoints?done=deleted")
	return nil
}
