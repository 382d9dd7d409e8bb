package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/fanout"
	"github.com/hookrelay/hookrelay/internal/ops"
	"github.com/hookrelay/hookrelay/internal/store"
)

// Routes of the current Svix API that the SDKs 1.99 and 2.x call and the
// v1.44.0 contract did not have. Their shapes are those of
// svix-openapi-current.json.

// taskOut is the answer of the routes that start a background task
// (ReplayOut, ExpungeAllContentsOut, AggregateEventTypesOut): the current
// shape, with updatedAt.
type taskOut struct {
	ID        string   `json:"id"`
	Status    string   `json:"status"`
	Task      string   `json:"task"`
	UpdatedAt jsonTime `json:"updatedAt"`
}

func toTaskOut(t *store.BackgroundTask) taskOut {
	return taskOut{ID: t.ID, Status: t.Status, Task: t.Task, UpdatedAt: jsonTime(t.UpdatedAt)}
}

// createTask stores t and wakes this node's runner for it.
func (s *server) createTask(r *http.Request, t *store.BackgroundTask) error {
	if err := s.store.CreateBackgroundTask(r.Context(), t); err != nil {
		return err
	}
	if s.tasks != nil {
		s.tasks.Wake()
	}
	return nil
}

// whoamiOut is WhoamiOut.
type whoamiOut struct {
	EnvID            string  `json:"envId"`
	AppID            *string `json:"appId,omitempty"`
	PermissionSource string  `json:"permissionSource"`
}

