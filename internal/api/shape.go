package api

import (
	"net/http"
	"strconv"
	"strings"
)

// shape is the generation of Svix response schemas a client decodes. The
// official SDKs name their version in the User-Agent
// ("svix-libs/VERSION/LANG ..."); each generation gets exactly the fields
// its own schemas define, because some SDKs reject unknown fields (the Go
// SDK v1.44.0) and newer ones require fields the older schemas lack.
type shape int

const (
	// shapeCurrent is the current document (svix-openapi-current.json), the
	// schemas of the 2.x SDKs: eventTypes and throttleRate replace
	// filterTypes, rateLimit and an endpoint's version; statusText,
	// canceled, updatedAt and deliverAt are present. A client that names
	// no SDK version gets it.
	shapeCurrent shape = iota
	// shapeV1_44 is exactly the v1.44.0 document: no field added after it.
	shapeV1_44
	// shapeV1 is what the 1.x SDKs after 1.44 decode (checked against the
	// JavaScript SDK 1.99.1): the v1.44.0 fields plus statusText, canceled,
	// updatedAt, deliverAt and throttleRate beside its deprecated alias
	// rateLimit.
	shapeV1
	// shapeBrowser is shapeCurrent with shapeV1's names beside it (an
	// endpoint's filterTypes and version beside eventTypes, rateLimit
	// beside throttleRate), for browsers whose client names no SDK.
	// Chromium drops the User-Agent a page's fetch sets, so a page
	// running the JS SDK 1.x or 2.x looks the same; only JavaScript runs
	// in a page, and both JS SDK generations read the fields they know and
	// ignore the others (e2e/browser/sdk.mjs runs both in Chromium).
	shapeBrowser
)

func (s shape) String() string {
	switch s {
	case shapeV1_44:
		return "v1.44"
	case shapeV1:
		return "v1"
	case shapeBrowser:
		return "browser"
	}
	return "current"
}

// shapeFor decides the shape from a User-Agent: an SDK version before
// 1.45 gets shapeV1_44, one from 1.45 before 2 gets shapeV1, anything else
// (2.x and later, no svix-libs token, a version that does not parse) gets
// shapeCurrent.
func shapeFor(userAgent string) shape {
	for _, field := range strings.Fields(userAgent) {
		rest, ok := strings.CutPrefix(field, "svix-libs/")
		if !ok {
			continue
		}
		version, _, _ := strings.Cut(rest, "/")
		major, minor, ok := majorMinor(version)
		switch {
		case !ok || major >= 2:
			return shapeCurrent
		case major == 1 && minor >= 45:
			return shapeV1
		default:
			return shapeV1_44
		}
	}
	return shapeCurrent
}

// majorMinor reads "MAJOR.MINOR[.PATCH[-pre]]" (an optional leading "v").
func majorMinor(v string) (major, minor int, ok bool) {
	v = strings.TrimPrefix(v, "v")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(strings.SplitN(parts[1], "-", 2)[0])
	if err1 != nil || err2 != nil || major < 0 || minor < 0 {
		return 0, 0, false
	}
	return major, minor, true
}

// shapeOf is the shape the request's client decodes: the one its
// User-Agent names, or shapeBrowser for a browser's request (see
// fromBrowser) whose User-Agent names no SDK.
func shapeOf(r *http.Request) shape {
	ua := r.Header.Get("User-Agent")
	if fromBrowser(r) && !namesSDK(ua) {
		return shapeBrowser
	}
	return shapeFor(ua)
}

// namesSDK reports whether a User-Agent holds an SDK's svix-libs/ token.
func namesSDK(userAgent string) bool {
	for _, field := range strings.Fields(userAgent) {
		if strings.HasPrefix(field, "svix-libs/") {
			return true
		}
	}
	return false
}

// statusTexts are Svix's MessageStatusText, indexed by MessageStatus.
var statusTexts = [...]string{"success", "pending", "fail", "sending", "canceled"}

// statusText names a MessageStatus, or returns nil when sh has no
// statusText.
func statusText(sh shape, status int) *string {
	if sh == shapeV1_44 || status < 0 || status >= len(statusTexts) {
		return nil
	}
	s := statusTexts[status]
	return &s
}
