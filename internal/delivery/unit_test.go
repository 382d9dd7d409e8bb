package delivery

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

func TestGuard(t *testing.T) {
	tests := []struct {
		addr   string
		allow  []string
		reason string // "" means allowed
	}{
		{addr: "8.8.8.8"},
		{addr: "2606:4700:4700::1111"},
		{addr: "::ffff:8.8.8.8"},
		{addr: "127.0.0.1", reason: "loopback address"},
		{addr: "127.3.2.1", reason: "loopback address"},
		{addr: "::1", reason: "loopback address"},
		{addr: "::ffff:127.0.0.1", reason: "loopback address"},
		{addr: "10.0.0.1", reason: "private address"},
		{addr: "172.16.5.4", reason: "private address"},
		{addr: "192.168.1.1", reason: "private address"},
		{addr: "::ffff:10.1.2.3", reason: "private address"},
		{addr: "fc00::1", reason: "private address"},
		{addr: "fd12:3456::1", reason: "private address"},
		{addr: "169.254.169.254", reason: "link-local address (cloud metadata service)"},
		{addr: "169.254.1.1", reason: "link-local address"},
		{addr: "fe80::1", reason: "link-local address"},
		{addr: "100.64.0.1", reason: "shared (CGNAT) address"},
		{addr: "224.0.0.1", reason: "multicast address"},
		{addr: "ff02::1", reason: "multicast address"},
		{addr: "0.0.0.0", reason: "unspecified address"},
		{addr: "0.1.2.3", reason: "unspecified address"},
		{addr: "::", reason: "unspecified address"},
		{addr: "255.255.255.255", reason: "broadcast address"},
		{addr: "64:ff9b::7f00:1", reason: "NAT64 address"},
		{addr: "192.0.2.1", reason: "reserved or special-purpose address"},
		{addr: "2001:db8::1", reason: "reserved or special-purpose address"},
		{addr: "127.0.0.1", allow: []string{"127.0.0.0/8"}},
		{addr: "::ffff:127.0.0.1", allow: []string{"127.0.0.0/8"}},
		{addr: "::1", allow: []string{"127.0.0.0/8", "::1/128"}},
		{addr: "10.0.0.1", allow: []string{"127.0.0.0/8"}, reason: "private address"},
		{addr: "10.0.0.1", allow: []string{"10.0.0.0/24"}},
		{addr: "10.0.1.1", allow: []string{"10.0.0.0/24"}, reason: "private address"},
	}
	for _, tt := range tests {
		t.Run(tt.addr+"/"+strings.Join(tt.allow, ","), func(t *testing.T) {
			var allow []netip.Prefix
			for _, p := range tt.allow {
				allow = append(allow, netip.MustParsePrefix(p))
			}
			g := newGuard(allow)
			addr := netip.MustParseAddr(tt.addr)
			// Any port is fine: only the address matters.
			err := g.control("tcp", netip.AddrPortFrom(addr, 8080).String(), nil)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var refused *RefusedError
			if !errors.As(err, &refused) {
				t.Fatalf("err = %v, want a *RefusedError", err)
			}
			want := "destination " + addr.Unmap().String() + " refused: " + tt.reason
			if err.Error() != want {
				t.Fatalf("err = %q, want %q", err, want)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 5, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, value string
		want        time.Duration
	}{
		{"absent", "", 0},
		{"seconds", "120", 2 * time.Minute},
		{"spaces", " 7 ", 7 * time.Second},
		{"zero clamped up", "0", time.Second},
		{"negative ignored", "-5", 0},
		{"huge clamped down", "999999999999", 24 * time.Hour},
		{"two days clamped down", "172800", 24 * time.Hour},
		{"http date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"http date in the past", now.Add(-time.Hour).Format(http.TimeFormat), time.Second},
		{"garbage", "soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseRetryAfter(tt.value, now); got != tt.want {
				t.Fatalf("parseRetryAfter(%q) = %v, want %v", tt.value, got, tt.want)
			}
		})
	}
}

func TestResult(t *testing.T) {
	now := time.Date(2026, 5, 25, 12, 0, 0, 0, time.UTC)
	schedule := []time.Duration{time.Second, time.Minute, time.Hour}
	d := &Dispatcher{cfg: Config{RetrySchedule: schedule, Now: func() time.Time { return now }}}
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	type want struct {
		status   hookrelay.MessageStatus
		next     *time.Time
		attempts int
		trigger  hookrelay.TriggerType
	}
	tests := []struct {
		name     string
		attempts int
		manual   bool
		epSched  []time.Duration
		o        outcome
		want     want
	}{
		{name: "first attempt succeeds", o: outcome{kind: hookrelay.OutcomeSuccess, statusCode: 200},
			want: want{hookrelay.StatusSuccess, nil, 1, hookrelay.TriggerScheduled}},
		{name: "first attempt fails", o: outcome{kind: hookrelay.OutcomeRejected, statusCode: 500},
			want: want{hookrelay.StatusPending, at(time.Second), 1, hookrelay.TriggerScheduled}},
		{name: "second attempt fails", attempts: 1, o: outcome{kind: hookrelay.OutcomeUnanswered},
			want: want{hookrelay.StatusPending, at(time.Minute), 2, hookrelay.TriggerScheduled}},
		{name: "last retry fails", attempts: 3, o: outcome{kind: hookrelay.OutcomeRejected, statusCode: 503},
			want: want{hookrelay.StatusFail, nil, 4, hookrelay.TriggerScheduled}},
		{name: "retry-after replaces the schedule", attempts: 1, o: outcome{kind: hookrelay.OutcomeRejected, statusCode: 429, retryAfter: 7 * time.Second},
			want: want{hookrelay.StatusPending, at(7 * time.Second), 2, hookrelay.TriggerScheduled}},
		{name: "retry-after does not extend the schedule", attempts: 3, o: outcome{kind: hookrelay.OutcomeRejected, statusCode: 429, retryAfter: 7 * time.Second},
			want: want{hookrelay.StatusFail, nil, 4, hookrelay.TriggerScheduled}},
		{name: "endpoint schedule overrides", attempts: 0, epSched: []time.Duration{3 * time.Second}, o: outcome{kind: hookrelay.OutcomeRejected, statusCode: 500},
			want: want{hookrelay.StatusPending, at(3 * time.Second), 1, hookrelay.TriggerScheduled}},
		{name: "endpoint without retries", attempts: 0, epSched: []time.Duration{}, o: outcome{kind: hookrelay.OutcomeRejected, statusCode: 500},
			want: want{hookrelay.StatusFail, nil, 1, hookrelay.TriggerScheduled}},
		{name: "disabled endpoint fails at once", o: outcome{kind: hookrelay.OutcomeRefused, final: true},
			want: want{hookrelay.StatusFail, nil, 1, hookrelay.TriggerScheduled}},
		{name: "manual success", attempts: 4, manual: true, o: outcome{kind: hookrelay.OutcomeSuccess, statusCode: 204},
			want: want{hookrelay.StatusSuccess, nil, 4, hookrelay.TriggerManual}},
		{name: "manual failure after exhaustion", attempts: 4, manual: true, o: outcome{kind: hookrelay.OutcomeRejected, statusCode: 500},
			want: want{hookrelay.StatusFail, nil, 4, hookrelay.TriggerManual}},
		{name: "manual failure with retries left", attempts: 2, manual: true, o: outcome{kind: hookrelay.OutcomeRejected, statusCode: 500},
			want: want{hookrelay.StatusPending, at(time.Minute), 2, hookrelay.TriggerManual}},
		{name: "manual failure before any scheduled attempt", attempts: 0, manual: true, o: outcome{kind: hookrelay.OutcomeRejected, statusCode: 500},
			want: want{hookrelay.StatusPending, at(time.Second), 0, hookrelay.TriggerManual}},
		{name: "refused by policy uses the schedule", attempts: 1, o: outcome{kind: hookrelay.OutcomeRefused},
			want: want{hookrelay.StatusPending, at(time.Minute), 2, hookrelay.TriggerScheduled}},
		{name: "postponed: the schedule is not used up", attempts: 3, o: outcome{kind: hookrelay.OutcomeInternal, postpone: 5 * time.Minute},
			want: want{hookrelay.StatusPending, at(5 * time.Minute), 3, hookrelay.TriggerScheduled}},
		{name: "postponed before any attempt", attempts: 0, o: outcome{kind: hookrelay.OutcomeInternal, postpone: 5 * time.Minute},
			want: want{hookrelay.StatusPending, at(5 * time.Minute), 0, hookrelay.TriggerScheduled}},
		{name: "manual postponed", attempts: 2, manual: true, o: outcome{kind: hookrelay.OutcomeInternal, postpone: 5 * time.Minute},
			want: want{hookrelay.StatusPending, at(5 * time.Minute), 2, hookrelay.TriggerManual}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := &store.Task{
				Delivery: hookrelay.Delivery{ID: "dlv_1", MsgID: "msg_1", AppID: "app_1", EndpointID: "ep_1",
					Attempts: tt.attempts, Manual: tt.manual, Status: hookrelay.StatusPending},
				Endpoint: hookrelay.Endpoint{ID: "ep_1", URL: "https://example.com/hook",
					Options: hookrelay.EndpointOptions{RetrySchedule: tt.epSched}},
			}
			tt.o.start = now
			got := d.result("node-1", task, tt.o)
			if got.Status != tt.want.status || got.Attempts != tt.want.attempts ||
				got.Attempt.TriggerType != tt.want.trigger || got.Owner != "node-1" {
				t.Fatalf("got status %d attempts %d trigger %d owner %q, want %+v",
					got.Status, got.Attempts, got.Attempt.TriggerType, got.Owner, tt.want)
			}
			if (got.NextAttempt == nil) != (tt.want.next == nil) ||
				(got.NextAttempt != nil && !got.NextAttempt.Equal(*tt.want.next)) {
				t.Fatalf("next attempt = %v, want %v", got.NextAttempt, tt.want.next)
			}
			wantAttempt := hookrelay.StatusFail
			if tt.o.ok() {
				wantAttempt = hookrelay.StatusSuccess
			}
			a := got.Attempt
			if a.Status != wantAttempt || a.Outcome != tt.o.kind || a.DeliveryID != "dlv_1" || a.MsgID != "msg_1" ||
				a.EndpointID != "ep_1" || a.AppID != "app_1" || a.URL != "https://example.com/hook" ||
				!strings.HasPrefix(a.ID, hookrelay.PrefixAttempt) || !a.CreatedAt.Equal(now) {
				t.Fatalf("attempt = %+v", a)
			}
		})
	}
}

func TestJitter(t *testing.T) {
	base := 10 * time.Second
	lo, hi := base, base
	for range 2000 {
		j := jitter(base, 0.2)
		if j < 8*time.Second || j > 12*time.Second {
			t.Fatalf("jitter(10s, 0.2) = %v, outside ±20%%", j)
		}
		lo, hi = min(lo, j), max(hi, j)
	}
	if hi-lo < 3*time.Second {
		t.Fatalf("jitter spread only %v..%v", lo, hi)
	}
	if j := jitter(base, 0); j != base {
		t.Fatalf("jitter(10s, 0) = %v", j)
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if c.Workers != DefaultWorkers || DefaultWorkers != 4096 || c.MaxInFlightPerEndpoint != 16 || c.Jitter != 0 || c.Timeout != 30*time.Second ||
		c.LeaseTTL != 30*time.Second || c.PollInterval != time.Second || c.ClaimBatch != 256 ||
		c.ResponseBodyLimit != 16<<10 || c.ShutdownGrace != 10*time.Second ||
		c.UserAgent != "hookrelay/"+hookrelay.Version || len(c.RetrySchedule) != 7 || c.NodeID == "" {
		t.Fatalf("defaults = %+v", c)
	}
	if c := (Config{Jitter: 0.2, RetrySchedule: []time.Duration{}}).withDefaults(); c.Jitter != 0.2 || c.RetrySchedule == nil || len(c.RetrySchedule) != 0 {
		t.Fatalf("jitter %v schedule %v", c.Jitter, c.RetrySchedule)
	}
}
