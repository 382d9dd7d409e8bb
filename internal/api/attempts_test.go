package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/hookrelay/hookrelay"
)

// TestBinaryAttemptResponse: an attempt whose response body is not text.
// The attempt object's response is valid UTF-8 (invalid bytes become
// U+FFFD, NUL is escaped) in every answer that shows it, the SDK reads it,
// and the response route gives back the exact bytes.
func TestBinaryAttemptResponse(t *testing.T) {
	tests := []struct{ name, body string }{
		{"gzip", "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\xcbH\xcd\xc9\xc9\x07\x00"},
		{"invalid utf-8", "caf\xc3( \xe2\x82 \xed\xa0\x80 \xff\xfe"},
		{"text", "{\"ok\":\"h\u00e9llo\"}"},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ctx := t.Context()
			app, err := h.sdk.Application.Create(ctx, &svix.ApplicationIn{Name: "a"})
			if err != nil {
				t.Fatal(err)
			}
			ep, err := h.sdk.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: "https://example.com/a"})
			if err != nil {
				t.Fatal(err)
			}
			msg, err := h.sdk.Message.Create(ctx, app.Id, &svix.MessageIn{EventType: "a.b", Payload: map[string]any{}})
			if err != nil {
				t.Fatal(err)
			}
			atts := h.makeAttempts(hookrelay.StatusSuccess, 200, tt.body)
			if len(atts) != 1 {
				t.Fatalf("%d attempts", len(atts))
			}
			att := atts[0]
			want := hookrelay.ValidUTF8(tt.body)
			base := "/api/v1/app/" + app.Id + "/msg/" + msg.Id + "/attempt/" + att.ID

			for _, path := range []string{
				base,
				"/api/v1/app/" + app.Id + "/attempt/msg/" + msg.Id,
				"/api/v1/app/" + app.Id + "/attempt/endpoint/" + ep.Id,
			} {
				status, out := h.do("GET", path, testAdminToken, nil)
				if status != http.StatusOK || !utf8.Valid(out) {
					t.Fatalf("GET %s: %d, valid UTF-8 %v: %q", path, status, utf8.Valid(out), out)
				}
				var got struct {
					Response *string
					Data     []struct{ Response *string }
				}
				if err := json.Unmarshal(out, &got); err != nil {
					t.Fatal(err)
				}
				if got.Response == nil && len(got.Data) == 1 {
					got.Response = got.Data[0].Response
				}
				if got.Response == nil || *got.Response != want {
					t.Errorf("GET %s: response %v, want %q: %s", path, got.Response, want, out)
				}
				if strings.IndexByte(tt.body, 0) >= 0 && !bytes.Contains(out, []byte(`\u0000`)) {
					t.Errorf("GET %s: NUL not escaped as \\u0000: %q", path, out)
				}
			}
			got, err := h.sdk.MessageAttempt.Get(ctx, app.Id, msg.Id, att.ID)
			if err != nil || got.Response != want {
				t.Errorf("SDK: response %q (%v), want %q", got.Response, err, want)
			}

			resp := rawGet(t, h, base+"/response", testAdminToken)
			if resp.status != http.StatusOK || resp.body != tt.body {
				t.Errorf("GET .../response: %d %q, want 200 %q", resp.status, resp.body, tt.body)
			}
			if resp.contentType != "application/octet-stream" || resp.contentLength != strconv.Itoa(len(tt.body)) {
				t.Errorf("GET .../response: Content-Type %q, Content-Length %q", resp.contentType, resp.contentLength)
			}

			// Expunged, the body is gone from both views.
			h.mustDo(http.StatusNoContent, "DELETE", base+"/content", testAdminToken, nil, nil)
			if resp := rawGet(t, h, base+"/response", testAdminToken); resp.status != http.StatusOK || resp.body != "" {
				t.Errorf("GET .../response after expunge: %d %q", resp.status, resp.body)
			}
		})
	}
}

func TestAttemptResponseNotFound(t *testing.T) {
	f := newFixture(t)
	base := "/api/v1/app/" + f.appA + "/msg/" + f.msgA + "/attempt/"
	for _, tt := range []struct{ name, path string }{
		{"unknown attempt", base + "atmpt_nope/response"},
		{"unknown message", "/api/v1/app/" + f.appA + "/msg/msg_nope/attempt/" + f.attA + "/response"},
		{"unknown app", "/api/v1/app/app_nope/msg/" + f.msgA + "/attempt/" + f.attA + "/response"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, out := f.do("GET", tt.path, testAdminToken, nil)
			if status != http.StatusNotFound {
				t.Fatalf("status %d, want 404: %s", status, out)
			}
			assertErrorBody(t, status, out, "not_found", nil)
		})
	}
	// The attempt's own application's portal token reads it.
	resp := rawGet(t, f.harness, base+f.attA+"/response", f.portalToken("app-a"))
	if resp.status != http.StatusOK || resp.body != "ok" {
		t.Errorf("portal token: %d %q, want 200 \"ok\"", resp.status, resp.body)
	}
}

type rawAnswer struct {
	status                     int
	body                       string
	contentType, contentLength string
}

// rawGet GETs path and returns the answer as is.
func rawGet(t *testing.T, h *harness, path, token string) rawAnswer {
	t.Helper()
	req, err := http.NewRequest("GET", h.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rawAnswer{resp.StatusCode, string(b), resp.Header.Get("Content-Type"), resp.Header.Get("Content-Length")}
}
