package hookrelay

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// PortalTheme is how the portal looks: the server's settings give one, an
// application may override it field by field, and a magic link's
// svix-react parameters override both for the session it opens. Empty
// fields take the layer below.
type PortalTheme struct {
	// ProductName is shown in the portal's header and page titles.
	ProductName string `json:"productName,omitempty"`
	// LogoURL is an https URL, or a path on this server, of the header's
	// logo.
	LogoURL string `json:"logoUrl,omitempty"`
	// AccentColor is #rrggbb.
	AccentColor string `json:"accentColor,omitempty"`
	// Mode is light, dark or auto (the viewer's browser preference).
	Mode string `json:"mode,omitempty"`
	// FontFamily names fonts installed on the viewer's machine; the portal
	// fetches no font from anywhere.
	FontFamily string `json:"fontFamily,omitempty"`
}

// Portal theme modes.
const (
	ThemeLight = "light"
	ThemeDark  = "dark"
	ThemeAuto  = "auto"
)

// ThemeFieldError names the field of a PortalTheme that is invalid: Field
// is its JSON name.
type ThemeFieldError struct {
	Field string
	Msg   string
}

func (e *ThemeFieldError) Error() string { return e.Field + ": " + e.Msg }

// Validate returns a *ThemeFieldError for the first invalid field.
func (t PortalTheme) Validate() error {
	for _, f := range []struct {
		name, v string
		check   func(string) error
	}{
		{"productName", t.ProductName, checkProductName},
		{"logoUrl", t.LogoURL, CheckImageURL},
		{"accentColor", t.AccentColor, func(s string) error { _, err := ParseColor(s); return err }},
		{"mode", t.Mode, checkMode},
		{"fontFamily", t.FontFamily, CheckFontFamily},
	} {
		if f.v == "" {
			continue
		}
		if err := f.check(f.v); err != nil {
			return &ThemeFieldError{Field: f.name, Msg: err.Error()}
		}
	}
	return nil
}

// Over returns t with its empty fields taken from base.
func (t PortalTheme) Over(base PortalTheme) PortalTheme {
	for _, f := range []struct{ dst, src *string }{
		{&t.ProductName, &base.ProductName}, {&t.LogoURL, &base.LogoURL}, {&t.AccentColor, &base.AccentColor},
		{&t.Mode, &base.Mode}, {&t.FontFamily, &base.FontFamily},
	} {
		if *f.dst == "" {
			*f.dst = *f.src
		}
	}
	return t
}

func checkMode(s string) error {
	switch s {
	case ThemeLight, ThemeDark, ThemeAuto:
		return nil
	}
	return fmt.Errorf("%q is not a theme: want light, dark or auto", s)
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

// CheckImageURL accepts an absolute https URL without credentials, or a
// path on this server.
func CheckImageURL(s string) error {
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
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return errors.New("must be an https URL without credentials, or a path on this server")
	}
	return nil
}

// CheckFontFamily accepts font names: letters, digits, spaces, hyphens,
// underscores and commas (a list), nothing that could end a CSS
// declaration.
func CheckFontFamily(s string) error {
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
	if strings.TrimSpace(strings.ReplaceAll(s, ",", "")) == "" {
		return errors.New("must name a font")
	}
	return nil
}

// RGB is a colour.
type RGB struct{ R, G, B uint8 }

// ParseColor reads #rgb or #rrggbb (the # may be left out).
func ParseColor(s string) (RGB, error) {
	h := strings.TrimPrefix(s, "#")
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	v, err := strconv.ParseUint(h, 16, 32)
	if len(h) != 6 || err != nil {
		return RGB{}, fmt.Errorf("%q is not a colour: want #rrggbb, such as #2563eb", s)
	}
	return RGB{uint8(v >> 16), uint8(v >> 8), uint8(v)}, nil
}

// Hex is c as #rrggbb.
func (c RGB) Hex() string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }
