package ops

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// More task kinds, as Svix's BackgroundTaskType names them.
const (
	// KindBulkReplay sends again an endpoint's deliveries that a filter
	// selects (store.BulkReplayParams); data["messagesSent"] counts them.
	KindBulkReplay = "endpoint.bulk-replay"
	// KindPurgeContent drops every payload of an application;
	// data["messagesPurged"] counts them.
	KindPurgeContent = "application.purge_content"
	// KindAppStats counts the message destinations of applications in a
	// time range; data["appStats"] lists one entry per application.
	KindAppStats = "application.stats"
	// KindEventTypeAggregate lists, per application, the event types its
	// endpoints subscribe to; data["event_types"] lists one entry per
	// application.
	KindEventTypeAggregate = "event-type.aggregate"
)

// Kinds are the task kinds a Runner works.
var Kinds = []string{KindRecover, KindReplay, KindBulkReplay, KindPurgeContent, KindAppStats, KindEventTypeAggregate}

// Data keys of the newer kinds.
const (
	keyMessagesSent   = "messagesSent"
	keyMessagesPurged = "messagesPurged"
	keyApps           = "applications"
	keyAppStats       = "appStats"
	keyEventTypes     = "event_types"
)

// PurgeContentParams is the input of a KindPurgeContent task.
type PurgeContentParams struct {
	AppID string `json:"appId"`
}

// AppStatsParams is the input of a KindAppStats task: the applications
// (IDs; every application of the environment when empty) and the range
// [Since, Until) of message creation times.
type AppStatsParams struct {
	AppIDs []string  `json:"appIds,omitempty"`
	Since  time.Time `json:"since"`
	Until  time.Time `json:"until"`
}

// NewBulkReplayTask returns the task that bulk-replays p.
func NewBulkReplayTask(envID string, p store.BulkReplayParams, now time.Time) (*store.BackgroundTask, error) {
	return newTask(envID, KindBulkReplay, keyMessagesSent, p, now)
}

// NewPurgeContentTask returns the task that drops every payload of appID.
func NewPurgeContentTask(envID, appID string, now time.Time) (*store.BackgroundTask, error) {
	return newTask(envID, KindPurgeContent, keyMessagesPurged, PurgeContentParams{AppID: appID}, now)
}

// NewAppStatsTask returns the task that counts p's message destinations.
func NewAppStatsTask(envID string, p AppStatsParams, now time.Time) (*store.BackgroundTask, error) {
	t, err := newTask(envID, KindAppStats, keyApps, p, now)
	if err == nil {
		t.Data[keyAppStats] = []any{}
	}
	return t, err
}

// NewEventTypeAggregateTask returns the task that lists the subscriptions
// of every application of envID.
func NewEventTypeAggregateTask(envID string, now time.Time) (*store.BackgroundTask, error) {
	t, err := newTask(envID, KindEventTypeAggregate, keyApps, struct{}{}, now)
	if err == nil {
		t.Data[keyEventTypes] = []any{}
	}
	return t, err
}

// usage runs the batches of a task that reads applications one page at a
// time and makes one entry of each. Its batches write nothing but the
// task, so each records its state with SaveBackgroundTask, which fails
// with ErrTaskLost when the task is no longer held.
type usage struct {
	store  Store
	envID  string
	appIDs []string // the applications, by ID; all of envID when empty
	owner  *store.BackgroundTask
	items  []any
}

// take returns the entries of the last batch.
func (u *usage) take() []any { return u.items }

func (u *usage) batch(ctx context.Context, step store.TaskStep, entry func(context.Context, *hookrelay.Application) (any, error)) (store.BatchResult, error) {
	var res store.BatchResult
	var apps []hookrelay.Application
	cursor := u.owner.Cursor
	if len(u.appIDs) > 0 {
		// The cursor is how many of appIDs were done.
		done, _ := strconv.Atoi(cursor)
		for _, id := range u.appIDs[min(done, len(u.appIDs)):min(done+step.Limit, len(u.appIDs))] {
			app, err := u.store.GetApplication(ctx, u.envID, id)
			if errors.Is(err, hookrelay.ErrNotFound) {
				continue // deleted since the task started
			}
			if err != nil {
				return res, err
			}
			apps = append(apps, *app)
		}
		res.Scanned = min(step.Limit, len(u.appIDs)-min(done, len(u.appIDs)))
		res.Cursor = strconv.Itoa(done + res.Scanned)
		res.Done = done+res.Scanned >= len(u.appIDs)
	} else {
		var err error
		apps, err = u.store.ListApplications(ctx, u.envID, store.Page{Limit: step.Limit, Iterator: cursor})
		if err != nil {
			return res, err
		}
		res.Scanned = len(apps)
		res.Cursor = cursor
		if len(apps) > 0 {
			res.Cursor = apps[len(apps)-1].ID
		}
		res.Done = len(apps) < step.Limit
	}
	u.items = u.items[:0]
	for i := range apps {
		e, err := entry(ctx, &apps[i])
		if err != nil {
			return res, err
		}
		u.items = append(u.items, e)
	}
	res.Changed = len(u.items)
	if err := u.store.SaveBackgroundTask(ctx, step.ID, step.Owner, step.Now, step.Next(res)); err != nil {
		return res, err
	}
	u.owner.Cursor = res.Cursor
	return res, nil
}

// subscriptions is the event-type.aggregate entry of app: the event types
// its enabled endpoints name in their filters, and whether one of them has
// no filter (receives every event type).
func subscriptions(ctx context.Context, s Store, app *hookrelay.Application) (any, error) {
	types := []string{}
	catchAll := false
	page := store.Page{Limit: 500}
	for {
		eps, err := s.ListEndpoints(ctx, app.ID, page)
		if err != nil {
			return nil, err
		}
		for _, ep := range eps {
			if ep.Disabled {
				continue
			}
			if ep.FilterTypes == nil {
				catchAll = true
			}
			for _, t := range ep.FilterTypes {
				if !slices.Contains(types, t) {
					types = append(types, t)
				}
			}
		}
		if len(eps) < page.Limit {
			break
		}
		page.Iterator = eps[len(eps)-1].ID
	}
	slices.Sort(types)
	return map[string]any{"appId": app.ID, "explicitlySubscribedEventTypes": types, "hasCatchAllEndpoint": catchAll}, nil
}
