package portal

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"

	"github.com/hookrelay/hookrelay"
)

// Theme is how the portal looks; see hookrelay.PortalTheme. The layers,
// each overriding the one below field by field: DefaultTheme, the server's
// settings (Config.Theme), the application's (PUT
// /api/v1/app/{app_id}/portal-theme), and the svix-react parameters of the
// magic link that opened the session.
type Theme = hookrelay.PortalTheme

// DefaultTheme is the look when nothing else is set.
var DefaultTheme = Theme{ProductName: "Webhooks", AccentColor: "#2563eb", Mode: hookrelay.ThemeAuto}

// Theme modes.
const (
	ModeLight = hookrelay.ThemeLight
	ModeDark  = hookrelay.ThemeDark
	ModeAuto  = hookrelay.ThemeAuto
)

// withDefaults validates t, normalizes its colour and fills its empty
// fields from base.
func withDefaults(t, base Theme) (Theme, error) {
	if err := t.Validate(); err != nil {
		return Theme{}, err
	}
	if t.AccentColor != "" {
		c, _ := hookrelay.ParseColor(t.AccentColor)
		t.AccentColor = c.Hex()
	}
	return t.Over(base), nil
}

// svixReactParams are the query parameters svix-react's <AppPortal>
// appends to the portal URL (read by svixReactTheme); the magic link's
// page carries them to its form.
var svixReactParams = []string{"darkMode", "primaryColor", "fontFamily", "icon"}

// svixReactTheme reads the parameters svix-react's <AppPortal> appends to
// the portal URL: darkMode ("true" or "auto"), primaryColor, fontFamily and
// icon (a logo URL). An invalid value is ignored: the link still opens, in
// the operator's look.
func svixReactTheme(q url.Values) Theme {
	var t Theme
	switch q.Get("darkMode") {
	case "true":
		t.Mode = ModeDark
	case "auto":
		t.Mode = ModeAuto
	case "false":
		t.Mode = ModeLight
	}
	if c, err := hookrelay.ParseColor(q.Get("primaryColor")); err == nil {
		t.AccentColor = c.Hex()
	}
	if f := q.Get("fontFamily"); f != "" && hookrelay.CheckFontFamily(f) == nil {
		t.FontFamily = f
	}
	if u := q.Get("icon"); u != "" && hookrelay.CheckImageURL(u) == nil {
		t.LogoURL = u
	}
	return t
}

// encodeTheme returns t as the JSON a session stores.
func encodeTheme(t Theme) string {
	if t == (Theme{}) {
		return ""
	}
	b, _ := json.Marshal(t)
	return string(b)
}

// decodeTheme reads a stored theme; one that does not validate is dropped.
func decodeTheme(s string) Theme {
	var t Theme
	if s == "" || json.Unmarshal([]byte(s), &t) != nil || t.Validate() != nil {
		return Theme{}
	}
	return t
}

// luminance is the WCAG relative luminance of c.
func luminance(c hookrelay.RGB) float64 {
	lin := func(v uint8) float64 {
		x := float64(v) / 255
		if x <= 0.03928 {
			return x / 12.92
		}
		return math.Pow((x+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.R) + 0.7152*lin(c.G) + 0.0722*lin(c.B)
}

// onAccent returns the text colour, near black or white, with the better
// contrast on the accent colour.
func onAccent(accent string) string {
	c, err := hookrelay.ParseColor(accent)
	if err != nil {
		return "#ffffff"
	}
	l := luminance(c)
	if 1.05/(l+0.05) >= (l+0.05)/0.05 {
		return "#ffffff"
	}
	return "#111111"
}

// themeError words a theme's invalid field for a flag.
func themeError(err error) error { return fmt.Errorf("portal theme: %w", err) }
