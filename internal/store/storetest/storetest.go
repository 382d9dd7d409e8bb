// Package storetest is the test suite every store.Store implementation must
// pass. A store package calls Run from its own tests with a function that
// opens a fresh, empty, migrated store:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { ... })
//	}
//
// The suite relies only on the contract in package store, plus one
// convention of every store: the Create methods set the ID of the object
// they are given when it is empty.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// Run runs the whole suite. open is called once per subtest and must return
// a store of its own; the suite closes it when the subtest ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	groups := []struct {
		name  string
		cases []testCase
	}{
		{"Environments", environmentTests},
		{"Tokens", tokenTests},
		{"Applications", applicationTests},
		{"TroubledApplications", troubledTests},
		{"InternalApplications", internalAppTests},
		{"EventTypes", eventTypeTests},
		{"Endpoints", endpointTests},
		{"EndpointRevisions", endpointRevisionTests},
		{"Messages", messageTests},
		{"Deliveries", deliveryTests},
		{"Attempts", attemptTests},
		{"BinaryAttempts", binaryAttemptTests},
		{"Queue", queueTests},
		{"QueueDepth", depthTests},
		{"SendSlots", sendSlotTests},
		{"Nodes", nodeTests},
		{"Handoff", handoffTests},
		{"Idempotency", idempotencyTests},
		{"BackgroundTasks", backgroundTaskTests},
		{"TaskLeases", taskLeaseTests},
		{"Retention", retentionTests},
		{"Cascades", cascadeTests},
		{"BadKeys", badKeyTests},
		{"EndpointStatus", endpointStatusTests},
		{"Health", healthTests},
		{"EndpointSummaries", summaryTests},
		{"PortalSessions", portalSessionTests},
		{"Compat", compatTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.cases {
				t.Run(tc.name, func(t *testing.T) {
					s := open(t)
					t.Cleanup(func() {
						if err := s.Close(); err != nil {
							t.Errorf("close store: %v", err)
						}
					})
					tc.fn(newHarness(t, s))
				})
			}
		})
	}
}

// testCase is one subtest of a group; each gets a fresh store.
type testCase struct {
	name string
	fn   func(h *harness)
}

// t0 is the base of every time the suite sets: whole seconds, UTC, in the
// past, so that a message created at t0 is due for any claim made now.
var t0 = time.Date(2024, 5, 25, 9, 0, 0, 0, time.UTC)

// harness carries the store under test and makes fixtures.
type harness struct {
	*testing.T
	s     store.Store
	ctx   context.Context
	clock atomic.Int64 // seconds after t0 handed out by tick
	seq   atomic.Int64
}

func newHarness(t *testing.T, s store.Store) *harness {
	return &harness{T: t, s: s, ctx: t.Context()}
}

// tick returns a time one second later than the previous tick.
func (h *harness) tick() time.Time {
	return t0.Add(time.Duration(h.clock.Add(1)) * time.Second)
}

// name returns a unique name with the given prefix.
func (h *harness) name(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, h.seq.Add(1))
}

func (h *harness) must(err error, what string) {
	h.Helper()
	if err != nil {
		h.Fatalf("%s: %v", what, err)
	}
}

