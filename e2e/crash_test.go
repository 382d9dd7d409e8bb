package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
)

// TestCrashLosesNothing publishes a steady load, kills the server with
// SIGKILL midway, restarts it on the same database and checks that every
// message the API accepted reaches every endpoint at least once.
func TestCrashLosesNothing(t *testing.T) {
	srv := startServer(t, serverOptions{
		Args: []string{"--retry-schedule", "500ms,1s,1s,1s,1s", "--retry-jitter", "0", "--lease-ttl", "2s"},
	})
	ctx := ctxT(t)
	client := srv.SDK()
	receivers := []*receiver{newReceiver(t), newReceiver(t)}
	// Slow the receivers a little so work is in flight at the kill.
	for _, r := range receivers {
		r.setRespond(func(n int, _ *http.Request) (int, http.Header) {
			time.Sleep(5 * time.Millisecond)
			return http.StatusOK, nil
		})
	}
	app, err := client.Application.Create(ctx, &svix.ApplicationIn{Name: "crash"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range receivers {
		if _, err := client.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: r.URL}); err != nil {
			t.Fatal(err)
		}
	}

	const publishers, perPublisher = 8, 60
	var (
		mu       sync.Mutex
		accepted = map[string]bool{}
		killed   atomic.Bool
		sent     atomic.Int64
		wg       sync.WaitGroup
	)
	httpClient := &http.Client{Timeout: 10 * time.Second}
	for p := 0; p < publishers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := 0; i < perPublisher && !killed.Load(); i++ {
				body, _ := json.Marshal(map[string]any{"eventType": "load.tick", "payload": map[string]any{"p": p, "i": i}})
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/app/"+app.Id+"/msg", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+srv.Token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := httpClient.Do(req)
				if err != nil {
					continue // the server is gone: not accepted
				}
				var out struct{ ID string }
				_ = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted && out.ID != "" {
					mu.Lock()
					accepted[out.ID] = true
					mu.Unlock()
				}
				sent.Add(1)
			}
		}(p)
	}
	waitFor(t, 60*time.Second, "a third of the load to be published", func() bool { return sent.Load() >= publishers*perPublisher/3 })
	killed.Store(true)
	srv.Kill()
	wg.Wait()
	mu.Lock()
	nAccepted := len(accepted)
	mu.Unlock()
	before := [2]int{len(receivers[0].requests()), len(receivers[1].requests())}
	t.Logf("killed after %d accepted messages; receivers had %v", nAccepted, before)
	if nAccepted == 0 {
		t.Fatal("nothing was accepted before the kill")
	}

	srv.Restart()
	for i, r := range receivers {
		waitFor(t, 90*time.Second, fmt.Sprintf("receiver %d to get every accepted message", i), func() bool {
			return len(missing(r, accepted)) == 0
		})
		dups := 0
		seen := map[string]int{}
		for _, req := range r.requests() {
			seen[req.Header.Get("webhook-id")]++
		}
		for _, n := range seen {
			if n > 1 {
				dups += n - 1
			}
		}
		t.Logf("receiver %d: %d requests for %d accepted messages, %d duplicates (work in flight at the kill)", i, len(r.requests()), nAccepted, dups)
	}
}

func missing(r *receiver, accepted map[string]bool) []string {
	got := map[string]bool{}
	for _, req := range r.requests() {
		got[req.Header.Get("webhook-id")] = true
	}
	var out []string
	for id := range accepted {
		if !got[id] {
			out = append(out, id)
		}
	}
	return out
}

// TestAdminTokenBootstrap starts without HOOKRELAY_ADMIN_TOKEN: the first
// start prints a token once, later starts print none, and the token works.
func TestAdminTokenBootstrap(t *testing.T) {
	srv := startServer(t, serverOptions{Token: "-"})
	var token string
	waitFor(t, 5*time.Second, "the generated token in the output", func() bool {
		for _, line := range strings.Split(srv.logs.String(), "\n") {
			if l := strings.TrimSpace(line); strings.HasPrefix(l, "hr_") {
				token = l
				return true
			}
		}
		return false
	})
	if code, body := srv.do("GET", "/api/v1/app", token, nil); code != http.StatusOK {
		t.Fatalf("generated token: %d %s", code, body)
	}
	if code, body := srv.do("GET", "/api/v1/app", token+"x", nil); code != http.StatusUnauthorized || !strings.Contains(string(body), `"code"`) {
		t.Fatalf("wrong token: %d %s", code, body)
	}
	if code, _ := srv.do("GET", "/api/v1/app", "", nil); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", code)
	}
	srv.Stop()
	srv.Restart()
	if srv.logs.contains("Generated an admin API token") {
		t.Fatal("a second start printed a new token")
	}
	if code, body := srv.do("GET", "/api/v1/app", token, nil); code != http.StatusOK {
		t.Fatalf("token after restart: %d %s", code, body)
	}
}
