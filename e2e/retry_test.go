package e2e

import (
	"net/http"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
)

// setupApp creates an application with one endpoint at url and returns
// their IDs.
func setupApp(t *testing.T, client *svix.Svix, url string) (appID, epID string) {
	t.Helper()
	ctx := ctxT(t)
	app, err := client.Application.Create(ctx, &svix.ApplicationIn{Name: t.Name()})
	if err != nil {
		t.Fatalf("create app: %v", err)
	}
	ep, err := client.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: url})
	if err != nil {
		t.Fatalf("create endpoint: %v", err)
	}
	return app.Id, ep.Id
}

func destinationStatus(t *testing.T, client *svix.Svix, appID, msgID string) int {
	t.Helper()
	l, err := client.MessageAttempt.ListAttemptedDestinations(ctxT(t), appID, msgID, nil)
	if err != nil || len(l.Data) != 1 {
		t.Fatalf("attempted destinations: %+v %v", l, err)
	}
	return int(l.Data[0].Status)
}

func TestRetriesFollowTheSchedule(t *testing.T) {
	forEachDatabase(t, testRetries)
}

func testRetries(t *testing.T, db string) {
	srv := startServer(t, serverOptions{DB: db, Args: []string{"--retry-schedule", "1s,2s,1s", "--retry-jitter", "0"}})
	client := srv.SDK()
	ctx := ctxT(t)

	t.Run("recovering receiver gets the message", func(t *testing.T) {
		rcv := newReceiver(t)
		rcv.setRespond(func(n int, r *http.Request) (int, http.Header) {
			if n <= 2 {
				return http.StatusInternalServerError, nil
			}
			return http.StatusOK, nil
		})
		appID, epID := setupApp(t, client, rcv.URL)
		msg, err := client.Message.Create(ctx, appID, &svix.MessageIn{EventType: "a.b", Payload: map[string]interface{}{"x": 1}})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, "the third attempt", func() bool { return len(rcv.requests()) >= 3 })
		got := rcv.requests()
		// Waits of 1s then 2s, measured at the receiver, with slack for a busy machine.
		assertGap(t, got[0].At, got[1].At, time.Second)
		assertGap(t, got[1].At, got[2].At, 2*time.Second)
		for _, r := range got {
			if r.Header.Get("webhook-id") != msg.Id {
				t.Errorf("retry carries webhook-id %q, want %q", r.Header.Get("webhook-id"), msg.Id)
			}
		}
		waitFor(t, 10*time.Second, "status success", func() bool { return destinationStatus(t, client, appID, msg.Id) == 0 })
		l, err := client.MessageAttempt.ListByEndpoint(ctx, appID, epID, nil)
		if err != nil || len(l.Data) != 3 {
			t.Fatalf("want 3 attempts logged, got %+v %v", l, err)
		}
		if l.Data[2].ResponseStatusCode != 500 || l.Data[0].ResponseStatusCode != 200 {
			t.Errorf("attempt codes newest first = %d, %d, %d", l.Data[0].ResponseStatusCode, l.Data[1].ResponseStatusCode, l.Data[2].ResponseStatusCode)
		}
		// Success is terminal: the receiver got exactly the attempts logged.
		if n := len(rcv.requests()); n != len(l.Data) {
			t.Errorf("receiver got %d requests for %d logged attempts", n, len(l.Data))
		}
	})

	t.Run("exhausted message ends in fail and can be recovered", func(t *testing.T) {
		rcv := newReceiver(t)
		rcv.setRespond(func(n int, r *http.Request) (int, http.Header) { return http.StatusServiceUnavailable, nil })
		appID, epID := setupApp(t, client, rcv.URL)
		before := time.Now().Add(-time.Minute)
		msg, err := client.Message.Create(ctx, appID, &svix.MessageIn{EventType: "a.b", Payload: map[string]interface{}{"x": 2}})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, "status fail", func() bool { return destinationStatus(t, client, appID, msg.Id) == 2 })
		if n := len(rcv.requests()); n != 4 {
			t.Fatalf("receiver got %d attempts, want 4 (first + 3 retries)", n)
		}
		l, err := client.MessageAttempt.ListByMsg(ctx, appID, msg.Id, nil)
		if err != nil || len(l.Data) != 4 {
			t.Fatalf("want 4 failed attempts logged: %+v %v", l, err)
		}
		for _, a := range l.Data {
			if a.Status != 2 || a.ResponseStatusCode != 503 {
				t.Errorf("attempt %+v: want status fail, code 503", a)
			}
		}
		stats, err := client.Endpoint.GetStats(ctx, appID, epID)
		if err != nil || stats.Fail != 1 {
			t.Fatalf("stats = %+v %v", stats, err)
		}

		// The receiver comes back; recover re-sends everything failed since.
		rcv.setRespond(nil)
		if _, err := client.Endpoint.Recover(ctx, appID, epID, &svix.RecoverIn{Since: before}); err != nil {
			t.Fatalf("recover: %v", err)
		}
		waitFor(t, 10*time.Second, "the recovered delivery", func() bool { return destinationStatus(t, client, appID, msg.Id) == 0 })
		if n := len(rcv.requests()); n != 5 {
			t.Errorf("receiver got %d requests, want 5", n)
		}
	})

	t.Run("Retry-After is honoured", func(t *testing.T) {
		rcv := newReceiver(t)
		rcv.setRespond(func(n int, r *http.Request) (int, http.Header) {
			if n == 1 {
				return http.StatusTooManyRequests, http.Header{"Retry-After": []string{"3"}}
			}
			return http.StatusOK, nil
		})
		appID, _ := setupApp(t, client, rcv.URL)
		if _, err := client.Message.Create(ctx, appID, &svix.MessageIn{EventType: "a.b", Payload: map[string]interface{}{"x": 3}}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, "the retry", func() bool { return len(rcv.requests()) == 2 })
		got := rcv.requests()
		assertGap(t, got[0].At, got[1].At, 3*time.Second)
	})
}

// assertGap checks that b came at least want after a (less 100ms for clock
// granularity) and not absurdly later.
func assertGap(t *testing.T, a, b time.Time, want time.Duration) {
	t.Helper()
	gap := b.Sub(a)
	if gap < want-100*time.Millisecond {
		t.Errorf("gap between attempts %s, want at least %s", gap, want)
	}
	if gap > want+5*time.Second {
		t.Errorf("gap between attempts %s, want about %s", gap, want)
	}
}
