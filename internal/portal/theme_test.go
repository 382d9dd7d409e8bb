package portal

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay"
)

func TestSvixReactTheme(t *testing.T) {
	for _, tt := range []struct {
		query string
		want  Theme
	}{
		{"", Theme{}},
		{"darkMode=true", Theme{Mode: ModeDark}},
		{"darkMode=auto", Theme{Mode: ModeAuto}},
		{"darkMode=nonsense", Theme{}},
		{"primaryColor=%23AA3300", Theme{AccentColor: "#aa3300"}},
		{"primaryColor=a30", Theme{AccentColor: "#aa3300"}},
		{"primaryColor=red", Theme{}},
		{"primaryColor=%23aa3300%3Bbackground%3Aurl(x)", Theme{}},
		{"fontFamily=DM+Sans", Theme{FontFamily: "DM Sans"}},
		{"fontFamily=x%7D+body%7Bcolor%3Ared", Theme{}},
		{"icon=https%3A%2F%2Fcdn.acme.test%2Ficon.png", Theme{LogoURL: "https://cdn.acme.test/icon.png"}},
		{"icon=javascript%3Aalert(1)", Theme{}},
		{"icon=http%3A%2F%2Fcdn.acme.test%2Fi.png", Theme{}},
	} {
		q, _ := url.ParseQuery(tt.query)
		if got := svixReactTheme(q); got != tt.want {
			t.Errorf("%q: %+v, want %+v", tt.query, got, tt.want)
		}
	}
}

func TestThemeValidate(t *testing.T) {
	for _, tt := range []struct {
		theme Theme
		field string
	}{
		{Theme{}, ""},
		{Theme{ProductName: "Acme", LogoURL: "/logo.svg", AccentColor: "#123", Mode: "dark", FontFamily: "Inter, Arial"}, ""},
		{Theme{ProductName: " "}, "productName"},
		{Theme{ProductName: strings.Repeat("x", 61)}, "productName"},
		{Theme{ProductName: "a\nb"}, "productName"},
		{Theme{LogoURL: "http://acme.test/l.png"}, "logoUrl"},
		{Theme{LogoURL: "//evil.test/l.png"}, "logoUrl"},
		{Theme{LogoURL: "https://u:p@acme.test/l.png"}, "logoUrl"},
		{Theme{AccentColor: "blue"}, "accentColor"},
		{Theme{Mode: "sepia"}, "mode"},
		{Theme{FontFamily: "a;b"}, "fontFamily"},
	} {
		err := tt.theme.Validate()
		field := ""
		if fe, ok := err.(*hookrelay.ThemeFieldError); ok {
			field = fe.Field
		} else if err != nil {
			t.Fatalf("%+v: %v", tt.theme, err)
		}
		if field != tt.field {
			t.Errorf("%+v: invalid field %q, want %q", tt.theme, field, tt.field)
		}
	}
}

func TestOnAccent(t *testing.T) {
	for accent, want := range map[string]string{"#2563eb": "#ffffff", "#000000": "#ffffff", "#ffff00": "#111111", "#ffffff": "#111111"} {
		if got := onAccent(accent); got != want {
			t.Errorf("onAccent(%s) = %s, want %s", accent, got, want)
		}
	}
}