// whoami is GET /api/v1/auth/whoami: the token's environment and, for a
// portal token, its application. permissionSource is "SvixJwt" for portal
// tokens (Svix's portal sessions) and "RegionalAuthToken" for admin
// tokens (Svix's API keys).
func (s *server) whoami(w http.ResponseWriter, r *http.Request, p *principal) error {
	out := whoamiOut{EnvID: p.envID, PermissionSource: "RegionalAuthToken"}
	if p.kind == store.TokenPortal {
		out.PermissionSource = "SvixJwt"
		appID := p.appID
		out.AppID = &appID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// precheckIn is MessagePrecheckIn.
type precheckIn struct {
	EventType opt[string]   `json:"eventType"`
	Channels  opt[[]string] `json:"channels"`
}

// precheck is POST .../msg/precheck/active: whether publishing a message
// of eventType on channels now would queue it for at least one endpoint
// (the decision a publish makes: fanout.Plan over the application's
// endpoints, their filters, channels and enabled state).
func (s *server) precheck(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	var in precheckIn
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	var c checker
	if c.required(in.EventType.Set, in.EventType.Null, "eventType") {
		c.check(checkName(in.EventType.V, 256), "eventType")
	}
	if in.Channels.has() {
		c.checkList(in.Channels.V, 1, 10, checkChannel, "channels")
	}
	if err := c.err(); err != nil {
		return err
	}
	msg := &hookrelay.Message{AppID: app.ID, EventType: in.EventType.V, Channels: in.Channels.V, CreatedAt: s.now()}
	page := store.Page{Limit: 250}
	active := false
	for !active {
		eps, err := s.store.ListEndpoints(r.Context(), app.ID, page)
		if err != nil {
			return err
		}
		plan, err := fanout.Plan(store.CreateMessageParams{Message: msg}, eps, msg.CreatedAt)
		if err != nil {
			return err
		}
		active = len(plan.Deliveries) > 0
		if len(eps) < page.Limit {
			break
		}
		page.Iterator = eps[len(eps)-1].ID
	}
	writeJSON(w, http.StatusOK, map[string]bool{"active": active})
	return nil
}

// expungeAllContents is POST .../msg/expunge-all-contents: a task
// (application.purge_content) drops the payload of every message of the
// application, in batches; data.messagesPurged counts them.
func (s *server) expungeAllContents(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	var in struct{}
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	t, err := ops.NewPurgeContentTask(p.envID, app.ID, s.now())
	if err != nil {
		return err
	}
	if err := s.createTask(r, t); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, toTaskOut(t))
	return nil
}

// bulkReplayIn is BulkReplayIn.
type bulkReplayIn struct {
	Since           opt[string]   `json:"since"`
	Until           opt[string]   `json:"until"`
	EventTypes      opt[[]string] `json:"eventTypes"`
	Channel         opt[string]   `json:"channel"`
	Tag             opt[string]   `json:"tag"`
	Status          opt[int]      `json:"status"`
	StatusCodeClass opt[int]      `json:"statusCodeClass"`
}

// bulkReplay is POST .../endpoint/{id}/bulk-replay: a task
// (endpoint.bulk-replay) sends again, as a resend does, every delivery of
// the endpoint whose message was created in [since, until) and matches the
// filters, successful and failed alike (deliveries waiting to be sent and
// messages whose content was expunged are skipped); data.messagesSent
// counts them.
func (s *server) bulkReplay(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	var in bulkReplayIn
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	since, until, err := rangeIn{Since: in.Since, Until: in.Until}.parse()
	var c checker
	var ve validationError
	if errors.As(err, &ve) {
		c.errs = ve
	} else if err != nil {
		return err
	}
	params := store.BulkReplayParams{AppID: app.ID, Since: since, Until: until}
	if in.EventTypes.has() {
		c.checkList(in.EventTypes.V, 0, 0, func(s string) string { return checkName(s, 256) }, "eventTypes")
		params.EventTypes = in.EventTypes.V
	}
	if in.Channel.has() {
		c.check(checkChannel(in.Channel.V), "channel")
		params.Channel = in.Channel.V
	}
	if in.Tag.has() {
		c.check(checkTag(in.Tag.V), "tag")
		params.Tag = in.Tag.V
	}
	if in.Status.has() {
		if in.Status.V < 0 || in.Status.V > int(hookrelay.StatusCanceled) {
			c.add("must be one of [0 1 2 3 4]", "status")
		}
		st := hookrelay.MessageStatus(in.Status.V)
		params.Status = &st
	}
	if in.StatusCodeClass.has() {
		switch in.StatusCodeClass.V {
		case 0, 100, 200, 300, 400, 500:
		default:
			c.add("must be one of [0 100 200 300 400 500]", "statusCodeClass")
		}
		params.StatusCodeClass = in.StatusCodeClass.ptr()
	}
	if err := c.err(); err != nil {
		return err
	}
	ep, err := s.endpoint(r, app)
	if err != nil {
		return err
	}
	params.EndpointID = ep.ID
	t, err := ops.NewBulkReplayTask(p.envID, params, s.now())
	if err != nil {
		return err
	}
	if err := s.createTask(r, t); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, toTaskOut(t))
	return nil
}

// cancelMsgsIn is CancelMsgsIn.
type cancelMsgsIn struct {
	CreatedBefore opt[string] `json:"createdBefore"`
}

