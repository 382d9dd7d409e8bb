package ops_test

import (
	"context"
	"fmt"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/ops"
	"github.com/hookrelay/hookrelay/internal/store"
)

// stopAfterSave stops its runner once the first batch has been saved.
type stopAfterSave struct {
	store.Store
	stop  context.CancelFunc
	saves atomic.Int64
}

func (s *stopAfterSave) SaveBackgroundTask(ctx context.Context, id, owner string, now time.Time, st store.TaskState) error {
	err := s.Store.SaveBackgroundTask(ctx, id, owner, now, st)
	if err == nil && st.LeaseUntil != nil && s.saves.Add(1) == 1 {
		s.stop()
	}
	return err
}

// TestUsageTaskResumesWithoutDuplicates stops the node working an
// application.stats task after its first batch; another node resumes it,
// and every application is listed exactly once with its count.
func TestUsageTaskResumesWithoutDuplicates(t *testing.T) {
	twoNodes(t, func(t *testing.T, stA, stB store.Store) {
		ctx := context.Background()
		const apps, batch = 7, 3
		want := map[string]float64{}
		start := time.Now().Add(-time.Minute)
		for i := range apps {
			app := &hookrelay.Application{EnvID: hookrelay.DefaultEnvironment, Name: fmt.Sprint("app", i)}
			if err := stA.CreateApplication(ctx, app); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				ep := &hookrelay.Endpoint{AppID: app.ID, URL: "https://example.com/hook", Version: 1,
					Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
				if err := stA.CreateEndpoint(ctx, ep); err != nil {
					t.Fatal(err)
				}
			}
			for range i {
				m := &hookrelay.Message{AppID: app.ID, EventType: "x", Payload: []byte(`{}`)}
				if _, err := stA.CreateMessage(ctx, store.CreateMessageParams{Message: m}); err != nil {
					t.Fatal(err)
				}
			}
			want[app.ID] = float64(2 * i)
		}
		task, err := ops.NewAppStatsTask(hookrelay.DefaultEnvironment,
			ops.AppStatsParams{Since: start, Until: time.Now().Add(time.Minute)}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := stA.CreateBackgroundTask(ctx, task); err != nil {
			t.Fatal(err)
		}

		ctxA, cancelA := context.WithCancel(ctx)
		a := &stopAfterSave{Store: stA, stop: cancelA}
		ra := ops.NewRunner(ops.Config{Store: a, NodeID: "a", LeaseTTL: time.Hour, BatchSize: batch,
			PollInterval: 10 * time.Millisecond, Logger: logger(t).With("node", "a")})
		if err := ra.Run(ctxA); err != nil {
			t.Fatal(err)
		}
		handed, err := stA.GetBackgroundTask(ctx, hookrelay.DefaultEnvironment, task.ID)
		if err != nil || handed.Status != store.TaskRunning || handed.Owner != "" || len(handed.Data["appStats"].([]any)) != batch {
			t.Fatalf("task handed back after one batch: %+v, %v", handed, err)
		}

		rb := ops.NewRunner(ops.Config{Store: stB, NodeID: "b", LeaseTTL: time.Hour, BatchSize: batch,
			PollInterval: 10 * time.Millisecond, Logger: logger(t).With("node", "b")})
		run(t, rb)
		done := waitEnded(t, stB, task.ID, 10*time.Second)
		got := map[string]float64{}
		for _, e := range done.Data["appStats"].([]any) {
			m := e.(map[string]any)
			id := m["appId"].(string)
			if _, dup := got[id]; dup {
				t.Errorf("application %s listed twice", id)
			}
			got[id] = m["messageDestinations"].(float64)
		}
		keys := func(m map[string]float64) []string {
			var out []string
			for k, v := range m {
				out = append(out, fmt.Sprint(k, "=", v))
			}
			sort.Strings(out)
			return out
		}
		if done.Status != store.TaskFinished || fmt.Sprint(keys(got)) != fmt.Sprint(keys(want)) || done.Data["applications"] != float64(apps) {
			t.Errorf("task %+v\n got %v\nwant %v", done, keys(got), keys(want))
		}
	})
}
