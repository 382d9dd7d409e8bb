package ops_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/ops"
	"github.com/hookrelay/hookrelay/internal/store"
	"github.com/hookrelay/hookrelay/internal/store/sqlite"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Two cleaners over one database: one run removes everything due, the
// other finds the lease held and removes nothing, until the holder gives
// it up. Both cleaners' counts add up to what was removed.
func TestCleanerRunsOnOneNodeAtATime(t *testing.T) {
	twoNodes(t, func(t *testing.T, a, b store.Store) {
		ctx := context.Background()
		app := &hookrelay.Application{EnvID: hookrelay.DefaultEnvironment, Name: "a"}
		if err := a.CreateApplication(ctx, app); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-time.Hour)
		const n = 300
		for range n {
			m := &hookrelay.Message{AppID: app.ID, EventType: "x", Payload: []byte(`{}`), CreatedAt: old, PayloadExpiresAt: &old}
			if _, err := a.CreateMessage(ctx, store.CreateMessageParams{Message: m}); err != nil {
				t.Fatal(err)
			}
		}
		mk := func(st store.Store, node string) *ops.Cleaner {
			return ops.NewCleaner(ops.CleanerConfig{Store: st, NodeID: node, HistoryRetention: time.Minute,
				BatchSize: 10, Pause: -1, LeaseTTL: time.Minute, Logger: quiet})
		}
		ca, cb := mk(a, "node-a"), mk(b, "node-b")
		var wg sync.WaitGroup
		ran := map[string]bool{}
		var mu sync.Mutex
		for _, c := range []struct {
			name string
			c    *ops.Cleaner
		}{{"a", ca}, {"b", cb}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := c.c.RunOnce(ctx)
				if err != nil {
					t.Errorf("run %s: %v", c.name, err)
				}
				mu.Lock()
				ran[c.name] = ok
				mu.Unlock()
			}()
		}
		wg.Wait()
		if ran["a"] == ran["b"] {
			t.Fatalf("runs: %v, want exactly one", ran)
		}
		winner, loser, loserStore := ca, cb, b
		winnerNode := "node-a"
		if ran["b"] {
			winner, loser, loserStore, winnerNode = cb, ca, a, "node-b"
		}
		if got := winner.Stats().Removed[string(store.PurgePayloads)] + loser.Stats().Removed[string(store.PurgePayloads)]; got != n {
			t.Errorf("payloads removed by both: %d, want %d", got, n)
		}
		if got := winner.Stats().Removed[string(store.PurgeMessages)]; got != n {
			t.Errorf("messages removed by the holder: %d, want %d", got, n)
		}
		if got := loser.Stats().Removed; got[string(store.PurgeMessages)] != 0 || got[string(store.PurgePayloads)] != 0 {
			t.Errorf("the other node removed %v", got)
		}
		if st := winner.Stats(); st.Runs != 1 || st.LastRun.IsZero() || st.Last[string(store.PurgeMessages)] != n {
			t.Errorf("holder's stats %+v", st)
		}
		// The holder keeps its lease until it lapses or is given up.
		if ok, err := loser.RunOnce(ctx); ok || err != nil {
			t.Fatalf("other node while the lease holds: ran %v, %v", ok, err)
		}
		var holder store.Store = a
		if winnerNode == "node-b" {
			holder = b
		}
		if err := holder.ReleaseCleanerLease(ctx, winnerNode); err != nil {
			t.Fatal(err)
		}
		if ok, err := loser.RunOnce(ctx); !ok || err != nil {
			t.Fatalf("other node once the lease is given up: ran %v, %v", ok, err)
		}
		msgs, err := loserStore.ListMessages(ctx, store.ListMessagesParams{AppID: app.ID, Page: store.Page{Limit: 10}})
		if err != nil || len(msgs) != 0 {
			t.Fatalf("messages left: %d (%v)", len(msgs), err)
		}
	})
}

// Under a steady load with a short retention the SQLite file stops
// growing: the cleaner removes rows as fast as they come and the freed
// pages are reused or given back.
func TestCleanerKeepsSQLiteFileBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("takes seconds")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	path := filepath.Join(t.TempDir(), "db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	app := &hookrelay.Application{EnvID: hookrelay.DefaultEnvironment, Name: "a"}
	if err := st.CreateApplication(ctx, app); err != nil {
		t.Fatal(err)
	}
	const retention = 2 * time.Second
	c := ops.NewCleaner(ops.CleanerConfig{Store: st, NodeID: "n", HistoryRetention: retention,
		Interval: 200 * time.Millisecond, BatchSize: 200, Logger: quiet})
	cleanerDone := make(chan struct{})
	go func() { _ = c.Run(ctx); close(cleanerDone) }()
	defer func() { cancel(); <-cleanerDone }()

	// About 1 MB/s of payloads: 250 messages of 4 KiB a second.
	payload := []byte(`{"pad":"` + strings.Repeat("x", 4096) + `"}`)
	publishDone := make(chan struct{})
	var published int
	go func() {
		defer close(publishDone)
		tick := time.NewTicker(4 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			now := time.Now()
			exp := now.Add(retention)
			m := &hookrelay.Message{AppID: app.ID, EventType: "x", Payload: payload, CreatedAt: now, PayloadExpiresAt: &exp}
			if _, err := st.CreateMessage(ctx, store.CreateMessageParams{Message: m}); err != nil {
				return
			}
			published++
		}
	}()
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	var sizes []int64
	for range 10 {
		time.Sleep(time.Second)
		sizes = append(sizes, size())
	}
	cancel()
	<-publishDone
	t.Logf("file size each second: %v (%d messages, %d bytes of payload)", sizes, published, published*len(payload))
	// After the first seconds (retention plus a run) the file stays
	// within the high-water mark of seconds 3 to 5, plus some slack for
	// the WAL checkpoint timing.
	high := max(sizes[2], sizes[3], sizes[4])
	for i := 5; i < len(sizes); i++ {
		if sizes[i] > high+high/4 {
			t.Errorf("second %d: file %d bytes, above %d (seconds 3-5 reached %d): still growing", i+1, sizes[i], high+high/4, high)
		}
	}
	if total := int64(published * len(payload)); sizes[len(sizes)-1] > total/2 {
		t.Errorf("file %d bytes after %d bytes of payload published: not purged", sizes[len(sizes)-1], total)
	}
	if st := c.Stats(); st.Removed[string(store.PurgeMessages)] == 0 {
		t.Errorf("cleaner stats: %+v", st)
	}
}

