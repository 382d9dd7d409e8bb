package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/ops"
	"github.com/hookrelay/hookrelay/internal/store"
)

// Background tasks: recover and replay-missing answer 202 at once with a
// running task, which any node's ops.Runner works in batches; the task
// routes read its progress (counts in data) and its end. Tasks belong to
// the environment of the token that started them; the task routes are the
// operator's (admin tokens): a portal token gets 403, since a task listing
// spans applications.

// rangeIn is the body of recover and replay-missing (RecoverIn, ReplayIn).
type rangeIn struct {
	Since opt[string] `json:"since"`
	Until opt[string] `json:"until"`
}

// parse reads the range [since, until), each bound rounded up to the
// microsecond (see ceilMicro).
func (in rangeIn) parse() (since time.Time, until *time.Time, err error) {
	var c checker
	if c.required(in.Since.Set, in.Since.Null, "since") {
		t, err := time.Parse(time.RFC3339Nano, in.Since.V)
		if err != nil {
			c.add("must be an RFC 3339 date-time", "since")
		}
		since = roundUpMicro(t.UTC())
	}
	if in.Until.has() {
		t, err := time.Parse(time.RFC3339Nano, in.Until.V)
		if err != nil {
			c.add("must be an RFC 3339 date-time", "until")
		}
		u := roundUpMicro(t.UTC())
		until = &u
	}
	return since, until, c.err()
}

// startTask stores t and wakes this node's runner for it.
func (s *server) startTask(w http.ResponseWriter, r *http.Request, t *store.BackgroundTask) error {
	if err := s.store.CreateBackgroundTask(r.Context(), t); err != nil {
		return err
	}
	if s.tasks != nil {
		s.tasks.Wake()
	}
	writeJSON(w, http.StatusAccepted, recoverOut{ID: t.ID, Status: t.Status, Task: t.Task, UpdatedAt: updatedAtOut(shapeOf(r), t.UpdatedAt)})
	return nil
}

// recoverEndpoint is POST .../recover: a task (endpoint.recover) queues
// again every failed delivery of the endpoint whose message was created in
// [since, until), in batches; data.recovered counts them.
func (s *server) recoverEndpoint(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	var in rangeIn
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	since, until, err := in.parse()
	if err != nil {
		return err
	}
	ep, err := s.endpoint(r, app)
	if err != nil {
		return err
	}
	t, err := ops.NewRecoverTask(p.envID, store.RecoverParams{
		AppID: app.ID, EndpointID: ep.ID, Since: since, Until: until,
	}, s.now())
	if err != nil {
		return err
	}
	return s.startTask(w, r, t)
}

// replayMissing is POST .../replay-missing: a task (endpoint.replay)
// creates, for every message of the application created in [since, until)
// that the endpoint has no delivery for and would receive if it were
// published now (its filters, channels and enabled state, as for a
// publish), a delivery due at once, in batches; data.replayed counts them.
// Messages whose content was expunged are skipped.
func (s *server) replayMissing(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	var in rangeIn
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	since, until, err := in.parse()
	if err != nil {
		return err
	}
	ep, err := s.endpoint(r, app)
	if err != nil {
		return err
	}
	t, err := ops.NewReplayTask(p.envID, store.ReplayParams{
		AppID: app.ID, EndpointID: ep.ID, Since: since, Until: until,
	}, s.now())
	if err != nil {
		return err
	}
	return s.startTask(w, r, t)
}

// backgroundTaskOut is BackgroundTaskOut.
// backgroundTaskOut is BackgroundTaskOut; updatedAt is absent from the
// v1.44.0 shape.
type backgroundTaskOut struct {
	Data      map[string]any `json:"data"`
	ID        string         `json:"id"`
	Status    string         `json:"status"`
	Task      string         `json:"task"`
	UpdatedAt *jsonTime      `json:"updatedAt,omitempty"`
}

func toBackgroundTaskOut(sh shape) func(store.BackgroundTask) backgroundTaskOut {
	return func(t store.BackgroundTask) backgroundTaskOut {
		data := t.Data
		if data == nil {
			data = map[string]any{}
		}
		return backgroundTaskOut{Data: data, ID: t.ID, Status: t.Status, Task: t.Task, UpdatedAt: updatedAtOut(sh, t.UpdatedAt)}
	}
}

// taskStatuses and taskKinds are BackgroundTaskStatus and
// BackgroundTaskType; a kind hookrelay never runs simply lists nothing.
var (
	taskStatuses = []string{store.TaskRunning, store.TaskFinished, store.TaskFailed}
	taskKinds    = []string{ops.KindReplay, ops.KindRecover, ops.KindAppStats, "message.broadcast", "sdk.generate", ops.KindEventTypeAggregate, ops.KindPurgeContent, ops.KindBulkReplay}
)

