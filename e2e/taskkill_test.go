package e2e

import (
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
)

// TestKilledNodesTaskFinishesElsewhere kills (SIGKILL) the node working a
// recover task in the middle of it and starts another on the same
// database: the new node takes the task over once its lease lapses,
// resumes at its cursor, and the task ends having recovered every failed
// message exactly once; each of them then arrives.
func TestKilledNodesTaskFinishesElsewhere(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db string) {
		const n = 400
		// One delivery a batch, so that the task runs long enough to be
		// killed in the middle; a short lease, so that the next node need
		// not wait long for it.
		srv := startServer(t, serverOptions{DB: db, Args: []string{
			"--retry-schedule", "none", "--task-batch-size", "1", "--lease-ttl", "2s"}})
		client := srv.SDK()
		ctx := ctxT(t)
		var failing atomic.Bool
		failing.Store(true)
		rcv := newReceiver(t)
		rcv.setRespond(func(int, *http.Request) (int, http.Header) {
			if failing.Load() {
				return http.StatusInternalServerError, nil
			}
			return http.StatusOK, nil
		})
		appID, epID := setupApp(t, client, rcv.URL)
		since := time.Now().Add(-time.Minute)
		for i := range n {
			if _, err := client.Message.Create(ctx, appID, &svix.MessageIn{EventType: "a.b", Payload: map[string]any{"n": i}}); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, 60*time.Second, "every delivery to fail", func() bool {
			st, err := client.Endpoint.GetStats(ctx, appID, epID)
			return err == nil && st.Fail == n
		})
		failing.Store(false)
		recovering := time.Now()

		rec, err := client.Endpoint.Recover(ctx, appID, epID, &svix.RecoverIn{Since: since})
		if err != nil || rec.Status != "running" {
			t.Fatalf("recover: %+v, %v", rec, err)
		}
		// The Go SDK v1.44.0 has no client for the task routes.
		task := func() (status string, recovered int) {
			t.Helper()
			code, body := srv.do("GET", "/api/v1/background-task/"+rec.Id, srv.Token, nil)
			if code != http.StatusOK {
				t.Fatalf("get task: %d %s", code, body)
			}
			var out svix.BackgroundTaskOut
			if err := json.Unmarshal(body, &out); err != nil {
				t.Fatalf("task %s: %v", body, err)
			}
			f, _ := out.Data["recovered"].(float64)
			return string(out.Status), int(f)
		}
		var before int
		waitFor(t, 30*time.Second, "the task to be part done", func() bool {
			status, recovered := task()
			if status != "running" {
				t.Fatalf("the task ended (%s, %d recovered) before the node could be killed in the middle of it", status, recovered)
			}
			before = recovered
			return recovered > 0
		})
		srv.Kill()
		t.Logf("killed the node with %d of %d recovered", before, n)
		srv.Restart()
		waitFor(t, 60*time.Second, "the task to end on the new node", func() bool {
			status, _ := task()
			return status != "running"
		})
		status, recovered := task()
		if status != "finished" || recovered != n {
			t.Fatalf("task ended %s with %d recovered (%d before the kill), want finished with %d", status, recovered, before, n)
		}
		client = srv.SDK() // the new node listens on a port of its own
		waitFor(t, 60*time.Second, "every recovered message to arrive", func() bool {
			st, err := client.Endpoint.GetStats(ctx, appID, epID)
			return err == nil && st.Success == n
		})
		got := map[string]bool{}
		for _, r := range rcv.requests() {
			if !r.At.Before(recovering) {
				got[r.Header.Get("webhook-id")] = true
			}
		}
		if len(got) != n {
			t.Errorf("%d messages arrived after the recover, want %d", len(got), n)
		}
	})
}
