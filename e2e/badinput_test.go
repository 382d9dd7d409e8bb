package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBadInputThroughTheBinary sends bad requests to the real server and
// checks each gets the Svix error shape and the right status, and that
// nothing was created. The api package's tests cover every route family in
// depth; this checks the assembled server.
func TestBadInputThroughTheBinary(t *testing.T) {
	srv := startServer(t, serverOptions{Args: []string{"--max-body-bytes", "4096"}})
	code, body := srv.do("POST", "/api/v1/app", srv.Token, `{"name":"shop","uid":"shop"}`)
	if code != http.StatusCreated {
		t.Fatalf("create app: %d %s", code, body)
	}
	big := `{"eventType":"x.y","payload":{"blob":"` + strings.Repeat("a", 8192) + `"}}`
	tests := []struct {
		name, method, path, token, body string
		status                          int
	}{
		{"malformed json", "POST", "/api/v1/app", srv.Token, `{"name":`, 400},
		{"missing name", "POST", "/api/v1/app", srv.Token, `{}`, 422},
		{"bad uid", "POST", "/api/v1/app", srv.Token, `{"name":"x","uid":"has space"}`, 422},
		{"unknown app", "GET", "/api/v1/app/app_nope", srv.Token, ``, 404},
		{"endpoint on unknown app", "POST", "/api/v1/app/nope/endpoint", srv.Token, `{"url":"https://example.com/h"}`, 404},
		{"endpoint bad url", "POST", "/api/v1/app/shop/endpoint", srv.Token, `{"url":"not a url"}`, 422},
		{"endpoint ftp url", "POST", "/api/v1/app/shop/endpoint", srv.Token, `{"url":"ftp://example.com/h"}`, 422},
		{"endpoint bad secret", "POST", "/api/v1/app/shop/endpoint", srv.Token, `{"url":"https://example.com/h","secret":"short"}`, 422},
		{"message payload not an object", "POST", "/api/v1/app/shop/msg", srv.Token, `{"eventType":"x.y","payload":[1]}`, 422},
		{"message without event type", "POST", "/api/v1/app/shop/msg", srv.Token, `{"payload":{}}`, 422},
		{"message over the size limit", "POST", "/api/v1/app/shop/msg", srv.Token, big, 413},
		{"no token", "GET", "/api/v1/app", "", ``, 401},
		{"wrong token", "POST", "/api/v1/app", "hr_wrong", `{"name":"evil"}`, 401},
		{"unknown message", "GET", "/api/v1/app/shop/msg/msg_nope", srv.Token, ``, 404},
		{"bad limit", "GET", "/api/v1/app?limit=0", srv.Token, ``, 422},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := srv.do(tt.method, tt.path, tt.token, tt.body)
			if code != tt.status {
				t.Fatalf("status %d, want %d; body %s", code, tt.status, body)
			}
			var e map[string]any
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("error body is not JSON: %s", body)
			}
			if _, ok := e["detail"]; !ok {
				t.Fatalf("error body has no detail: %s", body)
			}
			if code != 422 {
				if c, _ := e["code"].(string); c == "" {
					t.Fatalf("error body has no code: %s", body)
				}
			}
		})
	}
	// Nothing was created by any of them.
	code, body = srv.do("GET", "/api/v1/app", srv.Token, ``)
	var apps struct{ Data []map[string]any }
	if err := json.Unmarshal(body, &apps); code != 200 || err != nil || len(apps.Data) != 1 {
		t.Fatalf("apps after bad input: %d %s", code, body)
	}
	code, body = srv.do("GET", "/api/v1/app/shop/endpoint", srv.Token, ``)
	var eps struct{ Data []map[string]any }
	if err := json.Unmarshal(body, &eps); code != 200 || err != nil || len(eps.Data) != 0 {
		t.Fatalf("endpoints after bad input: %d %s", code, body)
	}
	code, body = srv.do("GET", "/api/v1/app/shop/msg", srv.Token, ``)
	var msgs struct{ Data []map[string]any }
	if err := json.Unmarshal(body, &msgs); code != 200 || err != nil || len(msgs.Data) != 0 {
		t.Fatalf("messages after bad input: %d %s", code, body)
	}
}

// TestPayloadIsDeliveredByteForByte publishes a payload with unusual
// spacing, key order and unicode escapes and checks the receiver gets
// exactly those bytes.
func TestPayloadIsDeliveredByteForByte(t *testing.T) {
	srv := startServer(t, serverOptions{})
	rcv := newReceiver(t)
	appID, _ := setupApp(t, srv.SDK(), rcv.URL)
	payload := `{ "z":1,"a" : [1,2, 3],"s":"\u00e9\n","n":1.50e3 }`
	code, body := srv.do("POST", "/api/v1/app/"+appID+"/msg", srv.Token, `{"eventType":"x.y","payload":`+payload+`}`)
	if code != http.StatusAccepted {
		t.Fatalf("publish: %d %s", code, body)
	}
	waitFor(t, 10*time.Second, "the delivery", func() bool { return len(rcv.requests()) == 1 })
	if got := string(rcv.requests()[0].Body); got != payload {
		t.Fatalf("delivered body\n%q\nwant\n%q", got, payload)
	}
}
