package e2e

import (
	"net/http"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
)

// TestGracefulShutdown sends SIGTERM while deliveries are in flight: the
// process exits cleanly, in-flight attempts finish and are recorded, the
// rest is released, and after a restart every message arrives exactly once.
func TestGracefulShutdown(t *testing.T) {
	srv := startServer(t, serverOptions{Args: []string{"--max-in-flight", "4", "--shutdown-grace", "5s", "--lease-ttl", "30s"}})
	ctx := ctxT(t)
	client := srv.SDK()
	rcv := newReceiver(t)
	rcv.setRespond(func(n int, _ *http.Request) (int, http.Header) {
		time.Sleep(300 * time.Millisecond)
		return http.StatusOK, nil
	})
	appID, _ := setupApp(t, client, rcv.URL)
	accepted := map[string]bool{}
	for i := 0; i < 30; i++ {
		m, err := client.Message.Create(ctx, appID, &svix.MessageIn{EventType: "a.b", Payload: map[string]interface{}{"i": i}})
		if err != nil {
			t.Fatal(err)
		}
		accepted[m.Id] = true
	}
	waitFor(t, 10*time.Second, "the first deliveries", func() bool { return len(rcv.requests()) >= 2 })
	srv.Stop()
	if code := srv.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0", code)
	}
	if !srv.logs.contains("msg=stopped") {
		t.Fatalf("no clean stop in the log:\n%s", srv.logs)
	}
	delivered := len(rcv.requests())
	t.Logf("%d of 30 delivered before the stop", delivered)

	// The lease TTL is 30s: only released work can be redelivered this fast.
	srv.Restart()
	waitFor(t, 20*time.Second, "every message after the restart", func() bool { return len(missing(rcv, accepted)) == 0 })
	time.Sleep(500 * time.Millisecond)
	seen := map[string]int{}
	for _, r := range rcv.requests() {
		seen[r.Header.Get("webhook-id")]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("message %s delivered %d times; a graceful stop should duplicate nothing", id, n)
		}
	}
}
