package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
)

// publishRaw posts one message and returns its ID when the server accepted
// it (202), or "" when it did not.
func publishRaw(c *http.Client, base, token, appID string, payload map[string]any) (string, int) {
	body, _ := json.Marshal(map[string]any{"eventType": "load.tick", "payload": payload})
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/app/"+appID+"/msg", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return "", 0
	}
	defer resp.Body.Close()
	var out struct{ ID string }
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusAccepted {
		return "", resp.StatusCode
	}
	return out.ID, resp.StatusCode
}

func duplicates(r *receiver) int {
	seen := map[string]int{}
	for _, req := range r.requests() {
		seen[req.Header.Get("webhook-id")]++
	}
	d := 0
	for _, n := range seen {
		d += n - 1
	}
	return d
}

// TestThreeNodesOneKilled runs three nodes on one PostgreSQL database,
// publishes a steady load through all of them, SIGKILLs one midway, and
// checks that every accepted message reaches every endpoint.
func TestThreeNodesOneKilled(t *testing.T) {
	db := newPostgresDatabase(t)
	args := []string{"--retry-schedule", "500ms,1s,1s,1s,1s", "--retry-jitter", "0", "--lease-ttl", "3s"}
	nodes := []*server{
		startServer(t, serverOptions{DB: db, Args: args}),
		startServer(t, serverOptions{DB: db, Args: args}),
		startServer(t, serverOptions{DB: db, Args: args}),
	}
	ctx := ctxT(t)
	client := nodes[0].SDK()
	receivers := []*receiver{newReceiver(t), newReceiver(t)}
	for _, r := range receivers {
		// Slow enough that every node has requests in flight at the kill.
		r.setRespond(func(int, *http.Request) (int, http.Header) {
			time.Sleep(50 * time.Millisecond)
			return http.StatusOK, nil
		})
	}
	app, err := client.Application.Create(ctx, &svix.ApplicationIn{Name: "three nodes"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range receivers {
		if _, err := client.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: r.URL}); err != nil {
			t.Fatal(err)
		}
	}

	const total = 600
	var (
		mu       sync.Mutex
		accepted = map[string]bool{}
		sent     atomic.Int64
		killed   atomic.Bool
		wg       sync.WaitGroup
	)
	hc := &http.Client{Timeout: 10 * time.Second}
	for p := 0; p < 6; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := 0; ; i++ {
				n := sent.Add(1)
				if n > total {
					return
				}
				node := nodes[int(n)%3]
				if killed.Load() && node == nodes[2] {
					node = nodes[0]
				}
				if id, _ := publishRaw(hc, node.URL, testToken, app.Id, map[string]any{"n": n}); id != "" {
					mu.Lock()
					accepted[id] = true
					mu.Unlock()
				}
				time.Sleep(5 * time.Millisecond)
			}
		}(p)
	}
	waitFor(t, 60*time.Second, "a third of the load", func() bool { return sent.Load() >= total/3 })
	killed.Store(true)
	nodes[2].Kill()
	wg.Wait()
	t.Logf("accepted %d of %d messages; node 3 was killed after about %d", len(accepted), total, total/3)

	for i, r := range receivers {
		waitFor(t, 90*time.Second, fmt.Sprintf("receiver %d to get every accepted message", i), func() bool {
			return len(missing(r, accepted)) == 0
		})
		t.Logf("receiver %d: %d requests, %d duplicates (deliveries in flight on the killed node)", i, len(r.requests()), duplicates(r))
	}
	// Work was shared: each surviving node delivered something.
	for i, n := range nodes[:2] {
		if !n.logs.contains("msg=listening") {
			t.Errorf("node %d did not start", i)
		}
	}
}

