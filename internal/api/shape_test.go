package api

import (
	"net/http"
	"testing"
)

func TestShapeFor(t *testing.T) {
	for _, tt := range []struct {
		userAgent string
		want      shape
	}{
		{"", shapeCurrent},
		{"curl/8.5.0", shapeCurrent},
		{"Go-http-client/1.1", shapeCurrent},
		{"svix-libs/1.44.0/go", shapeV1_44},
		{"svix-libs/1.44.1/python", shapeV1_44},
		{"svix-libs/1.21.0/ruby", shapeV1_44},
		{"svix-libs/0.85.1/javascript", shapeV1_44},
		{"svix-libs/1.45.0/go", shapeV1},
		{"svix-libs/1.99.1/javascript node/v20.20.2 linux/x64", shapeV1},
		{"svix-libs/1.99.0-beta.1/rust", shapeV1},
		{"svix-libs/2.0.0/javascript", shapeCurrent},
		{"svix-libs/2.5.0/javascript node/v22.1.0 linux/x64", shapeCurrent},
		{"svix-libs/10.1.0/go", shapeCurrent},
		{"my-proxy/1.0 svix-libs/1.44.0/go", shapeV1_44},
		{"svix-libs/v1.60.0/go", shapeV1},
		{"svix-libs/", shapeCurrent},
		{"svix-libs/banana/go", shapeCurrent},
		{"svix-libs/1/go", shapeCurrent},
		{"svix-libs/1.x.0/go", shapeCurrent},
		{"svix-libs/-1.44.0/go", shapeCurrent},
	} {
		t.Run(tt.userAgent, func(t *testing.T) {
			if got := shapeFor(tt.userAgent); got != tt.want {
				t.Errorf("shapeFor(%q) = %v, want %v", tt.userAgent, got, tt.want)
			}
		})
	}
}

func TestShapeOf(t *testing.T) {
	for _, tt := range []struct {
		userAgent, origin string
		want              shape
	}{
		{"Mozilla/5.0 HeadlessChrome/156.0.0.0", "https://app.acme.test", shapeBrowser},
		{"", "https://app.acme.test", shapeBrowser},
		{"svix-libs/1.99.1/javascript Mozilla/5.0 Firefox/140.0", "https://app.acme.test", shapeV1},
		{"svix-libs/2.5.0/javascript Mozilla/5.0 Firefox/140.0", "https://app.acme.test", shapeCurrent},
		{"svix-libs/1.44.0/go", "https://app.acme.test", shapeV1_44},
		{"Mozilla/5.0 HeadlessChrome/156.0.0.0", "", shapeCurrent},
		{"svix-libs/1.99.1/javascript node/v20.20.2 linux/x64", "", shapeV1},
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header.Set("User-Agent", tt.userAgent)
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		if got := shapeOf(r); got != tt.want {
			t.Errorf("shapeOf(%q, Origin %q) = %v, want %v", tt.userAgent, tt.origin, got, tt.want)
		}
	}
}
