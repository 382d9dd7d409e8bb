package e2e

import (
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
)

// TestBackgroundTasksOfTheServer recovers and replays through the real
// binary: the answers are running tasks, which the server's own runner
// finishes, and its dispatcher delivers what they queued.
func TestBackgroundTasksOfTheServer(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db string) {
		srv := startServer(t, serverOptions{DB: db, Args: []string{"--retry-schedule", "none"}})
		client := srv.SDK()
		ctx := ctxT(t)
		var failing atomic.Bool
		failing.Store(true)
		rcv := newReceiver(t)
		rcv.setRespond(func(n int, r *http.Request) (int, http.Header) {
			if failing.Load() {
				return http.StatusInternalServerError, nil
			}
			return http.StatusOK, nil
		})
		appID, epID := setupApp(t, client, rcv.URL)
		since := time.Now().Add(-time.Minute)
		for i := range 5 {
			if _, err := client.Message.Create(ctx, appID, &svix.MessageIn{EventType: "a.b", Payload: map[string]any{"n": i}}); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, 20*time.Second, "five failed deliveries", func() bool {
			st, err := client.Endpoint.GetStats(ctx, appID, epID)
			return err == nil && st.Fail == 5
		})
		failing.Store(false)

		// The Go SDK v1.44.0 has no client for the task routes: raw HTTP,
		// decoded into its model.
		waitTask := func(id string) svix.BackgroundTaskOut {
			t.Helper()
			var out svix.BackgroundTaskOut
			waitFor(t, 20*time.Second, "task "+id+" to end", func() bool {
				status, body := srv.do("GET", "/api/v1/background-task/"+id, srv.Token, nil)
				if status != http.StatusOK {
					t.Fatalf("get task: %d %s", status, body)
				}
				if err := json.Unmarshal(body, &out); err != nil {
					t.Fatalf("task %s: %v", body, err)
				}
				return out.Status != "running"
			})
			return out
		}

		rec, err := client.Endpoint.Recover(ctx, appID, epID, &svix.RecoverIn{Since: since})
		if err != nil || rec.Status != "running" {
			t.Fatalf("recover: %+v, %v", rec, err)
		}
		if task := waitTask(rec.Id); task.Status != "finished" || task.Data["recovered"] != float64(5) {
			t.Fatalf("recover task: %+v", task)
		}
		waitFor(t, 20*time.Second, "five recovered deliveries", func() bool {
			st, err := client.Endpoint.GetStats(ctx, appID, epID)
			return err == nil && st.Success == 5
		})
		if n := len(rcv.requests()); n != 10 {
			t.Errorf("receiver got %d requests, want 5 failed and 5 recovered", n)
		}

		// A new endpoint gets the five through replay-missing.
		rcv2 := newReceiver(t)
		ep2, err := client.Endpoint.Create(ctx, appID, &svix.EndpointIn{Url: rcv2.URL})
		if err != nil {
			t.Fatal(err)
		}
		status, body := srv.do("POST", "/api/v1/app/"+appID+"/endpoint/"+ep2.Id+"/replay-missing", srv.Token,
			`{"since":"`+since.UTC().Format(time.RFC3339Nano)+`"}`)
		var rep svix.ReplayOut
		if status != http.StatusAccepted || json.Unmarshal(body, &rep) != nil || rep.Status != "running" {
			t.Fatalf("replay-missing: %d %s", status, body)
		}
		if task := waitTask(rep.Id); task.Status != "finished" || task.Data["replayed"] != float64(5) {
			t.Fatalf("replay task: %+v", task)
		}
		waitFor(t, 20*time.Second, "five replayed deliveries", func() bool { return len(rcv2.requests()) == 5 })
		seen := map[string]bool{}
		for _, r := range rcv2.requests() {
			seen[r.Header.Get("webhook-id")] = true
		}
		if len(seen) != 5 {
			t.Errorf("replayed messages: %v", seen)
		}
	})
}
