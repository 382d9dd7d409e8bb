package portal

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// The operator console's page: for the operator's environment, the
// applications with their endpoints' health (those with failing or
// disabled endpoints first), the delivery queue, recent operational
// events, and a way into any application's portal.

// consoleAppsPerPage is how many applications one console page reads the
// health of.
const consoleAppsPerPage = 50

// consoleQueueLimit bounds the due deliveries the console counts.
const consoleQueueLimit = 100000

// consoleEvents is how many operational events the console lists.
const consoleEvents = 20

type consoleApp struct {
	App       appJSON
	Endpoints []endpointRow
	Failing   int
	Disabled  int
}

// Problems is how many of the application's endpoints fail or are
// disabled.
func (a consoleApp) Problems() int { return a.Failing + a.Disabled }

type consoleEvent struct {
	At   time.Time
	Type string
	Data string // the payload's data, as JSON
}

type consolePage struct {
	Apps     []consoleApp
	Next     string // iterator of the next page of applications
	Queue    store.QueueDepth
	Now      time.Time
	Events   []consoleEvent
	EventsOn bool // the environment has operational webhook endpoints
}

// consolePage is GET /console/.
func (p *Portal) consolePage(w http.ResponseWriter, r *http.Request, s *Session) error {
	path := "/api/v1/app?limit=" + itoa(consoleAppsPerPage) + "&order=ascending"
	if it := r.URL.Query().Get("iterator"); it != "" {
		path += "&iterator=" + url.QueryEscape(it)
	}
	var apps appList
	if err := p.call(r.Context(), s, "GET", path, nil, &apps); err != nil {
		return err
	}
	pg := consolePage{Now: p.now()}
	if !apps.Done && apps.Iterator != nil {
		pg.Next = *apps.Iterator
	}
	for _, a := range apps.Data {
		rows, err := p.endpointRows(r, s, a.ID)
		if err != nil {
			return err
		}
		ca := consoleApp{App: a}
		for _, row := range rows {
			switch {
			case row.Endpoint.Disabled:
				ca.Disabled++
			case row.State.Label == "Failing":
				ca.Failing++
			}
		}
		sortProblemsFirst(rows)
		ca.Endpoints = rows
		pg.Apps = append(pg.Apps, ca)
	}
	sort.SliceStable(pg.Apps, func(i, j int) bool { return pg.Apps[i].Problems() > pg.Apps[j].Problems() })

	q, err := p.store.EnvironmentQueue(r.Context(), s.EnvID, pg.Now, consoleQueueLimit)
	if err != nil {
		return err
	}
	pg.Queue = q
	if err := p.consoleEvents(r, s, &pg); err != nil {
		return err
	}
	p.render(w, r, s, "console", "Applications", pg)
	return nil
}

// sortProblemsFirst orders endpoints: failing, then disabled, then the
// others, each group as it was.
func sortProblemsFirst(rows []endpointRow) {
	rank := func(r endpointRow) int {
		switch {
		case r.State.Label == "Failing":
			return 0
		case r.Endpoint.Disabled:
			return 1
		}
		return 2
	}
	sort.SliceStable(rows, func(i, j int) bool { return rank(rows[i]) < rank(rows[j]) })
}

// consoleEvents reads the environment's latest operational events: the
// messages of its internal application, which exist only while it has
// operational webhook endpoints that take them.
func (p *Portal) consoleEvents(r *http.Request, s *Session, pg *consolePage) error {
	app, err := p.store.GetInternalApplication(r.Context(), s.EnvID)
	if errors.Is(err, hookrelay.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	eps, err := p.store.ListEndpoints(r.Context(), app.ID, store.Page{Limit: 1})
	if err != nil {
		return err
	}
	pg.EventsOn = len(eps) > 0
	msgs, err := p.store.ListMessages(r.Context(), store.ListMessagesParams{AppID: app.ID, Page: store.Page{Limit: consoleEvents}})
	if err != nil {
		return err
	}
	for _, m := range msgs {
		ev := consoleEvent{At: m.CreatedAt, Type: m.EventType}
		ev.Data = eventData(m.Payload)
		pg.Events = append(pg.Events, ev)
	}
	return nil
}

// eventData is the "data" of an operational event's payload in one line,
// or the payload when it has none.
func eventData(payload []byte) string {
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	s := string(payload)
	if json.Unmarshal(payload, &env) == nil && len(env.Data) > 0 {
		s = string(env.Data)
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
