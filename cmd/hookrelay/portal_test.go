package main

import (
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/internal/portal"
)

// TestPortalFlags: the portal's settings are read from flags and the
// environment, normalized, and refused at startup with an error naming
// the setting when invalid.
func TestPortalFlags(t *testing.T) {
	for _, tt := range []struct {
		name    string
		args    []string
		env     map[string]string
		origins []string
		theme   portal.Theme
		err     string
	}{
		{"defaults", nil, nil, nil, portal.DefaultTheme, ""},
		{"origins from env", nil, map[string]string{"HOOKRELAY_PORTAL_ALLOWED_ORIGINS": "https://App.Acme.com, https://acme.com:443,http://localhost:3000/"},
			[]string{"https://app.acme.com", "https://acme.com", "http://localhost:3000"}, portal.DefaultTheme, ""},
		{"theme flags", []string{"--portal-product-name", "Acme", "--portal-logo-url", "https://cdn.acme.com/l.svg",
			"--portal-accent-color", "#AA3300", "--portal-theme", "dark"}, nil, nil,
			portal.Theme{ProductName: "Acme", LogoURL: "https://cdn.acme.com/l.svg", AccentColor: "#AA3300", Mode: "dark"}, ""},
		{"origin with a path", []string{"--portal-allowed-origins", "https://acme.com/app"}, nil, nil, portal.Theme{}, "no path"},
		{"origin without scheme", nil, map[string]string{"HOOKRELAY_PORTAL_ALLOWED_ORIGINS": "acme.com"}, nil, portal.Theme{}, "HOOKRELAY_PORTAL_ALLOWED_ORIGINS"},
		{"wildcard origin", []string{"--portal-allowed-origins", "https://*.acme.com"}, nil, nil, portal.Theme{}, "wildcards"},
		{"bad colour", []string{"--portal-accent-color", "blue"}, nil, nil, portal.Theme{}, "not a colour"},
		{"bad theme", nil, map[string]string{"HOOKRELAY_PORTAL_THEME": "sepia"}, nil, portal.Theme{}, "HOOKRELAY_PORTAL_THEME"},
		{"http logo", []string{"--portal-logo-url", "http://x.test/l.png"}, nil, nil, portal.Theme{}, "https"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseServe(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.PortalAllowedOrigins, tt.origins) {
				t.Errorf("origins %q, want %q", c.PortalAllowedOrigins, tt.origins)
			}
			if c.PortalTheme != tt.theme {
				t.Errorf("theme %+v, want %+v", c.PortalTheme, tt.theme)
			}
		})
	}
}
