package portal

import (
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFailureLimiter: a client may fail PerClient times, then one more
// each Window/PerClient; all clients together Global times; waits are
// exact on a fake clock.
func TestFailureLimiter(t *testing.T) {
	a, b := netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("2001:db8::/64")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type step struct {
		at     time.Duration // since t0
		client netip.Prefix
		fail   bool          // count a failure (after checking wait)
		wait   time.Duration // the wait expected before it
	}
	for _, tt := range []struct {
		name  string
		limit LoginLimit
		steps []step
	}{
		{"per client, then one per Window/PerClient", LoginLimit{PerClient: 3, Global: 100, Window: time.Minute}, []step{
			{0, a, true, 0}, {0, a, true, 0}, {0, a, true, 0},
			{0, a, false, 20 * time.Second},
			{0, b, true, 0}, // another client is not held
			{10 * time.Second, a, false, 10 * time.Second},
			{20 * time.Second, a, true, 0},
			{20 * time.Second, a, false, 20 * time.Second},
			{2 * time.Minute, a, false, 0}, // drained
		}},
		{"global holds every client", LoginLimit{PerClient: 10, Global: 2, Window: time.Minute}, []step{
			{0, a, true, 0}, {0, b, true, 0},
			{0, a, false, 30 * time.Second},
			{0, netip.MustParsePrefix("198.51.100.7/32"), false, 30 * time.Second},
			{30 * time.Second, b, false, 0},
		}},
		{"failures drain between tries", LoginLimit{PerClient: 2, Global: 100, Window: time.Minute}, []step{
			{0, a, true, 0}, {15 * time.Second, a, true, 0}, {30 * time.Second, a, true, 0},
			{30 * time.Second, a, false, 30 * time.Second},
			{40 * time.Second, a, false, 20 * time.Second},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := newFailureLimiter(tt.limit)
			for i, s := range tt.steps {
				now := t0.Add(s.at)
				got := l.wait(s.client, now)
				if (got - s.wait).Abs() > time.Millisecond {
					t.Fatalf("step %d (%v, %s): wait %v, want %v", i, s.at, s.client, got, s.wait)
				}
				if s.fail {
					l.fail(s.client, now)
				}
			}
		})
	}
}

// TestFailureLimiterMemory: past maxTrackedClients the limiter keeps no
// new client, and forgets drained ones.
func TestFailureLimiterMemory(t *testing.T) {
	l := newFailureLimiter(LoginLimit{PerClient: 1, Global: 1 << 30, Window: time.Minute})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range maxTrackedClients + 10 {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.fail(netip.PrefixFrom(ip, 32), t0)
	}
	if n := len(l.clients); n != maxTrackedClients {
		t.Fatalf("tracked %d clients", n)
	}
	l.fail(netip.MustParsePrefix("192.0.2.1/32"), t0.Add(2*time.Minute))
	if n := len(l.clients); n != 1 {
		t.Fatalf("after draining, tracked %d clients", n)
	}
}

func TestClientOf(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.1:5000":             "192.0.2.1/32",
		"[::ffff:192.0.2.1]:5000":    "192.0.2.1/32",
		"[2001:db8::1]:443":          "2001:db8::/64",
		"[2001:db8::ffff:1]:443":     "2001:db8::/64",
		"[fe80::1%eth0]:80":          "fe80::/64",
		"[2001:db8:0:1::1]:443":      "2001:db8:0:1::/64",
		"not an address":             "invalid Prefix",
		"portal":                     "invalid Prefix",
		"198.51.100.2":               "198.51.100.2/32",
		"[2001:db8::1]:443:trailing": "invalid Prefix",
	} {
		if got := clientOf(&http.Request{RemoteAddr: addr}).String(); got != want {
			t.Errorf("clientOf(%q) = %s, want %s", addr, got, want)
		}
	}
}