// cancelMsgs is POST .../endpoint/{id}/cancel-msgs: every delivery of the
// endpoint still waiting to be sent, of a message created before
// createdBefore, is canceled (MessageStatus 4) and never attempted. A
// delivery a node has already taken for sending is sent. 204 once stored.
func (s *server) cancelMsgs(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	var in cancelMsgsIn
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	var c checker
	var before time.Time
	if c.required(in.CreatedBefore.Set, in.CreatedBefore.Null, "createdBefore") {
		t, err := time.Parse(time.RFC3339Nano, in.CreatedBefore.V)
		if err != nil {
			c.add("must be an RFC 3339 date-time", "createdBefore")
		}
		before = roundUpMicro(t.UTC())
	}
	if err := c.err(); err != nil {
		return err
	}
	ep, err := s.endpoint(r, app)
	if err != nil {
		return err
	}
	if _, err := s.store.CancelDeliveries(r.Context(), app.ID, ep.ID, before, s.now()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// throttleStatusOut is EndpointThrottleRateStatusOut.
type throttleStatusOut struct {
	Status         string    `json:"status"`
	ThrottledSince *jsonTime `json:"throttledSince"`
}

// rateLimitStatus is GET .../endpoint/{id}/rate-limit-status: "RateLimited"
// while the endpoint's rate limit holds deliveries back (send slots are
// reserved beyond the next one the limit allows now), with the time its
// reservations started to wait; "Ok" otherwise, and always for an
// endpoint without a rate limit.
func (s *server) rateLimitStatus(w http.ResponseWriter, r *http.Request, p *principal) error {
	_, ep, err := s.appEndpoint(r, p)
	if err != nil {
		return err
	}
	out := throttleStatusOut{Status: "Ok"}
	if ep.RateLimit != nil && *ep.RateLimit > 0 {
		next, since, ok, err := s.store.SendThrottle(r.Context(), ep.ID)
		if err != nil {
			return err
		}
		interval := time.Second / time.Duration(*ep.RateLimit)
		if ok && since != nil && next.After(s.now().Add(interval)) {
			out.Status = "RateLimited"
			t := jsonTime(*since)
			out.ThrottledSince = &t
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// appAttemptEventTypeStats is AppAttemptEventTypeStats.
type appAttemptEventTypeStats struct {
	Success  int64 `json:"success"`
	Failure  int64 `json:"failure"`
	Canceled int64 `json:"canceled"`
}

// appAttemptStatsOut is AppAttemptStatsOut.
type appAttemptStatsOut struct {
	ByEventType   map[string]*appAttemptEventTypeStats `json:"by_event_type"`
	TotalSuccess  int64                                `json:"total_success"`
	TotalFailure  int64                                `json:"total_failure"`
	TotalCanceled int64                                `json:"total_canceled"`
	Since         jsonTime                             `json:"since"`
	Until         jsonTime                             `json:"until"`
}

// appAttemptStats is GET .../app/{app_id}/stats/attempts: of the
// application's messages created in [since, until) (both required), how
// many deliveries ended in success, failure and cancellation, per event
// type and in total; event_types keeps only those. Deliveries still
// pending or sending count in neither.
func (s *server) appAttemptStats(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	q := newQuery(r)
	since := q.timestamp("since")
	until := q.timestamp("until")
	if since == nil && q.v.Get("since") == "" {
		q.fail("since", "field required")
	}
	if until == nil && q.v.Get("until") == "" {
		q.fail("until", "field required")
	}
	types := q.eventTypes()
	if err := q.err(); err != nil {
		return err
	}
	if !since.Before(*until) {
		return validationError{{Loc: []string{"query", "until"}, Msg: "must be after since", Type: "value_error"}}
	}
	counts, err := s.store.DeliveryCounts(r.Context(), app.ID, *ceilMicro(since), *ceilMicro(until), types)
	if err != nil {
		return err
	}
	out := appAttemptStatsOut{ByEventType: map[string]*appAttemptEventTypeStats{},
		Since: jsonTime(since.UTC()), Until: jsonTime(until.UTC())}
	for _, c := range counts {
		st := out.ByEventType[c.EventType]
		if st == nil {
			st = &appAttemptEventTypeStats{}
		}
		switch c.Status {
		case hookrelay.StatusSuccess:
			st.Success += c.Count
			out.TotalSuccess += c.Count
		case hookrelay.StatusFail:
			st.Failure += c.Count
			out.TotalFailure += c.Count
		case hookrelay.StatusCanceled:
			st.Canceled += c.Count
			out.TotalCanceled += c.Count
		default:
			continue
		}
		out.ByEventType[c.EventType] = st
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// appUsageStatsIn is AppUsageStatsIn.
type appUsageStatsIn struct {
	Since  opt[string]   `json:"since"`
	Until  opt[string]   `json:"until"`
	AppIDs opt[[]string] `json:"appIds"`
}

// appUsageStatsOut is AppUsageStatsOut.
type appUsageStatsOut struct {
	taskOut
	UnresolvedAppIDs []string `json:"unresolvedAppIds"`
}

// usageAppStats is POST /api/v1/stats/usage/app: a task
// (application.stats) counts the message destinations of each application
// (those of appIds, else all) for messages created in [since, until);
// data.appStats lists {appId, appUid, messageDestinations}. appIds that
// name no application are listed in unresolvedAppIds; when none resolves
// it is 422.
func (s *server) usageAppStats(w http.ResponseWriter, r *http.Request, p *principal) error {
	var in appUsageStatsIn
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	var c checker
	parse := func(o opt[string], name string) time.Time {
		if !c.required(o.Set, o.Null, name) {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339Nano, o.V)
		if err != nil {
			c.add("must be an RFC 3339 date-time", name)
		}
		return roundUpMicro(t.UTC())
	}
	params := ops.AppStatsParams{Since: parse(in.Since, "since"), Until: parse(in.Until, "until")}
	if len(c.errs) == 0 && !params.Since.Before(params.Until) {
		c.add("must be after since", "until")
	}
	if in.AppIDs.has() {
		c.checkList(in.AppIDs.V, 0, 0, checkUID, "appIds")
	}
	if err := c.err(); err != nil {
		return err
	}
	out := appUsageStatsOut{UnresolvedAppIDs: []string{}}
	if in.AppIDs.has() {
		for _, id := range in.AppIDs.V {
			app, err := s.store.GetApplication(r.Context(), p.envID, id)
			if err == nil {
				if !slices.Contains(params.AppIDs, app.ID) { // an ID and a uid of one application
					params.AppIDs = append(params.AppIDs, app.ID)
				}
				continue
			}
			if !isNotFound(err) {
				return err
			}
			out.UnresolvedAppIDs = append(out.UnresolvedAppIDs, id)
		}
		if len(params.AppIDs) == 0 && len(in.AppIDs.V) > 0 {
			return invalid(fmt.Sprintf("none of the %d application IDs or uids names an application", len(in.AppIDs.V)), "body", "appIds")
		}
	}
	t, err := ops.NewAppStatsTask(p.envID, params, s.now())
	if err != nil {
		return err
	}
	if err := s.createTask(r, t); err != nil {
		return err
	}
	out.taskOut = toTaskOut(t)
	writeJSON(w, http.StatusAccepted, out)
	return nil
}

// usageEventTypes is PUT /api/v1/stats/usage/event-types: a task
// (event-type.aggregate) lists, for every application, the event types its
// enabled endpoints filter on and whether one of them takes every event
// type; data.event_types lists {appId, explicitlySubscribedEventTypes,
// hasCatchAllEndpoint}.
func (s *server) usageEventTypes(w http.ResponseWriter, r *http.Request, p *principal) error {
	var in struct{}
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	t, err := ops.NewEventTypeAggregateTask(p.envID, s.now())
	if err != nil {
		return err
	}
	if err := s.createTask(r, t); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, toTaskOut(t))
	return nil
}

func isNotFound(err error) bool { return errors.Is(err, hookrelay.ErrNotFound) }

// maxBulkExpunge bounds the ids of one bulk-expunge.
const maxBulkExpunge = 1000

type bulkExpungeIn struct {
	IDs opt[[]string] `json:"ids"`
}

// bulkExpunge is POST .../msg/bulk-expunge: it drops the payload of each
// message named in ids (IDs or eventIds), as DELETE .../msg/{id}/content
// does, and answers per id "expunged" or "not-found".
func (s *server) bulkExpunge(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	var in bulkExpungeIn
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	var c checker
	c.notNull(in.IDs.Set, in.IDs.Null, "ids")
	c.checkList(in.IDs.V, 0, maxBulkExpunge, checkUID, "ids")
	if err := c.err(); err != nil {
		return err
	}
	results := make(map[string]string, len(in.IDs.V))
	for _, id := range in.IDs.V {
		msg, err := s.store.GetMessage(r.Context(), app.ID, id)
		if err == nil {
			err = s.store.ExpungeMessageContent(r.Context(), app.ID, msg.ID)
		}
		switch {
		case err == nil:
			results[id] = "expunged"
		case isNotFound(err):
			results[id] = "not-found"
		default:
			return err
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
	return nil
}
