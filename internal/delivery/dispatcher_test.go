package delivery_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/delivery"
	"github.com/hookrelay/hookrelay/internal/store"
	"github.com/hookrelay/hookrelay/signature"
)

func TestDeliverSigned(t *testing.T) {
	tests := []struct {
		name        string
		svixHeaders bool
		method      string
	}{
		{name: "webhook headers, POST"},
		{name: "svix headers, PUT", svixHeaders: true, method: "PUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			rc := newReceiver(t, nil)
			oldSecret := newSecret(t)
			ep := f.endpoint(rc.URL+"/hooks/in", func(ep *hookrelay.Endpoint) {
				ep.Headers = map[string]string{
					"X-WEBHOOK-TOKEN":   "s3cret",
					"Authorization":     "Bearer abc",
					"webhook-id":        "forged",
					"Svix-Signature":    "v1,forged",
					"content-type":      "text/plain",
					"User-Agent":        "forged",
					"Webhook-Timestamp": "1",
				}
				ep.OldSecrets = []hookrelay.OldSecret{
					{Secret: oldSecret, ExpiresAt: time.Now().Add(time.Hour)},
					{Secret: newSecret(t), ExpiresAt: time.Now().Add(-time.Hour)},
				}
				ep.Options.Method = tt.method
			})
			cfg := baseConfig(f.st)
			cfg.SvixHeaders = tt.svixHeaders
			d, _ := startDispatcher(t, cfg)

			// Odd spacing, unicode and key order must reach the receiver as is.
			payload := "{\"type\":\"call.completed\",  \"data\": {\"z\":1,\"a\":\"h\u00e9llo \u2603\"}}\n"
			published := time.Now()
			m := f.publish(ep.ID, payload)
			d.Wake()
			waitFor(t, 3*time.Second, "the request", func() bool { return rc.count() == 1 })
			if lag := rc.requests()[0].at.Sub(published); lag > time.Second {
				t.Errorf("delivered %v after publish; Wake should make it prompt", lag)
			}
			waitFor(t, 3*time.Second, "the delivery to succeed", func() bool {
				return f.deliveryOf(m.ID, ep.ID).Status == hookrelay.StatusSuccess
			})

			req := rc.requests()[0]
			if string(req.body) != payload {
				t.Errorf("body = %q, want %q", req.body, payload)
			}
			wantMethod := "POST"
			if tt.method != "" {
				wantMethod = tt.method
			}
			if req.method != wantMethod || req.path != "/hooks/in" {
				t.Errorf("request %s %s, want %s /hooks/in", req.method, req.path, wantMethod)
			}
			h := req.header
			prefix, other := "webhook-", "svix-"
			if tt.svixHeaders {
				prefix, other = other, prefix
			}
			checks := map[string]string{
				"Content-Type":    "application/json",
				"User-Agent":      "hookrelay/" + hookrelay.Version,
				"X-Webhook-Token": "s3cret",
				"Authorization":   "Bearer abc",
				prefix + "id":     m.ID,
			}
			for k, v := range checks {
				if got := h.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if tt.svixHeaders {
				for _, k := range []string{"webhook-id", "webhook-timestamp"} {
					if v := h.Get(k); v != "" {
						t.Errorf("header %s = %q: a custom header must not be sent under a reserved name", k, v)
					}
				}
			} else if v := h.Get(other + "signature"); v != "" {
				t.Errorf("header %ssignature = %q: a custom header must not be sent under a reserved name", other, v)
			}
			ts, _ := strconv.ParseInt(h.Get(prefix+"timestamp"), 10, 64)
			if d := time.Since(time.Unix(ts, 0)); d < -time.Second || d > 10*time.Second {
				t.Errorf("timestamp %d is %v from now", ts, d)
			}
			sig := h.Get(prefix + "signature")
			if n := len(strings.Fields(sig)); n != 2 {
				t.Errorf("signature header %q has %d entries, want 2 (current + unexpired old secret)", sig, n)
			}
			for i, secret := range []string{ep.Secret, oldSecret} {
				if err := signature.Verify([]string{secret}, h.Get(prefix+"id"), h.Get(prefix+"timestamp"), sig, req.body, time.Now(), 0); err != nil {
					t.Errorf("signature.Verify with secret %d: %v", i, err)
				}
				wh, err := svix.NewWebhook(secret)
				if err != nil {
					t.Fatal(err)
				}
				if err := wh.Verify(req.body, h); err != nil {
					t.Errorf("svix Verify with secret %d: %v", i, err)
				}
			}

			as := f.attempts(m.ID)
			if len(as) != 1 {
				t.Fatalf("%d attempts, want 1", len(as))
			}
			a := as[0]
			if a.Status != hookrelay.StatusSuccess || a.ResponseStatusCode != 200 || a.TriggerType != hookrelay.TriggerScheduled ||
				a.URL != ep.URL || a.EndpointID != ep.ID {
				t.Errorf("attempt = %+v", a)
			}
			if dl := f.deliveryOf(m.ID, ep.ID); dl.Attempts != 1 || dl.NextAttempt != nil {
				t.Errorf("delivery = %+v, want 1 attempt and no next attempt", dl)
			}
		})
	}
}

func TestRetrySchedule(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n <= 2 {
			http.Error(w, fmt.Sprintf("down %d", n), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	ep := f.endpoint(rc.URL, nil)
	cfg := baseConfig(f.st)
	schedule := []time.Duration{150 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond}
	cfg.RetrySchedule = schedule
	d, _ := startDispatcher(t, cfg)
	m := f.publish(ep.ID, `{"n":1}`)
	d.Wake()
	waitFor(t, 5*time.Second, "the delivery to succeed", func() bool {
		return f.deliveryOf(m.ID, ep.ID).Status == hookrelay.StatusSuccess
	})
	reqs := rc.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i := 1; i < len(reqs); i++ {
		gap := reqs[i].at.Sub(reqs[i-1].at)
		// The schedule counts from the failed attempt's start; the gap
		// counts between arrivals, so allow a little under.
		if gap < schedule[i-1]-20*time.Millisecond || gap > schedule[i-1]+700*time.Millisecond {
			t.Errorf("gap before attempt %d = %v, want about %v", i+1, gap, schedule[i-1])
		}
		if reqs[i].header.Get("webhook-id") != m.ID {
			t.Errorf("attempt %d webhook-id = %q, want the message ID on every retry", i+1, reqs[i].header.Get("webhook-id"))
		}
	}
	as := f.attempts(m.ID)
	if len(as) != 3 {
		t.Fatalf("%d attempts recorded, want 3", len(as))
	}
	for i, a := range as {
		wantCode, wantStatus := 503, hookrelay.StatusFail
		if i == 2 {
			wantCode, wantStatus = 204, hookrelay.StatusSuccess
		}
		if a.ResponseStatusCode != wantCode || a.Status != wantStatus {
			t.Errorf("attempt %d: code %d status %d, want %d %d", i+1, a.ResponseStatusCode, a.Status, wantCode, wantStatus)
		}
		if i < 2 && a.Response != fmt.Sprintf("down %d\n", i+1) {
			t.Errorf("attempt %d response = %q", i+1, a.Response)
		}
	}
	if dl := f.deliveryOf(m.ID, ep.ID); dl.Attempts != 3 {
		t.Errorf("delivery attempts = %d, want 3", dl.Attempts)
	}
}

func TestRetryAfter(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
	})
	ep := f.endpoint(rc.URL, nil)
	cfg := baseConfig(f.st)
	cfg.RetrySchedule = []time.Duration{100 * time.Millisecond}
	d, _ := startDispatcher(t, cfg)
	m := f.publish(ep.ID, `{}`)
	d.Wake()
	waitFor(t, 5*time.Second, "the delivery to succeed", func() bool {
		return f.deliveryOf(m.ID, ep.ID).Status == hookrelay.StatusSuccess
	})
	reqs := rc.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	if gap := reqs[1].at.Sub(reqs[0].at); gap < 950*time.Millisecond || gap > 2*time.Second {
		t.Errorf("retry came %v after the 429 with Retry-After: 1", gap)
	}
}

func TestExhaustion(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		http.Error(w, "always broken", http.StatusInternalServerError)
	})
	ep := f.endpoint(rc.URL, nil)
	cfg := baseConfig(f.st)
	cfg.RetrySchedule = []time.Duration{100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond}
	var observed atomic.Int32
	cfg.Observer = observerFunc(func(task store.Task, res store.AttemptResult) {
		if task.Delivery.EndpointID == ep.ID && res.Attempt.ResponseStatusCode == 500 {
			observed.Add(1)
		}
	})
	d, _ := startDispatcher(t, cfg)
	m := f.publish(ep.ID, `{}`)
	d.Wake()
	waitFor(t, 5*time.Second, "the delivery to fail", func() bool {
		return f.deliveryOf(m.ID, ep.ID).Status == hookrelay.StatusFail
	})
	as := f.attempts(m.ID)
	if len(as) != 4 || rc.count() != 4 {
		t.Fatalf("%d attempts recorded, %d requests; want 4 of each", len(as), rc.count())
	}
	for i, a := range as {
		if a.Status != hookrelay.StatusFail || a.ResponseStatusCode != 500 || a.Response != "always broken\n" {
			t.Errorf("attempt %d = %+v", i+1, a)
		}
	}
	dl := f.deliveryOf(m.ID, ep.ID)
	if dl.Attempts != 4 || dl.NextAttempt != nil {
		t.Errorf("delivery = %+v, want 4 attempts and no next attempt", dl)
	}
	waitFor(t, time.Second, "the observer to see 4 attempts", func() bool { return observed.Load() == 4 })
	// Nothing more is due, however late: a claim two days on finds nothing.
	later := time.Now().Add(48 * time.Hour)
	tasks, err := f.st.ClaimDeliveries(context.Background(), store.ClaimParams{Owner: "later", Now: later, LeaseUntil: later.Add(time.Minute), Limit: 10})
	if err != nil || len(tasks) != 0 {
		t.Errorf("a claim two days later got %d tasks (err %v), want none", len(tasks), err)
	}
	if rc.count() != 4 {
		t.Errorf("%d requests for 4 recorded attempts", rc.count())
	}
}