// TestThemeLayers: the server's settings, then the application's
// (portal-theme, over HTTP), then the magic link's svix-react parameters.
func TestThemeLayers(t *testing.T) {
	s := newServer(t, options{portal: func(c *Config) {
		c.Theme = Theme{ProductName: "Acme", AccentColor: "#112233", Mode: ModeLight, LogoURL: "https://cdn.acme.test/logo.png"}
	}})
	s.createApp("plain")
	s.createApp("themed")
	if st, body := s.admin("PUT", "/api/v1/app/themed/portal-theme", map[string]any{"productName": "Acme for Bob", "mode": "dark"}); st != http.StatusOK {
		t.Fatalf("put theme: %d %s", st, body)
	}
	for _, tt := range []struct {
		name, app, query string
		product, mode    string
		accent           string
	}{
		{"server", "plain", "", "Acme", "light", "112233"},
		{"application", "themed", "", "Acme for Bob", "dark", "112233"},
		{"link", "themed", "&darkMode=auto&primaryColor=%23AA3300", "Acme for Bob", "auto", "aa3300"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := s.newBrowser(true)
			b.open(s.magicLink(tt.app, false).URL + tt.query)
			resp, body := b.get("/portal/endpoints")
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			for _, want := range []string{
				`data-theme="` + tt.mode + `"`, `<title>Endpoints · ` + tt.product + `</title>`,
				`/portal/theme.css?accent=` + tt.accent, `src="https://cdn.acme.test/logo.png"`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %s:\n%s", want, body)
				}
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' https://cdn.acme.test;") {
				t.Errorf("CSP %q", csp)
			}
		})
	}
	// The magic link's page is already in the session's look, and carries
	// the svix-react parameters, and only those, to its form.
	resp, page := s.newBrowser(true).get(s.magicLink("themed", false).URL +
		"&darkMode=true&primaryColor=%23AA3300&fontFamily=DM+Sans&icon=https%3A%2F%2Fcdn.acme.test%2Fi.png&other=x")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("link page: %d %s", resp.StatusCode, page)
	}
	for _, want := range []string{`data-theme="dark"`, `Open the portal · Acme for Bob`, `/portal/theme.css?accent=aa3300&amp;font=DM&#43;Sans`, `src="https://cdn.acme.test/i.png"`} {
		if !strings.Contains(page, want) {
			t.Errorf("link page lacks %s:\n%s", want, page)
		}
	}
	form := linkForm(t, page)
	if form.Get("darkMode") != "true" || form.Get("primaryColor") != "#AA3300" || form.Get("fontFamily") != "DM Sans" ||
		form.Get("icon") != "https://cdn.acme.test/i.png" || form.Has("other") || len(form) != 5 {
		t.Errorf("link form %v", form)
	}

	resp, css := s.newBrowser(false).get("/portal/theme.css?accent=aa3300&font=DM+Sans")
	if resp.StatusCode != 200 || !strings.Contains(css, "--accent:#aa3300") || !strings.Contains(css, `font-family:"DM Sans",system-ui`) {
		t.Errorf("theme.css: %d %s", resp.StatusCode, css)
	}
	if _, css := s.newBrowser(false).get("/portal/theme.css?accent=red;x&font=a%7Db"); !strings.Contains(css, "--accent:#112233") || strings.Contains(css, "font-family") {
		t.Errorf("theme.css with bad parameters: %s", css)
	}
}

// TestPortalThemeAPI: the extension route validates every field (422
// naming it), is admin-only to change, and readable by the app's portal
// token.
func TestPortalThemeAPI(t *testing.T) {
	s := newServer(t)
	s.createApp("acme")
	for _, tt := range []struct {
		body  string
		field string
	}{
		{`{"accentColor":"blue"}`, "accentColor"},
		{`{"mode":"sepia"}`, "mode"},
		{`{"logoUrl":"http://x.test/l.png"}`, "logoUrl"},
		{`{"productName":""}`, "productName"},
		{`{"fontFamily":"a;b"}`, "fontFamily"},
		{`{"mode":5}`, "mode"},
	} {
		st, body := s.admin("PUT", "/api/v1/app/acme/portal-theme", tt.body)
		if st != http.StatusUnprocessableEntity || !strings.Contains(string(body), `"loc":["body","`+tt.field+`"]`) {
			t.Errorf("%s: %d %s", tt.body, st, body)
		}
	}
	if st, body := s.admin("GET", "/api/v1/app/acme/portal-theme", nil); st != 200 || strings.TrimSpace(string(body)) != "{}" {
		t.Errorf("unchanged after refusals: %d %s", st, body)
	}
	st, body := s.admin("PUT", "/api/v1/app/acme/portal-theme", `{"accentColor":"#A30","mode":null}`)
	if st != 200 || strings.TrimSpace(string(body)) != `{"accentColor":"#aa3300"}` {
		t.Errorf("put: %d %s", st, body)
	}
	link := s.magicLink("acme", false)
	if st, body := s.apiRequest("GET", "/api/v1/app/acme/portal-theme", link.Token, nil, nil); st != 200 || strings.TrimSpace(string(body)) != `{"accentColor":"#aa3300"}` {
		t.Errorf("portal token reads: %d %s", st, body)
	}
	if st, _ := s.apiRequest("PUT", "/api/v1/app/acme/portal-theme", link.Token, `{}`, nil); st != http.StatusForbidden {
		t.Errorf("portal token writes: %d", st)
	}
	if st, body := s.admin("PUT", "/api/v1/app/acme/portal-theme", `{}`); st != 200 || strings.TrimSpace(string(body)) != "{}" {
		t.Errorf("clear: %d %s", st, body)
	}
	if st, _ := s.admin("PUT", "/api/v1/app/nope/portal-theme", `{}`); st != http.StatusNotFound {
		t.Errorf("missing app: %d", st)
	}
}
