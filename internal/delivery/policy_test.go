package delivery_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/internal/delivery"
)

func TestURLPolicyCheck(t *testing.T) {
	dev := []string{"localhost", "127.0.0.0/8", "::1", "Hooks.Internal."}
	tests := []struct {
		name   string
		policy delivery.URLPolicy
		url    string
		want   string // "" allowed, "https" ErrHTTPSRequired, else part of the error
	}{
		{"https", delivery.URLPolicy{HTTPSOnly: true}, "https://example.com/hook", ""},
		{"http allowed without https-only", delivery.URLPolicy{}, "http://example.com/hook", ""},
		{"http refused", delivery.URLPolicy{HTTPSOnly: true}, "http://example.com/hook", "https"},
		{"http refused, not exempt", delivery.URLPolicy{HTTPSOnly: true, Exempt: dev}, "http://example.com/hook", "https"},
		{"exempt name", delivery.URLPolicy{HTTPSOnly: true, Exempt: dev}, "http://localhost:3000/hook", ""},
		{"exempt name, other case and trailing dot", delivery.URLPolicy{HTTPSOnly: true, Exempt: dev}, "http://LOCALHOST.:3000/", ""},
		{"exempt name with trailing dot in the list", delivery.URLPolicy{HTTPSOnly: true, Exempt: dev}, "http://hooks.internal/x", ""},
		{"subdomain of an exempt name", delivery.URLPolicy{HTTPSOnly: true, Exempt: dev}, "http://api.localhost/", "https"},
		{"exempt prefix", delivery.URLPolicy{HTTPSOnly: true, Exempt: dev}, "http://127.0.0.2:8080/", ""},
		{"ipv4-mapped address in an exempt prefix", delivery.URLPolicy{HTTPSOnly: true, Exempt: dev}, "http://[::ffff:127.0.0.1]:8080/", ""},
		{"exempt ipv6 address", delivery.URLPolicy{HTTPSOnly: true, Exempt: dev}, "http://[::1]:8080/", ""},
		{"address outside the exempt prefix", delivery.URLPolicy{HTTPSOnly: true, Exempt: dev}, "http://10.0.0.1/", "https"},
		{"a prefix does not exempt names", delivery.URLPolicy{HTTPSOnly: true, Exempt: []string{"127.0.0.0/8"}}, "http://localhost/", "https"},
		{"a name does not exempt addresses", delivery.URLPolicy{HTTPSOnly: true, Exempt: []string{"localhost"}}, "http://127.0.0.1/", "https"},
		{"invalid exemptions are ignored", delivery.URLPolicy{HTTPSOnly: true, Exempt: []string{"10.0.0.0/99", "a b"}}, "http://10.0.0.1/", "https"},
		{"other scheme", delivery.URLPolicy{}, "ftp://example.com/", `scheme "ftp" is not http or https`},
		{"no scheme", delivery.URLPolicy{}, "example.com/hook", `scheme "" is not http or https`},
		{"no host", delivery.URLPolicy{}, "https:///hook", "no host"},
		{"no host over http", delivery.URLPolicy{HTTPSOnly: true, Exempt: dev}, "http:///hook", "https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			err = tt.policy.Check(u)
			switch {
			case tt.want == "":
				if err != nil {
					t.Fatalf("Check(%s) = %v, want nil", tt.url, err)
				}
			case tt.want == "https":
				if !errors.Is(err, delivery.ErrHTTPSRequired) {
					t.Fatalf("Check(%s) = %v, want ErrHTTPSRequired", tt.url, err)
				}
			default:
				if err == nil || errors.Is(err, delivery.ErrHTTPSRequired) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Check(%s) = %v, want an error with %q", tt.url, err, tt.want)
				}
			}
		})
	}
}

func TestURLPolicyValidate(t *testing.T) {
	tests := []struct {
		exempt []string
		ok     bool
	}{
		{nil, true},
		{[]string{"localhost", "127.0.0.1", "::1", "[::1]", "10.0.0.0/8", "fd00::/8", "hooks.internal"}, true},
		{[]string{"10.0.0.0/33"}, false},
		{[]string{"http://localhost"}, false},
		{[]string{"localhost:8080"}, false},
		{[]string{""}, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.exempt, ","), func(t *testing.T) {
			err := delivery.URLPolicy{HTTPSOnly: true, Exempt: tt.exempt}.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestCheckProxyURL(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"http://proxy.internal:3128", true},
		{"https://proxy.internal", true},
		{"socks5://127.0.0.1:1080", true},
		{"socks5h://user:pass@proxy.internal:1080", true},
		{"ftp://proxy.internal", false},
		{"proxy.internal:3128", false},
		{"http://", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			if err != nil {
				if tt.ok {
					t.Fatal(err)
				}
				return
			}
			err = delivery.CheckProxyURL(u)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckProxyURL(%s) = %v, want ok %v", tt.url, err, tt.ok)
			}
			if err != nil && strings.Contains(err.Error(), "pass") && strings.Contains(tt.url, "pass@") {
				t.Fatalf("error shows the password: %v", err)
			}
		})
	}
}