type observerFunc func(store.Task, store.AttemptResult)

func (f observerFunc) AttemptRecorded(t store.Task, r store.AttemptResult) { f(t, r) }

func TestRecoveringReceiverGetsTheMessage(t *testing.T) {
	f := newFixture(t)
	var healthy atomic.Bool
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	ep := f.endpoint(rc.URL, nil)
	cfg := baseConfig(f.st)
	cfg.RetrySchedule = []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 400 * time.Millisecond}
	d, _ := startDispatcher(t, cfg)
	var msgs []*hookrelay.Message
	for i := range 5 {
		msgs = append(msgs, f.publish(ep.ID, fmt.Sprintf(`{"i":%d}`, i)))
	}
	d.Wake()
	waitFor(t, 3*time.Second, "two rounds of failures", func() bool { return rc.count() >= 10 })
	healthy.Store(true)
	waitFor(t, 5*time.Second, "every message to succeed", func() bool {
		for _, m := range msgs {
			if f.deliveryOf(m.ID, ep.ID).Status != hookrelay.StatusSuccess {
				return false
			}
		}
		return true
	})
}

func TestRedirectNotFollowed(t *testing.T) {
	f := newFixture(t)
	target := newReceiver(t, nil)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		http.Redirect(w, r, target.URL+"/elsewhere", http.StatusFound)
	})
	ep := f.endpoint(rc.URL, nil)
	d, _ := startDispatcher(t, baseConfig(f.st))
	m := f.publish(ep.ID, `{}`)
	d.Wake()
	waitFor(t, 3*time.Second, "the delivery to fail", func() bool {
		return f.deliveryOf(m.ID, ep.ID).Status == hookrelay.StatusFail
	})
	as := f.attempts(m.ID)
	if len(as) != 1 || as[0].ResponseStatusCode != http.StatusFound || as[0].Status != hookrelay.StatusFail {
		t.Fatalf("attempts = %+v, want one failed 302", as)
	}
	if target.count() != 0 {
		t.Fatalf("the redirect target got %d requests", target.count())
	}
}

// TestURLCredentialsBecomeBasicAuth: user and password in an endpoint's URL
// are sent as Basic authentication, unless a configured header says
// otherwise.
func TestURLCredentialsBecomeBasicAuth(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, nil)
	withUser := strings.Replace(rc.URL, "http://", "http://relay:s3cret@", 1)
	plain := f.endpoint(withUser+"/plain", nil)
	own := f.endpoint(withUser+"/own", func(ep *hookrelay.Endpoint) {
		ep.Headers = map[string]string{"Authorization": "Bearer mine"}
	})
	d, _ := startDispatcher(t, baseConfig(f.st))
	f.publish(plain.ID, `{}`)
	f.publish(own.ID, `{}`)
	d.Wake()
	waitFor(t, 3*time.Second, "both requests", func() bool { return rc.count() == 2 })
	want := map[string]string{
		"/plain": "Basic " + base64.StdEncoding.EncodeToString([]byte("relay:s3cret")),
		"/own":   "Bearer mine",
	}
	for _, r := range rc.requests() {
		if got := r.header.Get("Authorization"); got != want[r.path] {
			t.Errorf("%s: Authorization %q, want %q", r.path, got, want[r.path])
		}
	}
}