// countingReport adds up what a cleaner reports, by kind.
type countingReport struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *countingReport) CleanerRemoved(kind string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n[kind] += n
}

// What a run removes reaches the configured report (the metrics), kind by
// kind, as the run's own stats count it.
func TestCleanerReportsWhatItRemoved(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	app := &hookrelay.Application{EnvID: hookrelay.DefaultEnvironment, Name: "a"}
	if err := st.CreateApplication(ctx, app); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	for range 25 {
		m := &hookrelay.Message{AppID: app.ID, EventType: "x", Payload: []byte(`{}`), CreatedAt: old, PayloadExpiresAt: &old}
		if _, err := st.CreateMessage(ctx, store.CreateMessageParams{Message: m}); err != nil {
			t.Fatal(err)
		}
	}
	rep := &countingReport{n: map[string]int{}}
	c := ops.NewCleaner(ops.CleanerConfig{Store: st, NodeID: "n", HistoryRetention: time.Minute,
		BatchSize: 10, Pause: -1, LeaseTTL: time.Minute, Logger: quiet, Report: rep})
	if ok, err := c.RunOnce(ctx); !ok || err != nil {
		t.Fatalf("run: %v %v", ok, err)
	}
	for kind, n := range c.Stats().Removed {
		if rep.n[kind] != int(n) {
			t.Errorf("%s: reported %d, stats %d", kind, rep.n[kind], n)
		}
	}
	if rep.n[string(store.PurgeMessages)] != 25 {
		t.Errorf("messages reported %d, want 25", rep.n[string(store.PurgeMessages)])
	}
}

// A run prunes health rollups by width: minute rows after two days, hour
// rows after 60 days, day rows after the history retention.
func TestCleanerPrunesHealthRollups(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	app := &hookrelay.Application{EnvID: hookrelay.DefaultEnvironment, Name: "a"}
	if err := st.CreateApplication(ctx, app); err != nil {
		t.Fatal(err)
	}
	ep := &hookrelay.Endpoint{AppID: app.ID, URL: "https://example.com/", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
	if err := st.CreateEndpoint(ctx, ep); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ages := []time.Duration{time.Hour, 3 * 24 * time.Hour, 90 * 24 * time.Hour, 200 * 24 * time.Hour}
	m := &hookrelay.Message{AppID: app.ID, EventType: "x", Payload: []byte(`{}`)}
	if _, err := st.CreateMessage(ctx, store.CreateMessageParams{Message: m}); err != nil {
		t.Fatal(err)
	}
	tasks, err := st.ClaimDeliveries(ctx, store.ClaimParams{Owner: "n", Now: now.Add(time.Second), LeaseUntil: now.Add(time.Minute), Limit: 1})
	if err != nil || len(tasks) != 1 {
		t.Fatalf("claim: %v, %d tasks", err, len(tasks))
	}
	var results []store.AttemptResult
	for _, age := range ages {
		results = append(results, store.AttemptResult{Owner: "n", Status: hookrelay.StatusPending, Attempts: 1, Attempt: hookrelay.Attempt{
			DeliveryID: tasks[0].Delivery.ID, EndpointID: ep.ID, AppID: app.ID, Status: hookrelay.StatusFail,
			ResponseStatusCode: 500, Outcome: hookrelay.OutcomeRejected, CreatedAt: now.Add(-age)}})
	}
	if err := st.CompleteAttempts(ctx, results); err != nil {
		t.Fatal(err)
	}
	count := func(width time.Duration) int {
		hs, err := st.HealthRollups(ctx, store.HealthParams{AppID: app.ID, EndpointID: ep.ID, Width: width,
			Since: now.Add(-365 * 24 * time.Hour), Until: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return len(hs)
	}
	if m, h, d := count(hookrelay.HealthMinute), count(hookrelay.HealthHour), count(hookrelay.HealthDay); m != 4 || h != 4 || d != 4 {
		t.Fatalf("before: %d minute, %d hour, %d day rollups; want 4 each", m, h, d)
	}
	c := ops.NewCleaner(ops.CleanerConfig{Store: st, NodeID: "n", HistoryRetention: 120 * 24 * time.Hour,
		Pause: -1, LeaseTTL: time.Minute, Logger: quiet})
	if ok, err := c.RunOnce(ctx); !ok || err != nil {
		t.Fatalf("run: %v %v", ok, err)
	}
	if m, h, d := count(hookrelay.HealthMinute), count(hookrelay.HealthHour), count(hookrelay.HealthDay); m != 1 || h != 2 || d != 3 {
		t.Errorf("after: %d minute, %d hour, %d day rollups; want 1, 2 and 3", m, h, d)
	}
	if got := c.Stats().Removed["health_rollups"]; got != 3+2+1 {
		t.Errorf("rollups removed %d, want 6", got)
	}
}
