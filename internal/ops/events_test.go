package ops_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/ops"
	"github.com/hookrelay/hookrelay/internal/store"
	"github.com/hookrelay/hookrelay/internal/store/sqlite"
)

// countingStore counts the calls an Emitter makes.
type countingStore struct {
	store.Store
	lookups, lists, publishes atomic.Int64
}

func (c *countingStore) GetInternalApplication(ctx context.Context, envID string) (*hookrelay.Application, error) {
	c.lookups.Add(1)
	return c.Store.GetInternalApplication(ctx, envID)
}

func (c *countingStore) ListEndpoints(ctx context.Context, appID string, page store.Page) ([]hookrelay.Endpoint, error) {
	c.lists.Add(1)
	return c.Store.ListEndpoints(ctx, appID, page)
}

func (c *countingStore) CreateMessage(ctx context.Context, p store.CreateMessageParams) (store.CreateMessageResult, error) {
	c.publishes.Add(1)
	return c.Store.CreateMessage(ctx, p)
}

type countingWaker struct{ n atomic.Int64 }

func (w *countingWaker) Wake() { w.n.Add(1) }

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	t     *testing.T
	st    *countingStore
	waker *countingWaker
	clock *clock
	em    *ops.Emitter
	ctx   context.Context
}

func newFixture(t *testing.T) *fixture {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	f := &fixture{t: t, st: &countingStore{Store: st}, waker: &countingWaker{}, clock: &clock{t: time.Now().UTC()}, ctx: t.Context()}
	f.em = ops.NewEmitter(ops.EmitterConfig{Store: f.st, Waker: f.waker, Now: f.clock.now, CacheTTL: time.Minute})
	return f
}

// opEndpoint adds an operational endpoint to envID's internal application.
func (f *fixture) opEndpoint(envID string, filterTypes ...string) *hookrelay.Endpoint {
	f.t.Helper()
	app, err := f.st.EnsureInternalApplication(f.ctx, envID)
	if err != nil {
		f.t.Fatal(err)
	}
	ep := &hookrelay.Endpoint{AppID: app.ID, URL: "https://ops.example.com/hook", Version: 1, Secret: "whsec_" + strings.Repeat("A", 32), FilterTypes: filterTypes}
	if err := f.st.CreateEndpoint(f.ctx, ep); err != nil {
		f.t.Fatal(err)
	}
	return ep
}

// published returns the payloads stored in envID's internal application,
// oldest first.
func (f *fixture) published(envID string) []map[string]any {
	f.t.Helper()
	app, err := f.st.Store.GetInternalApplication(f.ctx, envID)
	if err != nil {
		return nil
	}
	msgs, err := f.st.ListMessages(f.ctx, store.ListMessagesParams{AppID: app.ID, Page: store.Page{Limit: 250}})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []map[string]any
	for i := len(msgs) - 1; i >= 0; i-- {
		var m map[string]any
		if err := json.Unmarshal(msgs[i].Payload, &m); err != nil {
			f.t.Fatal(err)
		}
		if m["type"] != msgs[i].EventType {
			f.t.Fatalf("message of event type %s carries type %v", msgs[i].EventType, m["type"])
		}
		out = append(out, m)
	}
	return out
}