func TestHugeResponseCut(t *testing.T) {
	f := newFixture(t)
	const size = 8 << 20
	var wrote atomic.Int64
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.WriteHeader(http.StatusOK)
		chunk := []byte(strings.Repeat("\xe2\x98\x83", 1000)) // snowmen: a cut may split one
		for i := 0; i < size/len(chunk); i++ {
			m, err := w.Write(chunk)
			wrote.Add(int64(m))
			if err != nil {
				return
			}
		}
	})
	ep := f.endpoint(rc.URL, nil)
	cfg := baseConfig(f.st)
	cfg.ResponseBodyLimit = 1000
	d, _ := startDispatcher(t, cfg)
	m := f.publish(ep.ID, `{}`)
	d.Wake()
	waitFor(t, 5*time.Second, "the delivery to succeed", func() bool {
		return f.deliveryOf(m.ID, ep.ID).Status == hookrelay.StatusSuccess
	})
	as := f.attempts(m.ID)
	if len(as) != 1 {
		t.Fatalf("%d attempts", len(as))
	}
	resp := as[0].Response
	// 1000 bytes hold 333 whole snowmen and the first byte of one, kept
	// as received (the API shows it as U+FFFD).
	if want := strings.Repeat("\u2603", 333) + "\xe2"; resp != want {
		t.Errorf("response is %d bytes (%q...), want 333 snowmen and one byte", len(resp), resp[:min(len(resp), 12)])
	}
	if w := wrote.Load(); w >= size {
		t.Errorf("the whole %d-byte response was read", w)
	}
}

func TestSSRFRefused(t *testing.T) {
	tests := []struct {
		name, host string
	}{
		{"ip", "127.0.0.1"},
		{"name resolving to loopback", "localhost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			rc := newReceiver(t, nil)
			port := rc.URL[strings.LastIndex(rc.URL, ":")+1:]
			ep := f.endpoint("http://"+tt.host+":"+port+"/hook", nil)
			cfg := baseConfig(f.st)
			cfg.AllowPrivate = nil
			d, _ := startDispatcher(t, cfg)
			m := f.publish(ep.ID, `{}`)
			d.Wake()
			waitFor(t, 3*time.Second, "the delivery to fail", func() bool {
				return f.deliveryOf(m.ID, ep.ID).Status == hookrelay.StatusFail
			})
			as := f.attempts(m.ID)
			if len(as) != 1 {
				t.Fatalf("%d attempts", len(as))
			}
			a := as[0]
			if a.ResponseStatusCode != 0 || !strings.Contains(a.Response, "refused: loopback address") ||
				!strings.HasPrefix(a.Response, "destination ") {
				t.Errorf("attempt: code %d response %q, want 0 and a loopback refusal", a.ResponseStatusCode, a.Response)
			}
			if rc.count() != 0 {
				t.Errorf("the receiver got %d requests", rc.count())
			}
		})
	}
}

func TestHangingEndpointDoesNotDelayOthers(t *testing.T) {
	f := newFixture(t)
	hang := make(chan struct{})
	var hangOnce sync.Once
	t.Cleanup(func() { hangOnce.Do(func() { close(hang) }) })
	slow := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	fast := newReceiver(t, nil)
	slowEp := f.endpoint(slow.URL, func(ep *hookrelay.Endpoint) { ep.Options.TimeoutSeconds = 1 })
	fastEp := f.endpoint(fast.URL, nil)
	cfg := baseConfig(f.st)
	cfg.Workers = 16
	cfg.MaxInFlightPerEndpoint = 4
	cfg.ShutdownGrace = 100 * time.Millisecond
	d, stop := startDispatcher(t, cfg)

	const n = 40
	start := time.Now()
	for i := range n {
		// The hanging endpoint's messages come first in the queue.
		f.publish(slowEp.ID, fmt.Sprintf(`{"slow":%d}`, i))
	}
	for i := range n {
		f.publish(fastEp.ID, fmt.Sprintf(`{"fast":%d}`, i))
	}
	d.Wake()
	waitFor(t, 3*time.Second, "the healthy endpoint to get every message", func() bool { return fast.count() == n })
	took := time.Since(start)
	if took > 1500*time.Millisecond {
		t.Errorf("the healthy endpoint needed %v; the hanging one (1s timeout) must not delay it", took)
	}
	if c := slow.count(); c > 8 {
		t.Errorf("the hanging endpoint got %d requests at once; its cap is 4", c)
	}
	// The hanging endpoint's first round times out as failed attempts.
	waitFor(t, 5*time.Second, "timeouts to be recorded", func() bool {
		as, err := f.st.ListAttempts(context.Background(), store.ListAttemptsParams{AppID: f.app.ID, EndpointID: slowEp.ID, Page: store.Page{Limit: 250}})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			if a.Status != hookrelay.StatusFail || a.ResponseStatusCode != 0 || a.Response != "request timed out after 1s" {
				t.Fatalf("attempt %+v, want a timeout", a)
			}
		}
		return len(as) >= 4
	})
	stop()
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, nil)
	ep := f.endpoint(rc.URL, func(ep *hookrelay.Endpoint) { r := 10; ep.RateLimit = &r })
	other := newReceiver(t, nil)
	otherEp := f.endpoint(other.URL, nil)
	cfg := baseConfig(f.st)
	// Few workers: work waiting for its rate limit must not hold one.
	cfg.Workers = 2
	d, _ := startDispatcher(t, cfg)
	const n = 25
	for i := range n {
		f.publish(ep.ID, fmt.Sprintf(`{"i":%d}`, i))
	}
	for i := range n {
		f.publish(otherEp.ID, fmt.Sprintf(`{"i":%d}`, i))
	}
	start := time.Now()
	d.Wake()
	waitFor(t, 2*time.Second, "the unlimited endpoint to get everything", func() bool { return other.count() == n })
	if took := time.Since(start); took > time.Second {
		t.Errorf("the unlimited endpoint needed %v: the rate limit of another endpoint held it back", took)
	}
	waitFor(t, 6*time.Second, "the limited endpoint to get everything", func() bool { return rc.count() == n })
	reqs := rc.requests()
	span := reqs[n-1].at.Sub(reqs[0].at)
	// 10/s with a bucket of one: 25 requests span at least 2.4s.
	if span < 2300*time.Millisecond {
		t.Errorf("25 requests at 10/s took %v", span)
	}
	for i := range reqs {
		j := i
		for j < len(reqs) && reqs[j].at.Sub(reqs[i].at) < time.Second {
			j++
		}
		// Send times follow exact slots; arrival times at the receiver can
		// bunch by one when a loaded machine delays a request.
		if j-i > 12 {
			t.Fatalf("%d requests within one second from request %d", j-i, i)
		}
	}
}

