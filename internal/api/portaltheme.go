package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/hookrelay/hookrelay"
)

// portalThemeIn is the body of PUT /api/v1/app/{app_id}/portal-theme.
type portalThemeIn struct {
	ProductName opt[string] `json:"productName"`
	LogoURL     opt[string] `json:"logoUrl"`
	AccentColor opt[string] `json:"accentColor"`
	Mode        opt[string] `json:"mode"`
	FontFamily  opt[string] `json:"fontFamily"`
	// unknown are the body's keys that name no field, sorted: the route
	// is hookrelay's own, so each is refused rather than ignored.
	unknown []string
}

// portalThemeNames are the keys of a portal theme body.
var portalThemeNames = []string{"productName", "logoUrl", "accentColor", "mode", "fontFamily"}

// UnmarshalJSON decodes the fields as encoding/json does and notes the
// keys that match none.
func (in *portalThemeIn) UnmarshalJSON(b []byte) error {
	type fields portalThemeIn // without this method
	var f fields
	unknown, err := decodeKnown(b, &f, portalThemeNames...)
	if err != nil {
		return err
	}
	*in = portalThemeIn(f)
	in.unknown = unknown
	return nil
}

// getPortalTheme is GET /api/v1/app/{app_id}/portal-theme, a hookrelay
// extension: the portal look the application overrides the server's
// settings with (only the fields it sets; {} when none).
func (s *server) getPortalTheme(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	t, err := s.appPortalTheme(r, app.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

// updatePortalTheme is PUT /api/v1/app/{app_id}/portal-theme: replaces the
// application's portal look (fields left out or null take the server's;
// {} removes the override; any other key is 422). It applies to portal sessions opened
// afterwards.
func (s *server) updatePortalTheme(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	var in portalThemeIn
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	t := hookrelay.PortalTheme{ProductName: in.ProductName.V, LogoURL: in.LogoURL.V, AccentColor: in.AccentColor.V,
		Mode: in.Mode.V, FontFamily: in.FontFamily.V}
	var c checker
	for _, f := range []struct {
		name string
		set  bool
		v    string
	}{{"productName", in.ProductName.has(), t.ProductName}, {"logoUrl", in.LogoURL.has(), t.LogoURL},
		{"accentColor", in.AccentColor.has(), t.AccentColor}, {"mode", in.Mode.has(), t.Mode},
		{"fontFamily", in.FontFamily.has(), t.FontFamily}} {
		if f.set && f.v == "" {
			c.add("must not be empty: leave it out to take the server's setting", f.name)
		}
	}
	for _, k := range in.unknown {
		c.add("is not a portal theme field; they are productName, logoUrl, accentColor, mode and fontFamily", k)
	}
	if err := c.err(); err != nil {
		return err
	}
	if err := t.Validate(); err != nil {
		var fe *hookrelay.ThemeFieldError
		if errors.As(err, &fe) {
			return invalid(fe.Msg, "body", fe.Field)
		}
		return err
	}
	if t.AccentColor != "" {
		rgb, _ := hookrelay.ParseColor(t.AccentColor)
		t.AccentColor = rgb.Hex()
	}
	stored := ""
	if t != (hookrelay.PortalTheme{}) {
		b, err := json.Marshal(t)
		if err != nil {
			return err
		}
		stored = string(b)
	}
	if err := s.store.SetAppPortalTheme(r.Context(), app.ID, stored); err != nil {
		if errors.Is(err, hookrelay.ErrNotFound) {
			return errNotFound("application not found")
		}
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

// appPortalTheme reads an application's stored portal theme.
func (s *server) appPortalTheme(r *http.Request, appID string) (hookrelay.PortalTheme, error) {
	var t hookrelay.PortalTheme
	stored, err := s.store.GetAppPortalTheme(r.Context(), appID)
	if err != nil || stored == "" {
		return t, err
	}
	if err := json.Unmarshal([]byte(stored), &t); err != nil {
		s.log.Warn("stored portal theme is not JSON; ignoring it", "app", appID, "err", err)
		return hookrelay.PortalTheme{}, nil
	}
	return t, nil
}
