package api

import (
	"net/http"
	"strings"
	"testing"
)

// TestUIDsShapedLikeIDsAreRefused: a uid starting with its object's ID
// prefix ("app_", "ep_") could equal another object's ID, and a lookup by
// that value would then find either. Every way of setting a uid, from the
// body or from the path of an upsert, refuses one with a 422 naming the
// field and changes nothing; lookups by ID keep finding the object.
func TestUIDsShapedLikeIDsAreRefused(t *testing.T) {
	f := newFixture(t)
	appA, appB, epA := "/api/v1/app/"+f.appA, "/api/v1/app/"+f.appB, f.epA
	var epB endpointOut
	f.mustDo(http.StatusCreated, "POST", appB+"/endpoint", testAdminToken, `{"url":"https://example.com/b"}`, &epB)

	tests := []struct {
		name, method, path, body, loc string
	}{
		{"create app with another app's id", "POST", "/api/v1/app", `{"name":"x","uid":"` + f.appA + `"}`, "body.uid"},
		{"create app with an id-shaped uid", "POST", "/api/v1/app", `{"name":"x","uid":"app_2x"}`, "body.uid"},
		{"put app uid", "PUT", appB, `{"name":"B","uid":"` + f.appA + `"}`, "body.uid"},
		{"put creating app with body uid", "PUT", "/api/v1/app/new-app", `{"name":"x","uid":"app_2x"}`, "body.uid"},
		{"put creating app with path uid", "PUT", "/api/v1/app/app_2x", `{"name":"x"}`, "path.app_id"},
		{"patch app uid", "PATCH", appB, `{"uid":"` + f.appA + `"}`, "body.uid"},
		{"publish creating app with path uid", "POST", "/api/v1/app/app_2x/msg", `{"eventType":"a","payload":{},"application":{"name":"x"}}`, "path.app_id"},
		{"publish creating app with body uid", "POST", "/api/v1/app/new-app/msg", `{"eventType":"a","payload":{},"application":{"name":"x","uid":"app_2x"}}`, "body.application.uid"},
		{"create endpoint with another endpoint's id", "POST", appA + "/endpoint", `{"url":"https://example.com/x","uid":"` + epB.ID + `"}`, "body.uid"},
		{"put endpoint uid", "PUT", appA + "/endpoint/" + epA, `{"url":"https://example.com/a","uid":"ep_2x"}`, "body.uid"},
		{"put creating endpoint with path uid", "PUT", appA + "/endpoint/ep_2x", `{"url":"https://example.com/x"}`, "path.endpoint_id"},
		{"patch endpoint uid", "PATCH", appA + "/endpoint/" + epA, `{"uid":"ep_2x"}`, "body.uid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.snapshot()
			status, out := f.do(tt.method, tt.path, testAdminToken, tt.body)
			if status != http.StatusUnprocessableEntity {
				t.Fatalf("%s %s: status %d, want 422; body %s", tt.method, tt.path, status, out)
			}
			assertErrorBody(t, status, out, "", strings.Split(tt.loc, "."))
			if after := f.snapshot(); after != before {
				t.Errorf("state changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}

	// The IDs still name their own objects.
	var app applicationOut
	f.mustDo(http.StatusOK, "GET", appA, testAdminToken, nil, &app)
	if app.ID != f.appA {
		t.Errorf("GET %s found %s", appA, app.ID)
	}
	// Other objects' prefixes, or the prefix inside a uid, are fine.
	f.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"x","uid":"ep_app_1"}`, nil)
	f.mustDo(http.StatusCreated, "POST", appA+"/endpoint", testAdminToken, `{"url":"https://example.com/y","uid":"app_ep_1"}`, nil)
}
