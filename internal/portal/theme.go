package portal

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Theme is how the portal looks. The server's settings give one, an
// application may override it field by field, and the magic link's
// svix-react parameters (darkMode, primaryColor, fontFamily, icon) override
// both for the session it opens. Empty fields take the layer below.
type Theme struct {
	// ProductName is shown in the header and the page titles.
	ProductName string `json:"productName,omitempty"`
	// LogoURL is an https (or this server's) image shown in the header.
	LogoURL string `json:"logoUrl,omitempty"`
	// AccentColor is #rrggbb.
	AccentColor string `json:"accentColor,omitempty"`
	// Mode is light, dark or auto (the browser's preference).
	Mode string `json:"mode,omitempty"`
	// FontFamily is a font installed on the viewer's machine; no font is
	// fetched from anywhere.
	FontFamily string `json:"fontFamily,omitempty"`
}

// DefaultTheme is the look when nothing else is set.
var DefaultTheme = Theme{ProductName: "Webhooks", AccentColor: "#2563eb", Mode: "auto"}

// Theme modes.
const (
	ModeLight = "light"
	ModeDark  = "dark"
	ModeAuto  = "auto"
)

// Validate returns an error naming the first invalid field.
func (t Theme) Validate() error {
	if t.ProductName != "" {
		if err := checkProductName(t.ProductName); err != nil {
			return fmt.Errorf("product name: %w", err)
		}
	}
	if t.LogoURL != "" {
		if err := checkImageURL(t.LogoURL); err != nil {
			return fmt.Errorf("logo URL: %w", err)
		}
	}
	if t.AccentColor != "" {
		if _, err := parseColor(t.AccentColor); err != nil {
			return fmt.Errorf("accent color: %w", err)
		}
	}
	switch t.Mode {
	case "", ModeLight, ModeDark, ModeAuto:
	default:
		return fmt.Errorf("theme %q: want light, dark or auto", t.Mode)
	}
	if t.FontFamily != "" {
		if err := checkFontFamily(t.FontFamily); err != nil {
			return fmt.Errorf("font family: %w", err)
		}
	}
	return nil
}

// over returns t with its empty fields taken from base.
func (t Theme) over(base Theme) Theme {
	if t.ProductName == "" {
		t.ProductName = base.ProductName
	}
	if t.LogoURL == "" {
		t.LogoURL = base.LogoURL
	}
	if t.AccentColor == "" {
		t.AccentColor = base.AccentColor
	}
	if t.Mode == "" {
		t.Mode = base.Mode
	}
	if t.FontFamily == "" {
		t.FontFamily = base.FontFamily
	}
	return t
}

// withDefaults validates t and fills its empty fields from base.
func (t Theme) withDefaults(base Theme) (Theme, error) {
	if err := t.Validate(); err != nil {
		return Theme{}, err
	}
	t.AccentColor = strings.ToLower(t.AccentColor)
	return t.over(base), nil
}

// svixReactTheme reads the parameters svix-react's <AppPortal> appends to
// the portal URL: darkMode ("true" or "auto"), primaryColor, fontFamily and
// icon (a logo URL). An invalid value is ignored: the link still opens,
// in the operator's look.
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
	if c := q.Get("primaryColor"); c != "" {
		if rgb, err := parseColor(c); err == nil {
			t.AccentColor = rgb.hex()
		}
	}
	if f := q.Get("fontFamily"); f != "" && checkFontFamily(f) == nil {
		t.FontFamily = f
	}
	if u := q.Get("icon"); u != "" && checkImageURL(u) == nil {
		t.LogoURL = u
	}
	return t
}

// encode returns t as the JSON a session stores.
func (t Theme) encode() string {
	if t == (Theme{}) {
		return ""
	}
	b, _ := json.Marshal(t)
	return string(b)
}

// decodeTheme reads a stored theme; what does not validate is dropped.
func decodeTheme(s string) Theme {
	var t Theme
	if s == "" || json.Unmarshal([]byte(s), &t) != nil || t.Validate() != nil {
		return Theme{}
	}
	return t
}

func checkProductName(s string) error {
	switch {
	case !utf8.ValidString(s):
		return errors.New("must be valid UTF-8")
	case utf8.RuneCountInString(s) > 60:
		return errors.New("must be at most 60 characters")
	case strings.TrimSpace(s) == "":
		return errors.New("must not be blank")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return errors.New("must not contain control characters")
		}
	}
	return nil
}

// checkImageURL accepts an absolute https URL, or a path on this server.
func checkImageURL(s string) error {
	if len(s) > 2048 {
		return errors.New("must be at most 2048 characters")
	}
	if strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") {
		if strings.ContainsAny(s, "\\ \"'<>") {
			return errors.New("must be a plain path")
		}
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("must be a URL")
	}
	if u.Scheme != "https" || u.Host == "" || u.User != nil {
		return errors.New("must be an https URL (or a path on this server) without credentials")
	}
	return nil
}

// checkFontFamily accepts a font name: letters, digits, spaces, hyphens
// and commas (a list), nothing that could end a CSS declaration.
func checkFontFamily(s string) error {
	if len(s) > 100 {
		return errors.New("must be at most 100 characters")
	}
	for _, r := range s {
		ok := r == ' ' || r == '-' || r == ',' || r == '_' ||
			(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			return fmt.Errorf("must hold only letters, digits, spaces, hyphens and commas, not %q", r)
		}
	}
	if strings.TrimSpace(s) == "" {
		return errors.New("must not be blank")
	}
	return nil
}

type rgb struct{ r, g, b uint8 }

// parseColor reads #rgb or #rrggbb (the # may be left out, as
// svix-react's users sometimes do).
func parseColor(s string) (rgb, error) {
	h := strings.TrimPrefix(s, "#")
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	if len(h) != 6 {
		return rgb{}, fmt.Errorf("%q: want a colour like #2563eb", s)
	}
	v, err := strconv.ParseUint(h, 16, 32)
	if err != nil {
		return rgb{}, fmt.Errorf("%q: want a colour like #2563eb", s)
	}
	return rgb{uint8(v >> 16), uint8(v >> 8), uint8(v)}, nil
}

func (c rgb) hex() string { return fmt.Sprintf("#%02x%02x%02x", c.r, c.g, c.b) }

// luminance is the WCAG relative luminance.
func (c rgb) luminance() float64 {
	lin := func(v uint8) float64 {
		x := float64(v) / 255
		if x <= 0.03928 {
			return x / 12.92
		}
		return math.Pow((x+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.r) + 0.7152*lin(c.g) + 0.0722*lin(c.b)
}

// onAccent returns the text colour (near black or white) with the better
// contrast on the accent colour.
func onAccent(accent string) string {
	c, err := parseColor(accent)
	if err != nil {
		return "#ffffff"
	}
	l := c.luminance()
	// Contrast with white: 1.05/(l+0.05); with black: (l+0.05)/0.05.
	if 1.05/(l+0.05) >= (l+0.05)/0.05 {
		return "#ffffff"
	}
	return "#111111"
}
