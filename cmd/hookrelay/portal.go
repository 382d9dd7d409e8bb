package main

import (
	"fmt"
	"strings"

	"github.com/hookrelay/hookrelay/internal/portal"
)

// portalFlags registers the portal's settings: who may frame it (and call
// the API from a browser with a portal token), and its look.
func portalFlags(f *flagSet, c *config) {
	f.value("portal-allowed-origins", "HOOKRELAY_PORTAL_ALLOWED_ORIGINS", "",
		"comma-separated origins (such as https://app.acme.com) that may frame the portal and call the API from a browser with a portal token",
		func(s string) error {
			o, err := portal.ParseOrigins(s)
			if err != nil {
				return fmt.Errorf("portal allowed origins: %w", err)
			}
			c.PortalAllowedOrigins = o
			return nil
		})
	themeField := func(name, env, def, help string, set func(*portal.Theme, string)) {
		f.value(name, env, def, help, func(s string) error {
			var t portal.Theme
			set(&t, strings.TrimSpace(s))
			if err := t.Validate(); err != nil {
				return err
			}
			set(&c.PortalTheme, strings.TrimSpace(s))
			return nil
		})
	}
	themeField("portal-product-name", "HOOKRELAY_PORTAL_PRODUCT_NAME", portal.DefaultTheme.ProductName,
		"product name shown in the portal's header and titles", func(t *portal.Theme, s string) { t.ProductName = s })
	themeField("portal-logo-url", "HOOKRELAY_PORTAL_LOGO_URL", "",
		"logo shown in the portal's header: an https URL or a path on this server", func(t *portal.Theme, s string) { t.LogoURL = s })
	themeField("portal-accent-color", "HOOKRELAY_PORTAL_ACCENT_COLOR", portal.DefaultTheme.AccentColor,
		"the portal's accent colour, #rrggbb", func(t *portal.Theme, s string) { t.AccentColor = s })
	themeField("portal-theme", "HOOKRELAY_PORTAL_THEME", portal.DefaultTheme.Mode,
		"light, dark or auto (the viewer's browser preference)", func(t *portal.Theme, s string) { t.Mode = s })
}