// TestRateLimitAcrossNodes gives an endpoint rateLimit 10 and publishes a
// burst through three nodes: the receiver must see about 10 per second in
// total, not 10 per node.
func TestRateLimitAcrossNodes(t *testing.T) {
	db := newPostgresDatabase(t)
	nodes := []*server{
		startServer(t, serverOptions{DB: db}),
		startServer(t, serverOptions{DB: db}),
		startServer(t, serverOptions{DB: db}),
	}
	ctx := ctxT(t)
	client := nodes[0].SDK()
	rcv := newReceiver(t)
	app, err := client.Application.Create(ctx, &svix.ApplicationIn{Name: "rate"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: rcv.URL, RateLimit: svix.Int32(10)}); err != nil {
		t.Fatal(err)
	}
	const total = 50
	hc := &http.Client{Timeout: 10 * time.Second}
	for i := 0; i < total; i++ {
		if id, code := publishRaw(hc, nodes[i%3].URL, testToken, app.Id, map[string]any{"i": i}); id == "" {
			t.Fatalf("publish %d: status %d", i, code)
		}
	}
	waitFor(t, 60*time.Second, "every message", func() bool { return len(rcv.requests()) >= total })
	got := rcv.requests()
	times := make([]time.Time, len(got))
	for i, r := range got {
		times[i] = r.At
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	// The most arrivals in any one-second window.
	most := 0
	for i := range times {
		j := i
		for j < len(times) && times[j].Sub(times[i]) < time.Second {
			j++
		}
		most = max(most, j-i)
	}
	span := times[len(times)-1].Sub(times[0])
	t.Logf("%d deliveries over %s; at most %d in any second", len(times), span, most)
	if most > 13 {
		t.Errorf("at most %d arrivals in one second, want about 10 (limit 10/s summed over 3 nodes)", most)
	}
	if span < 3500*time.Millisecond {
		t.Errorf("%d deliveries took %s; at 10/s they need about 4.9s", len(times), span)
	}
}

// TestPostgresOutage cuts every connection to PostgreSQL during a load and
// refuses new ones for a while: the API answers 503 meanwhile, the node
// reconnects by itself, and nothing accepted is lost.
func TestPostgresOutage(t *testing.T) {
	db := newPostgresDatabase(t)
	u, _ := url.Parse(db)
	proxy := newTCPProxy(t, u.Host)
	u.Host = proxy.Addr()
	srv := startServer(t, serverOptions{DB: u.String(), Args: []string{"--retry-schedule", "500ms,1s,1s,1s,1s", "--retry-jitter", "0"}})
	ctx := ctxT(t)
	client := srv.SDK()
	rcv := newReceiver(t)
	appID, _ := setupApp(t, client, rcv.URL)

	hc := &http.Client{Timeout: 10 * time.Second}
	accepted := map[string]bool{}
	publish := func(n int) int {
		id, code := publishRaw(hc, srv.URL, testToken, appID, map[string]any{"n": n})
		if id != "" {
			accepted[id] = true
		}
		return code
	}
	for i := 0; i < 50; i++ {
		if code := publish(i); code != http.StatusAccepted {
			t.Fatalf("publish before the outage: %d", code)
		}
	}
	proxy.cut()
	saw503 := 0
	for i := 0; i < 20; i++ {
		code := publish(100 + i)
		switch code {
		case http.StatusServiceUnavailable:
			saw503++
		case http.StatusAccepted:
			t.Errorf("publish accepted while the database was unreachable")
		default:
			t.Errorf("publish during the outage: status %d, want 503", code)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, body := srv.do("GET", "/api/v1/health", "", nil); code != http.StatusServiceUnavailable {
		t.Errorf("health during the outage: %d %s", code, body)
	}
	if saw503 == 0 {
		t.Error("no 503 during the outage")
	}
	time.Sleep(2 * time.Second)
	proxy.restore()
	waitFor(t, 30*time.Second, "the API to answer again", func() bool {
		code, _ := srv.do("GET", "/api/v1/health", "", nil)
		return code == http.StatusNoContent
	})
	// Every publish refused for the outage counts as a database error.
	if _, fams := scrape(t, srv.URL+"/metrics"); series(fams, "hookrelay_store_errors_total")["source=api"] != float64(saw503) {
		t.Errorf("store errors after %d publishes answered 503: %v", saw503, series(fams, "hookrelay_store_errors_total"))
	}
	for i := 0; i < 50; i++ {
		if code := publish(200 + i); code != http.StatusAccepted {
			t.Fatalf("publish after the outage: %d", code)
		}
	}
	waitFor(t, 60*time.Second, "every accepted message", func() bool { return len(missing(rcv, accepted)) == 0 })
	if n := len(accepted); n != 100 {
		t.Errorf("accepted %d messages, want 100", n)
	}
	_ = ctx
	if strings.Contains(srv.logs.String(), "panic") {
		t.Errorf("the server panicked:\n%s", srv.logs)
	}
}

// TestConcurrencyCapAcrossNodes gives three nodes a per-endpoint cap of 6
// and a slow receiver: the receiver never sees more than 6 requests at once.
func TestConcurrencyCapAcrossNodes(t *testing.T) {
	db := newPostgresDatabase(t)
	args := []string{"--max-in-flight", "6", "--lease-ttl", "3s"}
	nodes := []*server{
		startServer(t, serverOptions{DB: db, Args: args}),
		startServer(t, serverOptions{DB: db, Args: args}),
		startServer(t, serverOptions{DB: db, Args: args}),
	}
	// Heartbeats come every lease-ttl/3: let every node see the others.
	waitFor(t, 10*time.Second, "every node to see three live nodes", func() bool {
		for _, n := range nodes {
			if !n.logs.contains("nodes=3") {
				return false
			}
		}
		return true
	})
	client := nodes[0].SDK()
	rcv := newReceiver(t)
	var cur, most atomic.Int64
	rcv.setRespond(func(int, *http.Request) (int, http.Header) {
		n := cur.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(150 * time.Millisecond)
		cur.Add(-1)
		return http.StatusOK, nil
	})
	appID, _ := setupApp(t, client, rcv.URL)
	const total = 60
	hc := &http.Client{Timeout: 10 * time.Second}
	for i := 0; i < total; i++ {
		if id, code := publishRaw(hc, nodes[i%3].URL, testToken, appID, map[string]any{"i": i}); id == "" {
			t.Fatalf("publish: %d", code)
		}
	}
	waitFor(t, 60*time.Second, "every message", func() bool { return len(rcv.requests()) >= total })
	t.Logf("at most %d requests in flight at once", most.Load())
	if m := most.Load(); m > 6 {
		t.Errorf("%d requests in flight at once, want at most 6 over all nodes", m)
	}
	if m := most.Load(); m < 3 {
		t.Errorf("only %d requests in flight at once: the nodes did not share the work", m)
	}
}
