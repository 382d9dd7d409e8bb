package ops_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/ops"
	"github.com/hookrelay/hookrelay/internal/pgtest"
	"github.com/hookrelay/hookrelay/internal/store"
	"github.com/hookrelay/hookrelay/internal/store/postgres"
	"github.com/hookrelay/hookrelay/internal/store/sqlite"
)

// twoNodes runs test with two stores over one database, as two nodes see
// it: the same SQLite store (SQLite serves one node), or two PostgreSQL
// stores with pools of their own (skipped without
// HOOKRELAY_TEST_DATABASE_URL).
func twoNodes(t *testing.T, test func(t *testing.T, a, b store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		test(t, st, st)
	})
	t.Run("postgres", func(t *testing.T) {
		u := newPostgresDatabase(t)
		var sts []store.Store
		for range 2 {
			st, err := postgres.Open(context.Background(), u)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			sts = append(sts, st)
		}
		test(t, sts[0], sts[1])
	})
}

// newPostgresDatabase is a database of the test's own on the server of
// HOOKRELAY_TEST_DATABASE_URL (skipped without it), dropped when the test ends.
func newPostgresDatabase(t *testing.T) string {
	t.Helper()
	return pgtest.NewDatabase(t, "hookrelay_ops")
}

// seedFailed makes n failed deliveries to one endpoint and returns the
// application and endpoint IDs.
func seedFailed(t *testing.T, st store.Store, n int) (string, string) {
	t.Helper()
	ctx := context.Background()
	app := &hookrelay.Application{EnvID: hookrelay.DefaultEnvironment, Name: "app"}
	if err := st.CreateApplication(ctx, app); err != nil {
		t.Fatal(err)
	}
	ep := &hookrelay.Endpoint{AppID: app.ID, URL: "https://example.com/hook", Version: 1,
		Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
	if err := st.CreateEndpoint(ctx, ep); err != nil {
		t.Fatal(err)
	}
	for range n {
		m := &hookrelay.Message{AppID: app.ID, EventType: "x", Payload: []byte(`{}`)}
		if _, err := st.CreateMessage(ctx, store.CreateMessageParams{Message: m}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	tasks, err := st.ClaimDeliveries(ctx, store.ClaimParams{Owner: "seed", Now: now, LeaseUntil: now.Add(time.Minute), Limit: n})
	if err != nil || len(tasks) != n {
		t.Fatalf("claim: %d, %v", len(tasks), err)
	}
	results := make([]store.AttemptResult, n)
	for i, tk := range tasks {
		results[i] = store.AttemptResult{Owner: "seed", Status: hookrelay.StatusFail, Attempts: 1,
			Attempt: hookrelay.Attempt{DeliveryID: tk.Delivery.ID, MsgID: tk.Message.ID, AppID: app.ID,
				EndpointID: ep.ID, URL: ep.URL, Status: hookrelay.StatusFail, ResponseStatusCode: 500,
				TriggerType: hookrelay.TriggerScheduled, CreatedAt: now}}
	}
	if err := st.CompleteAttempts(ctx, results); err != nil {
		t.Fatal(err)
	}
	return app.ID, ep.ID
}

// startRecovery creates the task that recovers the endpoint's failures.
func startRecovery(t *testing.T, st store.Store, appID, epID string) string {
	t.Helper()
	task, err := ops.NewRecoverTask(hookrelay.DefaultEnvironment,
		store.RecoverParams{AppID: appID, EndpointID: epID, Since: time.Now().Add(-time.Hour)}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateBackgroundTask(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	return task.ID
}

// waitEnded polls the task until it is no longer running.
func waitEnded(t *testing.T, st store.Store, id string, within time.Duration) *store.BackgroundTask {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		task, err := st.GetBackgroundTask(context.Background(), hookrelay.DefaultEnvironment, id)
		if err != nil {
			t.Fatal(err)
		}
		if task.Status != store.TaskRunning {
			return task
		}
		if time.Now().After(deadline) {
			t.Fatalf("task still running after %v: %+v", within, task)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pendingCount counts the endpoint's pending deliveries.
func pendingCount(t *testing.T, st store.Store, appID, epID string) int {
	t.Helper()
	pending := hookrelay.StatusPending
	ems, err := st.ListEndpointMessages(context.Background(), store.ListDeliveriesParams{
		AppID: appID, EndpointID: epID, Status: &pending, Page: store.Page{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	return len(ems)
}

// node is a store as one runner sees it: it counts the batches that
// committed, and can freeze (a node that stopped dead: its next batch
// waits until thaw, then runs with its stale claim) or stop its runner
// after its first batch.
type node struct {
	store.Store
	batches  atomic.Int64
	freeze   bool
	thaw     chan struct{}
	frozen   chan struct{} // closed when a batch is held
	once     sync.Once
	stopAt1  context.CancelFunc
	lateErrs chan error
}

func (n *node) RecoverBatch(ctx context.Context, step store.TaskStep, p store.RecoverParams) (store.BatchResult, error) {
	if n.freeze && n.batches.Load() >= 1 {
		n.once.Do(func() { close(n.frozen) })
		<-n.thaw
		// The stalled node's batch reaches the database late.
		_, err := n.Store.RecoverBatch(context.WithoutCancel(ctx), step, p)
		n.lateErrs <- err
		return store.BatchResult{}, err
	}
	res, err := n.Store.RecoverBatch(ctx, step, p)
	if err == nil {
		n.batches.Add(1)
		if n.stopAt1 != nil {
			n.stopAt1()
		}
	}
	return res, err
}

func run(t *testing.T, r *ops.Runner) context.CancelFunc {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return cancel
}

func logger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// TestDeadNodesTaskFinishesElsewhere: node A claims a recovery, commits one
// batch and stops dead holding it; node B takes the task once A's lease
// lapses and finishes it. A's batch, let run afterwards, is refused and
// changes nothing: every failure is recovered once and counted once.
func TestDeadNodesTaskFinishesElsewhere(t *testing.T) {
	twoNodes(t, func(t *testing.T, stA, stB store.Store) {
		const failed, batch = 45, 10
		appID, epID := seedFailed(t, stA, failed)
		id := startRecovery(t, stA, appID, epID)

		a := &node{Store: stA, freeze: true, thaw: make(chan struct{}), frozen: make(chan struct{}), lateErrs: make(chan error, 1)}
		lease := 300 * time.Millisecond
		ra := ops.NewRunner(ops.Config{Store: a, NodeID: "a", LeaseTTL: lease, BatchSize: batch,
			PollInterval: 10 * time.Millisecond, Logger: logger(t).With("node", "a")})
		run(t, ra)
		select {
		case <-a.frozen:
		case <-time.After(10 * time.Second):
			t.Fatal("node A did not reach its second batch")
		}
		if got := pendingCount(t, stA, appID, epID); got != batch {
			t.Fatalf("after A's batch: %d pending, want %d", got, batch)
		}

		b := &node{Store: stB}
		rb := ops.NewRunner(ops.Config{Store: b, NodeID: "b", LeaseTTL: lease, BatchSize: batch,
			PollInterval: 10 * time.Millisecond, Logger: logger(t).With("node", "b")})
		start := time.Now()
		run(t, rb)
		task := waitEnded(t, stB, id, 10*time.Second)
		if took := time.Since(start); took < lease/2 {
			t.Errorf("B finished the task %v after starting, before A's lease could lapse", took)
		}
		if task.Status != store.TaskFinished || task.Data["recovered"] != float64(failed) || task.Owner != "" {
			t.Fatalf("task: %+v", task)
		}
		if a.batches.Load() != 1 || b.batches.Load() < 1 {
			t.Errorf("batches: A %d, B %d", a.batches.Load(), b.batches.Load())
		}

		// A wakes up and runs its batch with its stale claim.
		close(a.thaw)
		if err := <-a.lateErrs; !errors.Is(err, store.ErrTaskLost) {
			t.Errorf("A's late batch: %v, want ErrTaskLost", err)
		}
		if got := pendingCount(t, stA, appID, epID); got != failed {
			t.Errorf("%d pending, want %d", got, failed)
		}
		after, err := stA.GetBackgroundTask(context.Background(), hookrelay.DefaultEnvironment, id)
		if err != nil || after.Status != store.TaskFinished || after.Data["recovered"] != float64(failed) {
			t.Errorf("task after A's late batch: %+v, %v", after, err)
		}
	})
}

// TestStoppingNodeHandsTaskBack: a node shut down mid-task hands it back,
// so another node resumes it at once rather than after the lease.
func TestStoppingNodeHandsTaskBack(t *testing.T) {
	twoNodes(t, func(t *testing.T, stA, stB store.Store) {
		const failed, batch = 25, 10
		appID, epID := seedFailed(t, stA, failed)
		id := startRecovery(t, stA, appID, epID)

		ctxA, cancelA := context.WithCancel(context.Background())
		a := &node{Store: stA, stopAt1: cancelA}
		ra := ops.NewRunner(ops.Config{Store: a, NodeID: "a", LeaseTTL: time.Hour, BatchSize: batch,
			PollInterval: 10 * time.Millisecond, Logger: logger(t).With("node", "a")})
		if err := ra.Run(ctxA); err != nil {
			t.Fatal(err)
		}
		task, err := stA.GetBackgroundTask(context.Background(), hookrelay.DefaultEnvironment, id)
		if err != nil || task.Status != store.TaskRunning || task.Owner != "" || task.LeaseUntil != nil ||
			task.Data["recovered"] != float64(batch) || task.Cursor == "" {
			t.Fatalf("task handed back: %+v, %v", task, err)
		}

		b := &node{Store: stB}
		rb := ops.NewRunner(ops.Config{Store: b, NodeID: "b", LeaseTTL: time.Hour, BatchSize: batch,
			PollInterval: 10 * time.Millisecond, Logger: logger(t).With("node", "b")})
		run(t, rb)
		task = waitEnded(t, stB, id, 10*time.Second)
		if task.Status != store.TaskFinished || task.Data["recovered"] != float64(failed) {
			t.Fatalf("task: %+v", task)
		}
		if a.batches.Load() != 1 || b.batches.Load() != 2 {
			t.Errorf("batches: A %d, B %d; want 1 and 2", a.batches.Load(), b.batches.Load())
		}
	})
}