// TestApplicationRateLimit: an application's rateLimit holds for each of
// its endpoints that has none of its own; an endpoint's own overrides it.
func TestApplicationRateLimit(t *testing.T) {
	f := newFixture(t)
	r := 10
	f.app.RateLimit = &r
	if err := f.st.UpdateApplication(context.Background(), f.app); err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t, nil)
	ep := f.endpoint(rc.URL, nil)
	own := newReceiver(t, nil)
	ownEp := f.endpoint(own.URL, func(ep *hookrelay.Endpoint) { r := 1000; ep.RateLimit = &r })
	d, _ := startDispatcher(t, baseConfig(f.st))
	const n = 25
	for i := range n {
		f.publish(ep.ID, fmt.Sprintf(`{"i":%d}`, i))
		f.publish(ownEp.ID, fmt.Sprintf(`{"i":%d}`, i))
	}
	start := time.Now()
	d.Wake()
	waitFor(t, 2*time.Second, "the endpoint with its own limit to get everything", func() bool { return own.count() == n })
	if took := time.Since(start); took > time.Second {
		t.Errorf("the endpoint limited to 1000/s needed %v: the application's limit held it back", took)
	}
	waitFor(t, 6*time.Second, "the endpoint without its own limit to get everything", func() bool { return rc.count() == n })
	reqs := rc.requests()
	// 10/s: 25 requests span at least 2.4s.
	if span := reqs[n-1].at.Sub(reqs[0].at); span < 2300*time.Millisecond {
		t.Errorf("25 requests at the application's 10/s took %v", span)
	}
}

func TestManualResend(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, nil)
	ep := f.endpoint(rc.URL, nil)
	d, _ := startDispatcher(t, baseConfig(f.st))
	m := f.publish(ep.ID, `{"resend":true}`)
	d.Wake()
	waitFor(t, 3*time.Second, "the delivery to succeed", func() bool {
		return f.deliveryOf(m.ID, ep.ID).Status == hookrelay.StatusSuccess
	})
	if err := f.st.Resend(context.Background(), f.app.ID, m.ID, ep.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	d.Wake()
	waitFor(t, 3*time.Second, "the resent attempt", func() bool { return len(f.attempts(m.ID)) == 2 })
	as := f.attempts(m.ID)
	if as[0].TriggerType != hookrelay.TriggerScheduled || as[1].TriggerType != hookrelay.TriggerManual || as[1].Status != hookrelay.StatusSuccess {
		t.Errorf("attempts = %+v", as)
	}
	reqs := rc.requests()
	if len(reqs) != 2 || reqs[1].header.Get("webhook-id") != m.ID || string(reqs[1].body) != `{"resend":true}` {
		t.Errorf("resent request = %+v", reqs[len(reqs)-1])
	}
	if dl := f.deliveryOf(m.ID, ep.ID); dl.Attempts != 1 || dl.Manual || dl.Status != hookrelay.StatusSuccess {
		t.Errorf("delivery = %+v, want 1 scheduled attempt, not manual, success", dl)
	}
}