// taskKindsV1_44 are the BackgroundTaskType values of the v1.44.0
// document.
var taskKindsV1_44 = []string{ops.KindReplay, ops.KindRecover, ops.KindAppStats, "message.broadcast", "sdk.generate", ops.KindEventTypeAggregate}

// enum reads an optional query parameter that must be one of allowed.
func (q *query) enum(name string, allowed []string) string {
	v := q.get(name)
	if v == "" {
		return ""
	}
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	q.fail(name, "must be one of "+quoteList(allowed))
	return ""
}

func quoteList(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ", "
		}
		out += `"` + s + `"`
	}
	return out
}

// listBackgroundTasks is GET /api/v1/background-task.
func (s *server) listBackgroundTasks(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := newQuery(r)
	lp := store.ListBackgroundTasksParams{
		EnvID:  p.envID,
		Page:   q.page(true),
		Status: q.enum("status", taskStatuses),
		Task:   q.enum("task", taskKinds),
	}
	if shapeOf(r) == shapeV1_44 {
		// The Go SDK v1.44.0 refuses a BackgroundTaskType it does not
		// know: its listing holds only the kinds of its own document.
		lp.Kinds = taskKindsV1_44
	}
	if err := q.err(); err != nil {
		return err
	}
	list := func(page store.Page) ([]store.BackgroundTask, error) {
		lp.Page = page
		return s.store.ListBackgroundTasks(r.Context(), lp)
	}
	return listPage(w, lp.Page, hookrelay.PrefixTask, list, func(t store.BackgroundTask) string { return t.ID }, toBackgroundTaskOut(shapeOf(r)))
}

// getBackgroundTask is GET /api/v1/background-task/{task_id}.
func (s *server) getBackgroundTask(w http.ResponseWriter, r *http.Request, p *principal) error {
	t, err := s.store.GetBackgroundTask(r.Context(), p.envID, r.PathValue("task_id"))
	if errors.Is(err, hookrelay.ErrNotFound) {
		return errNotFound("background task not found")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toBackgroundTaskOut(shapeOf(r))(*t))
	return nil
}

// appTaskKinds are the kinds of task that belong to one application, named
// by the appId of their params: those started on one of its endpoints
// (recover, replay-missing, bulk-replay) and on the application itself
// (expunge-all-contents).
var appTaskKinds = []string{ops.KindRecover, ops.KindReplay, ops.KindBulkReplay, ops.KindPurgeContent}

// getAppBackgroundTask is GET /api/v1/app/{app_id}/background-task/{task_id},
// a hookrelay extension: a task of the application (appTaskKinds), in the
// shape of the environment's task route, which portal tokens may not read.
// A task of another application, or of none or several (such as the
// retention cleaner's or a usage count), is 404.
func (s *server) getAppBackgroundTask(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	t, err := s.store.GetBackgroundTask(r.Context(), p.envID, r.PathValue("task_id"))
	if errors.Is(err, hookrelay.ErrNotFound) {
		return errNotFound("background task not found")
	}
	if err != nil {
		return err
	}
	var of struct {
		AppID string `json:"appId"`
	}
	if !slices.Contains(appTaskKinds, t.Task) || json.Unmarshal(t.Params, &of) != nil || of.AppID != app.ID {
		return errNotFound("background task not found")
	}
	writeJSON(w, http.StatusOK, toBackgroundTaskOut(shapeOf(r))(*t))
	return nil
}

// maxTokenExpiry is ApplicationTokenExpireIn's bound on expiry (3 days).
const maxTokenExpiry = 259200

type expireAllIn struct {
	Expiry     opt[int64]    `json:"expiry"`
	SessionIDs opt[[]string] `json:"sessionIds"`
}

// expireAll is POST /api/v1/auth/app/{app_id}/expire-all: every portal
// token of the application made until now, and every session of its
// portal (magic links not yet opened included), expires in expiry seconds
// (at once when absent, null or 0), unless it expires sooner anyway. Tokens
// made afterwards are untouched. It is one statement over the
// application's tokens, so it answers 204 when done, as Svix does, rather
// than starting a task. Portal tokens carry no session id here, so
// sessionIds (a newer API's filter) is refused unless empty.
func (s *server) expireAll(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	var in expireAllIn
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	var c checker
	if in.Expiry.has() && (in.Expiry.V < 0 || in.Expiry.V > maxTokenExpiry) {
		c.add("must be between 0 and 259200 seconds", "expiry")
	}
	if in.SessionIDs.has() && len(in.SessionIDs.V) > 0 {
		c.add("is not supported: portal tokens carry no session id; omit it to expire every token of the application", "sessionIds")
	}
	if err := c.err(); err != nil {
		return err
	}
	at := s.now().Add(time.Duration(in.Expiry.V) * time.Second)
	if _, err := s.store.ExpireAppTokens(r.Context(), app.ID, at); err != nil {
		return err
	}
	if _, err := s.store.ExpireAppPortalSessions(r.Context(), app.ID, at); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
