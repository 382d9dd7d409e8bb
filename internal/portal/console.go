package portal

import (
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// The operator console's page: for the operator's environment, the
// applications with their endpoints' health (those with failing or
// disabled endpoints first), the delivery queue, recent operational
// events, and a way into any application's portal.

// consoleAppsPerPage is how many applications one console page lists and
// reads the health of.
const consoleAppsPerPage = 50

// consoleQueueLimit bounds the due deliveries the console counts.
const consoleQueueLimit = 100000

// consoleEvents is how many operational events the console lists.
const consoleEvents = 20

// consoleApp is one application of the console, with its endpoints
// (failing first, then disabled) and how many of them fail or are
// disabled (the store's counts, which ordered the list).
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

// consolePage is GET /console/. The applications come from the store in
// the console's order (ListAppsTroubledFirst: those with disabled or
// failing endpoints first, across the whole environment), one query a
// page; the page's endpoints are read through the API.
func (p *Portal) consolePage(w http.ResponseWriter, r *http.Request, s *Session) error {
	var after store.TroubledCursor
	if it := r.URL.Query().Get("iterator"); it != "" {
		var ok bool
		if after, ok = parseConsoleIterator(it); !ok {
			return &APIError{Status: http.StatusBadRequest, Detail: "This page link is not valid: open the console from its first page."}
		}
	}
	apps, err := p.store.ListAppsTroubledFirst(r.Context(), store.TroubledParams{
		EnvID: s.EnvID, Limit: consoleAppsPerPage + 1, After: after})
	if err != nil {
		return err
	}
	pg := consolePage{Now: p.now()}
	if len(apps) > consoleAppsPerPage {
		apps = apps[:consoleAppsPerPage]
		pg.Next = formatConsoleIterator(apps[len(apps)-1].Cursor())
	}
	for _, a := range apps {
		rows, err := p.allEndpointRows(r, s, a.App.ID)
		if err != nil {
			return err
		}
		sortProblemsFirst(rows)
		pg.Apps = append(pg.Apps, consoleApp{
			App:       appJSON{ID: a.App.ID, UID: a.App.UID, Name: a.App.Name},
			Endpoints: rows, Failing: a.Failing, Disabled: a.Disabled,
		})
	}

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

// The console's iterator is the last application of the page before:
// "t." (troubled) or "h." (healthy), then its ID.
const (
	iterTroubled = "t."
	iterHealthy  = "h."
)

func formatConsoleIterator(c store.TroubledCursor) string {
	if c.Healthy {
		return iterHealthy + c.ID
	}
	return iterTroubled + c.ID
}

// parseConsoleIterator reads what formatConsoleIterator wrote; ok is false
// for anything else.
func parseConsoleIterator(it string) (c store.TroubledCursor, ok bool) {
	id, troubled := strings.CutPrefix(it, iterTroubled)
	if !troubled {
		if id, ok = strings.CutPrefix(it, iterHealthy); !ok {
			return c, false
		}
	}
	if id == "" || len(id) > 256 || !utf8.ValidString(id) || strings.ContainsFunc(id, unicode.IsControl) {
		return c, false
	}
	return store.TroubledCursor{Healthy: !troubled, ID: id}, true
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