func TestShutdownReleasesWork(t *testing.T) {
	f := newFixture(t)
	var serve atomic.Bool
	hang := make(chan struct{})
	var hangOnce sync.Once
	release := func() { hangOnce.Do(func() { close(hang) }) }
	t.Cleanup(release)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if serve.Load() {
			return
		}
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	ep := f.endpoint(rc.URL, nil)
	cfg := baseConfig(f.st)
	cfg.MaxInFlightPerEndpoint = 3
	cfg.ShutdownGrace = 200 * time.Millisecond
	cfg.LeaseTTL = time.Minute // only a release lets node B have the work soon
	a, stopA := startDispatcher(t, cfg)
	const n = 10
	var msgs []*hookrelay.Message
	for i := range n {
		msgs = append(msgs, f.publish(ep.ID, fmt.Sprintf(`{"i":%d}`, i)))
	}
	a.Wake()
	// An endpoint that has not answered yet gets one request at a time: one
	// hangs, the rest wait on node A.
	waitFor(t, 3*time.Second, "node A's request to hang", func() bool { return rc.count() == 1 })
	stopped := time.Now()
	stopA()
	if took := time.Since(stopped); took > 2*time.Second {
		t.Errorf("shutdown took %v with a 200ms grace", took)
	}
	// Cut-short requests are not attempts.
	for _, m := range msgs {
		if as := f.attempts(m.ID); len(as) != 0 {
			t.Fatalf("message %s has attempts after shutdown: %+v", m.ID, as)
		}
	}

	serve.Store(true)
	cfgB := baseConfig(f.st)
	cfgB.NodeID = "node-b"
	startDispatcher(t, cfgB)
	waitFor(t, 5*time.Second, "node B to deliver everything", func() bool {
		for _, m := range msgs {
			if f.deliveryOf(m.ID, ep.ID).Status != hookrelay.StatusSuccess {
				return false
			}
		}
		return true
	})
	for _, m := range msgs {
		if as := f.attempts(m.ID); len(as) != 1 {
			t.Errorf("message %s: %d attempts, want 1", m.ID, len(as))
		}
	}
}

func TestShutdownFinishesRequestsInFlight(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		time.Sleep(300 * time.Millisecond)
	})
	ep := f.endpoint(rc.URL, nil)
	cfg := baseConfig(f.st)
	cfg.ShutdownGrace = 5 * time.Second
	d, stop := startDispatcher(t, cfg)
	m := f.publish(ep.ID, `{}`)
	d.Wake()
	waitFor(t, 3*time.Second, "the request", func() bool { return rc.count() == 1 })
	stop()
	// Run returned only after the request finished and was recorded.
	as := f.attempts(m.ID)
	if len(as) != 1 || as[0].Status != hookrelay.StatusSuccess {
		t.Fatalf("attempts after shutdown = %+v, want the success recorded", as)
	}
}

func TestExpiredLeaseOfDeadNode(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, nil)
	ep := f.endpoint(rc.URL, nil)
	const n = 5
	for i := range n {
		f.publish(ep.ID, fmt.Sprintf(`{"i":%d}`, i))
	}
	now := time.Now()
	leaseEnd := now.Add(700 * time.Millisecond)
	tasks, err := f.st.ClaimDeliveries(context.Background(), store.ClaimParams{Owner: "dead-node", Now: now, LeaseUntil: leaseEnd, Limit: 100})
	if err != nil || len(tasks) != n {
		t.Fatalf("claim as the dead node: %d tasks, %v", len(tasks), err)
	}
	d, _ := startDispatcher(t, baseConfig(f.st))
	d.Wake()
	waitFor(t, 3*time.Second, "the dead node's work to be delivered", func() bool { return rc.count() == n })
	if first := rc.requests()[0].at; first.Before(leaseEnd) {
		t.Errorf("delivered at %v, before the dead node's lease ended at %v", first, leaseEnd)
	} else if late := first.Sub(leaseEnd); late > time.Second {
		t.Errorf("delivered %v after the lease ended; NextDue should wake the dispatcher", late)
	}
}