func TestEmitWithoutOperationalEndpointsStoresNothing(t *testing.T) {
	f := newFixture(t)
	for range 50 {
		if err := f.em.Emit(f.ctx, hookrelay.DefaultEnvironment, ops.EventEndpointCreated, map[string]string{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.st.lookups.Load(); n != 1 {
		t.Fatalf("50 events without an internal application made %d lookups, want 1 (cached)", n)
	}
	// An internal application without endpoints stores nothing either.
	if _, err := f.st.EnsureInternalApplication(f.ctx, hookrelay.DefaultEnvironment); err != nil {
		t.Fatal(err)
	}
	f.clock.add(2 * time.Minute)
	for range 50 {
		if err := f.em.Emit(f.ctx, hookrelay.DefaultEnvironment, ops.EventEndpointCreated, map[string]string{}); err != nil {
			t.Fatal(err)
		}
	}
	if l, p := f.st.lookups.Load(), f.st.publishes.Load(); l != 2 || p != 0 {
		t.Fatalf("after the cache expired: %d lookups, %d publishes; want 2 and 0", l, p)
	}
	if got := f.published(hookrelay.DefaultEnvironment); len(got) != 0 {
		t.Fatalf("stored %v", got)
	}
	if f.waker.n.Load() != 0 {
		t.Fatal("woke the dispatcher for nothing")
	}
	// A nil Emitter emits nothing and does not fail.
	var none *ops.Emitter
	if err := none.Emit(f.ctx, hookrelay.DefaultEnvironment, ops.EventEndpointCreated, nil); err != nil {
		t.Fatal(err)
	}
	none.Forget(hookrelay.DefaultEnvironment)
}

func TestEmitPublishesToTheEnvironmentsOperationalEndpoints(t *testing.T) {
	f := newFixture(t)
	other := &hookrelay.Environment{ID: hookrelay.NewID(hookrelay.PrefixEnv), Name: "other"}
	if err := f.st.CreateEnvironment(f.ctx, other); err != nil {
		t.Fatal(err)
	}
	f.opEndpoint(hookrelay.DefaultEnvironment, "endpoint.*")
	f.opEndpoint(other.ID, "message.attempt.exhausted")

	before := f.clock.now()
	for _, et := range []string{ops.EventEndpointCreated, ops.EventMessageAttemptFailing, ops.EventEndpointDeleted} {
		if err := f.em.Emit(f.ctx, hookrelay.DefaultEnvironment, et, map[string]string{"k": et}); err != nil {
			t.Fatal(err)
		}
	}
	got := f.published(hookrelay.DefaultEnvironment)
	if len(got) != 2 || got[0]["type"] != "endpoint.created" || got[1]["type"] != "endpoint.deleted" {
		t.Fatalf("published %v; want endpoint.created and endpoint.deleted (the filter leaves out message.attempt.failing)", got)
	}
	ts, err := time.Parse(time.RFC3339Nano, got[0]["timestamp"].(string))
	if err != nil || ts.Before(before.Truncate(time.Microsecond)) || len(got[0]) != 3 {
		t.Fatalf("payload %v: want type, timestamp (now) and data", got[0])
	}
	if d := got[0]["data"].(map[string]any); d["k"] != "endpoint.created" {
		t.Fatalf("data %v", d)
	}
	if f.waker.n.Load() != 2 {
		t.Fatalf("woke the dispatcher %d times, want 2", f.waker.n.Load())
	}
	if other := f.published(other.ID); len(other) != 0 {
		t.Fatalf("another environment got %v", other)
	}
}

func TestForgetSeesNewEndpointsAtOnce(t *testing.T) {
	f := newFixture(t)
	emit := func() {
		if err := f.em.Emit(f.ctx, hookrelay.DefaultEnvironment, ops.EventEndpointUpdated, map[string]string{}); err != nil {
			t.Fatal(err)
		}
	}
	emit() // caches "no internal application"
	f.opEndpoint(hookrelay.DefaultEnvironment)
	emit()
	if n := len(f.published(hookrelay.DefaultEnvironment)); n != 0 {
		t.Fatalf("published %d within the cache's time without Forget", n)
	}
	f.em.Forget(hookrelay.DefaultEnvironment)
	emit()
	if n := len(f.published(hookrelay.DefaultEnvironment)); n != 1 {
		t.Fatalf("published %d after Forget, want 1", n)
	}
}

// keys returns the sorted keys of m.
func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestEventPayloadShapes(t *testing.T) {
	f := newFixture(t)
	f.opEndpoint(hookrelay.DefaultEnvironment)
	app := &hookrelay.Application{ID: "app_1", EnvID: hookrelay.DefaultEnvironment, UID: ptr("acme")}
	ep := &hookrelay.Endpoint{ID: "ep_1", AppID: app.ID}
	failSince := time.Date(2024, 5, 25, 9, 0, 0, 0, time.FixedZone("x", 3600))
	msg := &hookrelay.Message{ID: "msg_1", AppID: app.ID, EventID: ptr("evt-1")}
	att := &hookrelay.Attempt{ID: "atmpt_1", MsgID: msg.ID, EndpointID: ep.ID, ResponseStatusCode: 503, CreatedAt: failSince}

	endpointKeys := "appId appUid endpointId endpointUid"
	attemptKeys := "appId appUid endpointId lastAttempt msgEventId msgId"
	tests := []struct {
		name     string
		emit     func() error
		wantType string
		wantKeys string
		check    func(d map[string]any) bool
	}{
		{"created", func() error { return f.em.EndpointCreated(f.ctx, app, ep) }, "endpoint.created", endpointKeys,
			func(d map[string]any) bool {
				return d["appUid"] == "acme" && d["endpointUid"] == nil && d["endpointId"] == "ep_1"
			}},
		{"updated", func() error { return f.em.EndpointUpdated(f.ctx, app, ep) }, "endpoint.updated", endpointKeys, nil},
		{"deleted", func() error { return f.em.EndpointDeleted(f.ctx, app, ep) }, "endpoint.deleted", endpointKeys, nil},
		{"enabled", func() error { return f.em.EndpointEnabled(f.ctx, app, ep) }, "endpoint.enabled", endpointKeys, nil},
		{"disabled by hand", func() error { return f.em.EndpointDisabled(f.ctx, app, ep, ops.DisabledManual, nil) }, "endpoint.disabled",
			"appId appUid endpointId endpointUid failSince trigger",
			func(d map[string]any) bool { return d["trigger"] == "manual" && d["failSince"] == nil }},
		{"disabled automatically", func() error { return f.em.EndpointDisabled(f.ctx, app, ep, ops.DisabledAutomatic, &failSince) }, "endpoint.disabled",
			"appId appUid endpointId endpointUid failSince trigger",
			func(d map[string]any) bool {
				return d["trigger"] == "automatic" && d["failSince"] == "2024-05-25T08:00:00Z"
			}},
		{"failing", func() error { return f.em.MessageAttemptFailing(f.ctx, app, msg, att) }, "message.attempt.failing", attemptKeys,
			func(d map[string]any) bool {
				last := d["lastAttempt"].(map[string]any)
				return d["msgId"] == "msg_1" && d["msgEventId"] == "evt-1" && d["endpointId"] == "ep_1" &&
					strings.Join(keys(last), " ") == "id responseStatusCode timestamp" &&
					last["id"] == "atmpt_1" && last["responseStatusCode"] == float64(503) && last["timestamp"] == "2024-05-25T08:00:00Z"
			}},
		{"exhausted", func() error { return f.em.MessageAttemptExhausted(f.ctx, app, msg, att) }, "message.attempt.exhausted", attemptKeys, nil},
		{"recovered", func() error { return f.em.MessageAttemptRecovered(f.ctx, app, msg, att) }, "message.attempt.recovered", attemptKeys, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := len(f.published(hookrelay.DefaultEnvironment))
			if err := tt.emit(); err != nil {
				t.Fatal(err)
			}
			all := f.published(hookrelay.DefaultEnvironment)
			if len(all) != n+1 {
				t.Fatalf("published %d events, want 1", len(all)-n)
			}
			p := all[n]
			if p["type"] != tt.wantType {
				t.Fatalf("type %v, want %s", p["type"], tt.wantType)
			}
			d := p["data"].(map[string]any)
			if got := strings.Join(keys(d), " "); got != tt.wantKeys {
				t.Fatalf("data keys %q, want %q", got, tt.wantKeys)
			}
			if d["appId"] != "app_1" {
				t.Fatalf("appId %v", d["appId"])
			}
			if tt.check != nil && !tt.check(d) {
				t.Fatalf("data %v", d)
			}
		})
	}
}

func TestEndpointChangedReportsFlips(t *testing.T) {
	f := newFixture(t)
	f.opEndpoint(hookrelay.DefaultEnvironment)
	app := &hookrelay.Application{ID: "app_1", EnvID: hookrelay.DefaultEnvironment}
	on := &hookrelay.Endpoint{ID: "ep_1"}
	off := &hookrelay.Endpoint{ID: "ep_1", Disabled: true}
	tests := []struct {
		name          string
		before, after *hookrelay.Endpoint
		want          string
	}{
		{"no flip", on, on, "endpoint.updated"},
		{"still disabled", off, off, "endpoint.updated"},
		{"disabled", on, off, "endpoint.updated endpoint.disabled"},
		{"enabled", off, on, "endpoint.updated endpoint.enabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := len(f.published(hookrelay.DefaultEnvironment))
			if err := f.em.EndpointChanged(f.ctx, app, tt.before, tt.after); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range f.published(hookrelay.DefaultEnvironment)[n:] {
				got = append(got, p["type"].(string))
			}
			if strings.Join(got, " ") != tt.want {
				t.Fatalf("events %v, want %s", got, tt.want)
			}
		})
	}
}

// Events about the operational endpoints themselves (say, one disabled
// automatically) would report on themselves: they are not sent.
func TestNoEventsAboutOperationalEndpoints(t *testing.T) {
	f := newFixture(t)
	ep := f.opEndpoint(hookrelay.DefaultEnvironment)
	internal, err := f.st.GetInternalApplication(f.ctx, hookrelay.DefaultEnvironment)
	if err != nil {
		t.Fatal(err)
	}
	failSince := f.clock.now().Add(-time.Hour)
	if err := f.em.EndpointDisabled(f.ctx, internal, ep, ops.DisabledAutomatic, &failSince); err != nil {
		t.Fatal(err)
	}
	if err := f.em.MessageAttemptExhausted(f.ctx, internal, &hookrelay.Message{ID: "msg_1"}, &hookrelay.Attempt{ID: "atmpt_1", EndpointID: ep.ID}); err != nil {
		t.Fatal(err)
	}
	if got := f.published(hookrelay.DefaultEnvironment); len(got) != 0 {
		t.Fatalf("published events about an operational endpoint: %v", got)
	}
}

func ptr[T any](v T) *T { return &v }