// wantErr fails unless errors.Is(err, target).
func (h *harness) wantErr(err, target error, what string) {
	h.Helper()
	if !errors.Is(err, target) {
		h.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// equal fails unless got and want are equal as the store sees them: times
// compare by instant, and a nil slice or map equals an empty one.
func (h *harness) equal(what string, got, want any) {
	h.Helper()
	if !deepEqual(reflect.ValueOf(got), reflect.ValueOf(want)) {
		h.Fatalf("%s:\n got: %s\nwant: %s", what, show(got), show(want))
	}
}

func show(v any) string {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	if rv.IsValid() && rv.CanInterface() {
		return fmt.Sprintf("%+v", rv.Interface())
	}
	return fmt.Sprintf("%+v", v)
}

var timeType = reflect.TypeFor[time.Time]()

func deepEqual(a, b reflect.Value) bool {
	if !a.IsValid() || !b.IsValid() {
		return a.IsValid() == b.IsValid()
	}
	if a.Type() != b.Type() {
		return false
	}
	if a.Type() == timeType {
		return a.Interface().(time.Time).Equal(b.Interface().(time.Time))
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return deepEqual(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			if !deepEqual(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !deepEqual(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		for _, k := range a.MapKeys() {
			bv := b.MapIndex(k)
			if !bv.IsValid() || !deepEqual(a.MapIndex(k), bv) {
				return false
			}
		}
		return true
	case reflect.Bool:
		return a.Bool() == b.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return a.Int() == b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return a.Uint() == b.Uint()
	case reflect.Float32, reflect.Float64:
		return a.Float() == b.Float()
	case reflect.String:
		return a.String() == b.String()
	}
	if !a.CanInterface() {
		panic(fmt.Sprintf("storetest: cannot compare unexported %s", a.Type()))
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

func ptr[T any](v T) *T { return &v }

// newEnv creates an environment with a unique name.
func (h *harness) newEnv() *hookrelay.Environment {
	h.Helper()
	env := &hookrelay.Environment{Name: h.name("env"), CreatedAt: h.tick()}
	h.must(h.s.CreateEnvironment(h.ctx, env), "create environment")
	if env.ID == "" {
		h.Fatal("create environment: no ID set")
	}
	return env
}

// newApp creates an application in envID.
func (h *harness) newApp(envID string, mods ...func(*hookrelay.Application)) *hookrelay.Application {
	h.Helper()
	at := h.tick()
	app := &hookrelay.Application{EnvID: envID, Name: h.name("app"), CreatedAt: at, UpdatedAt: at}
	for _, m := range mods {
		m(app)
	}
	h.must(h.s.CreateApplication(h.ctx, app), "create application")
	if app.ID == "" {
		h.Fatal("create application: no ID set")
	}
	return app
}

// newEndpoint creates an endpoint of appID that receives everything.
func (h *harness) newEndpoint(appID string, mods ...func(*hookrelay.Endpoint)) *hookrelay.Endpoint {
	h.Helper()
	at := h.tick()
	ep := &hookrelay.Endpoint{
		AppID:     appID,
		URL:       "https://example.com/" + h.name("hook"),
		Version:   1,
		Secret:    "whsec_" + strings.Repeat("A", 32),
		CreatedAt: at,
		UpdatedAt: at,
	}
	for _, m := range mods {
		m(ep)
	}
	h.must(h.s.CreateEndpoint(h.ctx, ep), "create endpoint")
	if ep.ID == "" {
		h.Fatal("create endpoint: no ID set")
	}
	return ep
}

// publish creates a message of eventType in appID, created at the next
// tick, and returns it with the number of deliveries queued.
func (h *harness) publish(appID, eventType string, mods ...func(*store.CreateMessageParams)) (*hookrelay.Message, int) {
	h.Helper()
	p := store.CreateMessageParams{Message: &hookrelay.Message{
		AppID:     appID,
		EventType: eventType,
		Payload:   []byte(`{"type":"` + eventType + `"}`),
		CreatedAt: h.tick(),
	}}
	for _, m := range mods {
		m(&p)
	}
	res, err := h.s.CreateMessage(h.ctx, p)
	h.must(err, "create message")
	if p.Message.ID == "" {
		h.Fatal("create message: no ID set")
	}
	return p.Message, res.Deliveries
}

// claimAll claims every delivery due at now for owner.
func (h *harness) claimAll(owner string, now time.Time) []store.Task {
	h.Helper()
	tasks, err := h.s.ClaimDeliveries(h.ctx, store.ClaimParams{
		Owner: owner, Now: now, LeaseUntil: now.Add(time.Minute), Limit: 1000,
	})
	h.must(err, "claim deliveries")
	return tasks
}

// complete records one attempt for a claimed task.
func (h *harness) complete(owner string, task store.Task, code int, status hookrelay.MessageStatus, attempts int, next *time.Time, at time.Time) hookrelay.Attempt {
	h.Helper()
	aStatus := hookrelay.StatusFail
	if code >= 200 && code < 300 {
		aStatus = hookrelay.StatusSuccess
	}
	r := store.AttemptResult{
		Owner: owner,
		Attempt: hookrelay.Attempt{
			DeliveryID:         task.Delivery.ID,
			MsgID:              task.Message.ID,
			AppID:              task.Message.AppID,
			EndpointID:         task.Endpoint.ID,
			URL:                task.Endpoint.URL,
			Status:             aStatus,
			ResponseStatusCode: code,
			Response:           fmt.Sprintf("response %d", code),
			ResponseDurationMs: 12,
			TriggerType:        hookrelay.TriggerScheduled,
			CreatedAt:          at,
		},
		Status:      status,
		NextAttempt: next,
		Attempts:    attempts,
	}
	results := []store.AttemptResult{r}
	h.must(h.s.CompleteAttempts(h.ctx, results), "complete attempts")
	if results[0].Attempt.ID == "" {
		h.Fatal("complete attempts: no attempt ID set")
	}
	return results[0].Attempt
}

// ids returns the IDs of items, in order.
func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = id(it)
	}
	return out
}

// paginate lists everything through pages of size limit, failing on a
// page longer than limit, a repeated key or too many pages.
func paginate[T any](h *harness, limit int, key func(T) string, list func(iterator string) ([]T, error)) []T {
	h.Helper()
	var all []T
	seen := map[string]bool{}
	iter := ""
	for range 1000 {
		page, err := list(iter)
		h.must(err, "list page")
		if len(page) > limit {
			h.Fatalf("page has %d items, limit %d", len(page), limit)
		}
		for _, it := range page {
			k := key(it)
			if seen[k] {
				h.Fatalf("item %s listed twice", k)
			}
			seen[k] = true
		}
		all = append(all, page...)
		if len(page) < limit {
			return all
		}
		iter = key(page[len(page)-1])
	}
	h.Fatal("pagination did not end")
	return nil
}

// reversed returns a reversed copy of ss.
func reversed(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[len(ss)-1-i] = s
	}
	return out
}
