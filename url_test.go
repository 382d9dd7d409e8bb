package hookrelay

import (
	"net/url"
	"testing"
)

// SplitURLUserinfo finds the userinfo where net/url does, and leaves the
// rest of the URL byte for byte.
func TestSplitURLUserinfo(t *testing.T) {
	tests := []struct {
		raw, rest, userinfo string
		ok                  bool
	}{
		{"https://example.com/hook", "https://example.com/hook", "", false},
		{"https://user:pass@example.com/hook", "https://example.com/hook", "user:pass", true},
		{"https://user@example.com", "https://example.com", "user", true},
		{"https://@example.com/", "https://example.com/", "", true},
		{"https://u:p%40ss@example.com:8443/a?b=c#d", "https://example.com:8443/a?b=c#d", "u:p%40ss", true},
		{"https://u:p@ss@example.com/", "https://example.com/", "u:p@ss", true},
		{"HTTP://u:p@[::1]:8080/x", "HTTP://[::1]:8080/x", "u:p", true},
		{"https://example.com/path@not-userinfo", "https://example.com/path@not-userinfo", "", false},
		{"https://example.com?q=a@b", "https://example.com?q=a@b", "", false},
		{"https://example.com#frag@x", "https://example.com#frag@x", "", false},
		{"https://u:p@example.com?q=a@b", "https://example.com?q=a@b", "u:p", true},
		{"mailto:someone@example.com", "mailto:someone@example.com", "", false},
		{"/relative/a@b", "/relative/a@b", "", false},
		{"://u:p@example.com", "://u:p@example.com", "", false},
		{"1http://u:p@example.com", "1http://u:p@example.com", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			rest, userinfo, ok := SplitURLUserinfo(tt.raw)
			if rest != tt.rest || userinfo != tt.userinfo || ok != tt.ok {
				t.Fatalf("SplitURLUserinfo = %q, %q, %v; want %q, %q, %v", rest, userinfo, ok, tt.rest, tt.userinfo, tt.ok)
			}
			if got := URLWithoutUserinfo(tt.raw); got != tt.rest {
				t.Errorf("URLWithoutUserinfo = %q, want %q", got, tt.rest)
			}
			if ok {
				if back := JoinURLUserinfo(rest, userinfo); back != tt.raw {
					t.Errorf("JoinURLUserinfo = %q, want %q", back, tt.raw)
				}
			}
			// Where net/url reads the URL, it agrees: same userinfo, and
			// nothing else changed.
			u, err := url.Parse(tt.raw)
			if err != nil || u.Host == "" {
				return
			}
			if (u.User != nil) != ok {
				t.Errorf("net/url finds userinfo %v, SplitURLUserinfo %v", u.User != nil, ok)
			}
			r, err := url.Parse(rest)
			if err != nil {
				t.Fatalf("rest %q does not parse: %v", rest, err)
			}
			u.User = nil
			if r.User != nil || r.String() != u.String() {
				t.Errorf("rest parses to %q (user %v), want %q", r, r.User, u)
			}
		})
	}
}