func TestLeasesExtendedWhileHeld(t *testing.T) {
	f := newFixture(t)
	hang := make(chan struct{})
	var hangOnce sync.Once
	t.Cleanup(func() { hangOnce.Do(func() { close(hang) }) })
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	ep := f.endpoint(rc.URL, nil)
	cfg := baseConfig(f.st)
	cfg.LeaseTTL = 300 * time.Millisecond
	cfg.Timeout = 10 * time.Second
	d, _ := startDispatcher(t, cfg)
	m := f.publish(ep.ID, `{}`)
	d.Wake()
	waitFor(t, 3*time.Second, "the request", func() bool { return rc.count() == 1 })
	// Well past the first lease another claimer must still find nothing.
	time.Sleep(time.Second)
	tasks, err := f.st.ClaimDeliveries(context.Background(), store.ClaimParams{Owner: "intruder", Now: time.Now(), LeaseUntil: time.Now().Add(time.Minute), Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 0 {
		t.Fatalf("another node claimed %s while the request was in flight", tasks[0].Delivery.ID)
	}
	hangOnce.Do(func() { close(hang) })
	waitFor(t, 3*time.Second, "the delivery to succeed", func() bool {
		return f.deliveryOf(m.ID, ep.ID).Status == hookrelay.StatusSuccess
	})
	if rc.count() != 1 {
		t.Errorf("%d requests, want 1", rc.count())
	}
}

// flakyStore is the real store with CompleteAttempts and Ping failing
// while down is set, as when the database is unreachable.
type flakyStore struct {
	store.Store
	down      atomic.Bool
	failCalls atomic.Int32
}

func (s *flakyStore) CompleteAttempts(ctx context.Context, results []store.AttemptResult) error {
	if s.down.Load() {
		s.failCalls.Add(1)
		return fmt.Errorf("database is down")
	}
	return s.Store.CompleteAttempts(ctx, results)
}

func (s *flakyStore) Ping(ctx context.Context) error {
	if s.down.Load() {
		return fmt.Errorf("database is down")
	}
	return s.Store.Ping(ctx)
}

func TestResultsKeptWhileStoreDown(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, nil)
	ep := f.endpoint(rc.URL, nil)
	fs := &flakyStore{Store: f.st}
	fs.down.Store(true)
	var observed atomic.Int32
	cfg := baseConfig(fs)
	cfg.Observer = observerFunc(func(store.Task, store.AttemptResult) { observed.Add(1) })
	d, _ := startDispatcher(t, cfg)
	const n = 20
	var msgs []*hookrelay.Message
	for i := range n {
		msgs = append(msgs, f.publish(ep.ID, fmt.Sprintf(`{"i":%d}`, i)))
	}
	d.Wake()
	waitFor(t, 3*time.Second, "the requests", func() bool { return rc.count() == n })
	waitFor(t, 3*time.Second, "recording to fail twice", func() bool { return fs.failCalls.Load() >= 2 })
	if observed.Load() != 0 {
		t.Fatalf("observer called for uncommitted results")
	}
	fs.down.Store(false)
	waitFor(t, 10*time.Second, "every result to be recorded", func() bool {
		for _, m := range msgs {
			if f.deliveryOf(m.ID, ep.ID).Status != hookrelay.StatusSuccess {
				return false
			}
		}
		return true
	})
	for _, m := range msgs {
		if as := f.attempts(m.ID); len(as) != 1 {
			t.Errorf("message %s: %d attempts, want 1", m.ID, len(as))
		} else if strings.HasPrefix(as[0].Response, "response not stored") {
			t.Errorf("message %s: the body was dropped for an unreachable store: %q", m.ID, as[0].Response)
		}
	}
	if rc.count() != n {
		t.Errorf("%d requests, want %d (nothing sent twice)", rc.count(), n)
	}
	waitFor(t, time.Second, "the observer", func() bool { return observed.Load() == n })
}

// A disabled endpoint's pending delivery is neither sent nor failed: the
// claim sets it aside, and enabling the endpoint resumes it.
func TestDisabledEndpointWaitsUntilEnabled(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, nil)
	ep := f.endpoint(rc.URL, nil)
	m := f.publish(ep.ID, `{}`)
	ep.Disabled = true
	if err := f.st.UpdateEndpoint(context.Background(), ep); err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig(f.st)
	cfg.RetrySchedule = []time.Duration{time.Millisecond}
	d, _ := startDispatcher(t, cfg)
	d.Wake()
	waitFor(t, 3*time.Second, "the delivery to be set aside", func() bool {
		dl := f.deliveryOf(m.ID, ep.ID)
		return dl.NextAttempt != nil && dl.NextAttempt.After(time.Now().Add(30*time.Minute))
	})
	if dl := f.deliveryOf(m.ID, ep.ID); dl.Status != hookrelay.StatusPending || dl.Attempts != 0 {
		t.Errorf("set-aside delivery: status %v, %d attempts", dl.Status, dl.Attempts)
	}
	if as := f.attempts(m.ID); len(as) != 0 {
		t.Errorf("attempts of a disabled endpoint's delivery: %+v", as)
	}
	if rc.count() != 0 {
		t.Errorf("a disabled endpoint got %d requests", rc.count())
	}
	ep.Disabled = false
	if err := f.st.UpdateEndpoint(context.Background(), ep); err != nil {
		t.Fatal(err)
	}
	d.Wake()
	waitFor(t, 3*time.Second, "the delivery to succeed once enabled", func() bool {
		return f.deliveryOf(m.ID, ep.ID).Status == hookrelay.StatusSuccess
	})
	if rc.count() != 1 {
		t.Errorf("%d requests once enabled, want 1", rc.count())
	}
}