// TestLoginRateLimit: over HTTP, failed console logins and magic links
// with unknown codes are answered 429 with Retry-After once over the
// limit, whatever the token or code, until the wait is over; successful
// logins and used links do not count.
func TestLoginRateLimit(t *testing.T) {
	now := time.Now().UTC()
	clock := func() time.Time { return now }
	s := newServer(t, options{portal: func(c *Config) {
		c.Now = clock
		c.LoginLimit = LoginLimit{PerClient: 3, Global: 50, Window: 3 * time.Minute}
	}})
	s.createApp("acme")
	b := s.newBrowser(true)
	login := func(token string) (*http.Response, string) {
		t.Helper()
		return b.post("/console/login", url.Values{"token": {token}})
	}
	// Successful logins, empty tokens and used links never count.
	for range 10 {
		if resp, body := login(testAdminToken); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("good login: %d %s", resp.StatusCode, body)
		}
		if resp, _ := login(""); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("empty token: %d", resp.StatusCode)
		}
	}
	used := s.magicLink("acme", false)
	s.newBrowser(true).open(used.URL)
	for range 10 {
		if resp, _ := b.get(used.URL); resp.StatusCode != http.StatusGone {
			t.Fatalf("used link: %d", resp.StatusCode)
		}
	}

	for i := range 3 {
		if resp, body := login("wrong-" + strconv.Itoa(i)); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s", i, resp.StatusCode, body)
		}
	}
	for _, token := range []string{"wrong", testAdminToken} {
		resp, body := login(token)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "60" ||
			!strings.Contains(body, "Too many failed sign-ins") || findCookie(resp, operatorCookie) != nil {
			t.Errorf("over the limit with %q: %d %q %s", token, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	}
	// The console's limit is its own: magic links still open.
	s.newBrowser(true).open(s.magicLink("acme", false).URL)
	now = now.Add(30 * time.Second)
	if resp, _ := login(testAdminToken); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "30" {
		t.Errorf("half way: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	now = now.Add(30 * time.Second)
	if resp, body := login(testAdminToken); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after the wait: %d %s", resp.StatusCode, body)
	}

	// Magic links: unknown codes, by GET or POST, count; a good link is
	// refused too while over, and opens after the wait.
	good := s.magicLink("acme", false)
	for i, get := range []bool{true, false, true} {
		code := "unknown-" + strconv.Itoa(i)
		var resp *http.Response
		if get {
			resp, _ = b.get("/portal/login?code=" + code)
		} else {
			resp, _ = b.post("/portal/login", url.Values{"code": {code}})
		}
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("unknown code %d: %d", i, resp.StatusCode)
		}
	}
	lb := s.newBrowser(true)
	resp, body := lb.get(good.URL)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "60" || !strings.Contains(body, "Try again in a minute") {
		t.Errorf("good link over the limit: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	code := mustURL(good.URL).Query().Get("code")
	if resp, _ := lb.post("/portal/login", url.Values{"code": {code}}); resp.StatusCode != http.StatusTooManyRequests || findCookie(resp, customerCookie) != nil {
		t.Errorf("good code posted over the limit: %d", resp.StatusCode)
	}
	now = now.Add(time.Minute)
	lb.open(good.URL)
	if resp, _ := lb.get("/portal/endpoints"); resp.StatusCode != http.StatusOK {
		t.Errorf("portal after the wait: %d", resp.StatusCode)
	}
}

// TestLoginLimitConfig: zero fields take the defaults; a negative one is
// refused.
func TestLoginLimitConfig(t *testing.T) {
	got, err := loginLimit(LoginLimit{PerClient: 5})
	if err != nil || got != (LoginLimit{PerClient: 5, Global: DefaultLoginLimit.Global, Window: DefaultLoginLimit.Window}) {
		t.Errorf("loginLimit: %+v %v", got, err)
	}
	if _, err := loginLimit(LoginLimit{Window: -time.Second}); err == nil {
		t.Error("a negative window was accepted")
	}
}

func TestInWords(t *testing.T) {
	for d, want := range map[time.Duration]string{
		300 * time.Millisecond: "in a second",
		40 * time.Second:       "in 40 seconds",
		60 * time.Second:       "in a minute",
		61 * time.Second:       "in a minute",
		150 * time.Second:      "in 3 minutes",
	} {
		if got := inWords(d); got != want {
			t.Errorf("inWords(%v) = %q, want %q", d, got, want)
		}
	}
}