var _ delivery.Observer = observerFunc(nil)

// BenchmarkDispatch measures claim, send and record end to end: b.N
// messages queued for 8 endpoints of one local receiver, delivered and
// recorded by one dispatcher.
func BenchmarkDispatch(b *testing.B) {
	benchmarkDispatch(b, nil)
}

// benchmarkDispatch is BenchmarkDispatch with also, when not nil,
// observing every attempt after the benchmark's own counter.
func benchmarkDispatch(b *testing.B, also delivery.Observer) {
	f := newFixture(b)
	srv := newReceiver(b, nil)
	var eps []*hookrelay.Endpoint
	for range 8 {
		eps = append(eps, f.endpoint(srv.URL, nil))
	}
	var wg sync.WaitGroup
	for i := range b.N {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.publish(eps[i%len(eps)].ID, `{"type":"call.completed","data":{"id":"c_1"}}`)
		}()
		if i%64 == 63 {
			wg.Wait()
		}
	}
	wg.Wait()
	var recorded atomic.Int64
	cfg := baseConfig(f.st)
	cfg.Observer = observerFunc(func(store.Task, store.AttemptResult) { recorded.Add(1) })
	if also != nil {
		cfg.Observer = delivery.Observers{also, cfg.Observer}
	}
	b.ResetTimer()
	d, stop := startDispatcher(b, cfg)
	d.Wake()
	for recorded.Load() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	stop()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func TestConcurrencyCaps(t *testing.T) {
	tests := []struct {
		name        string
		workers     int
		perEndpoint int
		epOverride  int
		endpoints   int
		wantPerEp   int // the most requests one endpoint may see at once
		wantTotal   int // the most requests in flight at once
	}{
		{name: "per-endpoint default", workers: 64, perEndpoint: 4, endpoints: 2, wantPerEp: 4, wantTotal: 8},
		{name: "endpoint option overrides", workers: 64, perEndpoint: 4, epOverride: 2, endpoints: 2, wantPerEp: 2, wantTotal: 4},
		{name: "workers bound the node", workers: 5, perEndpoint: 4, endpoints: 3, wantPerEp: 4, wantTotal: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			var mu sync.Mutex
			cur := map[string]int{}
			maxEp := map[string]int{}
			total, maxTotal := 0, 0
			rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
				mu.Lock()
				cur[r.URL.Path]++
				total++
				maxEp[r.URL.Path] = max(maxEp[r.URL.Path], cur[r.URL.Path])
				maxTotal = max(maxTotal, total)
				mu.Unlock()
				time.Sleep(40 * time.Millisecond)
				mu.Lock()
				cur[r.URL.Path]--
				total--
				mu.Unlock()
			})
			var eps []*hookrelay.Endpoint
			for i := range tt.endpoints {
				eps = append(eps, f.endpoint(fmt.Sprintf("%s/ep%d", rc.URL, i), func(ep *hookrelay.Endpoint) {
					ep.Options.MaxInFlight = tt.epOverride
				}))
			}
			const perEp = 24
			for i := range perEp {
				for _, ep := range eps {
					f.publish(ep.ID, fmt.Sprintf(`{"i":%d}`, i))
				}
			}
			cfg := baseConfig(f.st)
			cfg.Workers = tt.workers
			cfg.MaxInFlightPerEndpoint = tt.perEndpoint
			d, _ := startDispatcher(t, cfg)
			d.Wake()
			waitFor(t, 10*time.Second, "every request", func() bool { return rc.count() == perEp*tt.endpoints })
			mu.Lock()
			defer mu.Unlock()
			if maxTotal != tt.wantTotal {
				t.Errorf("at most %d requests in flight, want %d", maxTotal, tt.wantTotal)
			}
			for path, m := range maxEp {
				if m > tt.wantPerEp {
					t.Errorf("%s saw %d requests at once, cap %d", path, m, tt.wantPerEp)
				}
			}
		})
	}
}

func TestConnectionsReused(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	conns := map[string]bool{}
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		mu.Lock()
		conns[r.RemoteAddr] = true
		mu.Unlock()
	})
	ep := f.endpoint(rc.URL, func(ep *hookrelay.Endpoint) { ep.Options.MaxInFlight = 1 })
	d, _ := startDispatcher(t, baseConfig(f.st))
	const n = 20
	for i := range n {
		f.publish(ep.ID, fmt.Sprintf(`{"i":%d}`, i))
	}
	d.Wake()
	waitFor(t, 5*time.Second, "every request", func() bool { return rc.count() == n })
	mu.Lock()
	defer mu.Unlock()
	if len(conns) != 1 {
		t.Errorf("%d requests came over %d connections, want 1 kept alive", n, len(conns))
	}
}
