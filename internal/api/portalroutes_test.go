package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/hookrelay/hookrelay"
)

// TestSendTest covers POST .../send-test: a payload of the caller's own as
// an event of a catalog type, to one endpoint alone, for admin and portal
// tokens; read-only portal tokens and bad bodies change nothing.
func TestSendTest(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	c := h.sdk
	if _, err := c.EventType.Create(ctx, &svix.EventTypeIn{Name: "contact.created", Description: "d"}); err != nil {
		t.Fatal(err)
	}
	app, _ := c.Application.Create(ctx, &svix.ApplicationIn{Name: "A"})
	other, _ := c.Application.Create(ctx, &svix.ApplicationIn{Name: "B"})
	ep, _ := c.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: "https://example.com/a", FilterTypes: []string{"call.completed"}})
	_, _ = c.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: "https://example.com/b"})
	otherEp, _ := c.Endpoint.Create(ctx, other.Id, &svix.EndpointIn{Url: "https://example.com/c"})
	path := "/api/v1/app/" + app.Id + "/endpoint/" + ep.Id + "/send-test"
	portal := h.portalToken(app.Id)

	for _, token := range []string{testAdminToken, portal} {
		var msg svix.MessageOut
		h.mustDo(http.StatusAccepted, "POST", path, token, `{"eventType":"contact.created","payload":{"b":2, "a":[1]}}`, &msg, "User-Agent", goSDKUserAgent)
		if msg.EventType != "contact.created" || msg.Payload["b"] != float64(2) {
			t.Errorf("send-test returned %+v", msg)
		}
		got, err := c.Message.Get(ctx, app.Id, msg.Id)
		if err != nil {
			t.Fatalf("get message: %v", err)
		}
		if _, ok := got.Payload["a"]; !ok {
			t.Errorf("stored payload %+v", got.Payload)
		}
		dest, err := c.MessageAttempt.ListAttemptedDestinations(ctx, app.Id, msg.Id, nil)
		if err != nil || len(dest.Data) != 1 || dest.Data[0].Id != ep.Id {
			t.Errorf("destinations: %+v, %v", dest, err)
		}
	}

	before := h.snapshot()
	var ro appPortalAccessOut
	h.mustDo(http.StatusOK, "POST", "/api/v1/auth/app-portal-access/"+app.Id, testAdminToken, map[string]any{"readOnly": true}, &ro, "User-Agent", goSDKUserAgent)
	tests := []struct {
		name   string
		path   string
		token  string
		body   string
		status int
		loc    string
	}{
		{"no event type", path, portal, `{"payload":{}}`, 422, "body.eventType"},
		{"unknown event type", path, portal, `{"eventType":"no.such","payload":{}}`, 422, "body.eventType"},
		{"no payload", path, portal, `{"eventType":"contact.created"}`, 422, "body.payload"},
		{"payload not an object", path, portal, `{"eventType":"contact.created","payload":[1]}`, 422, "body.payload"},
		{"payload null", path, portal, `{"eventType":"contact.created","payload":null}`, 422, "body.payload"},
		{"not JSON", path, portal, `{"eventType":`, 400, ""},
		{"read-only portal token", path, ro.Token, `{"eventType":"contact.created","payload":{}}`, 403, ""},
		{"another app's endpoint", "/api/v1/app/" + other.Id + "/endpoint/" + otherEp.Id + "/send-test", portal, `{"eventType":"contact.created","payload":{}}`, 404, ""},
		{"unknown endpoint", "/api/v1/app/" + app.Id + "/endpoint/ep_nope/send-test", portal, `{"eventType":"contact.created","payload":{}}`, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := h.do("POST", tt.path, tt.token, tt.body)
			if status != tt.status {
				t.Fatalf("status %d %s, want %d", status, body, tt.status)
			}
			if tt.loc != "" {
				assertErrorBody(t, status, body, "", strings.Split(tt.loc, "."))
			}
		})
	}
	if after := h.snapshot(); after != before {
		t.Errorf("refused requests changed something:\n%s\n---\n%s", before, after)
	}
}

// TestAppBackgroundTask covers GET /api/v1/app/{app_id}/background-task/{id}:
// a portal token reads the progress of a recover it started, in the task
// route's shape, and of the application's other tasks, and nothing of
// another application.
func TestAppBackgroundTask(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	c := h.sdk
	app, _ := c.Application.Create(ctx, &svix.ApplicationIn{Name: "A"})
	other, _ := c.Application.Create(ctx, &svix.ApplicationIn{Name: "B"})
	ep, _ := c.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: "https://example.com/a"})
	otherEp, _ := c.Endpoint.Create(ctx, other.Id, &svix.EndpointIn{Url: "https://example.com/b"})
	for i := 0; i < 3; i++ {
		if _, err := c.Message.Create(ctx, app.Id, &svix.MessageIn{EventType: "t", Payload: map[string]any{"i": i}}); err != nil {
			t.Fatal(err)
		}
	}
	h.makeAttempts(hookrelay.StatusFail, 500, "boom")

	portal := h.portalToken(app.Id)
	since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	var started svix.RecoverOut
	h.mustDo(http.StatusAccepted, "POST", "/api/v1/app/"+app.Id+"/endpoint/"+ep.Id+"/recover", portal, `{"since":"`+since+`"}`, &started, "User-Agent", goSDKUserAgent)
	if status, _ := h.do("GET", "/api/v1/background-task/"+started.Id, portal, nil); status != http.StatusForbidden {
		t.Errorf("environment task route for a portal token: %d, want 403", status)
	}
	deadline := time.Now().Add(30 * time.Second)
	var task svix.BackgroundTaskOut
	for {
		h.mustDo(http.StatusOK, "GET", "/api/v1/app/"+app.Id+"/background-task/"+started.Id, portal, nil, &task, "User-Agent", goSDKUserAgent)
		if task.Status != "running" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("task still running after 30s: %+v", task)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if task.Status != "finished" || task.Task != "endpoint.recover" || task.Data["recovered"] != float64(3) {
		t.Errorf("task %+v, want finished with 3 recovered", task)
	}

	var otherTask svix.RecoverOut
	h.mustDo(http.StatusAccepted, "POST", "/api/v1/app/"+other.Id+"/endpoint/"+otherEp.Id+"/recover", testAdminToken, `{"since":"`+since+`"}`, &otherTask, "User-Agent", goSDKUserAgent)
	// The application's other tasks: a bulk-replay of one of its endpoints
	// (which the portal token may start) and an expunge of its contents;
	// a usage task spans applications.
	var bulk, purge, usage taskOut
	h.mustDo(http.StatusAccepted, "POST", "/api/v1/app/"+app.Id+"/endpoint/"+ep.Id+"/bulk-replay", portal, `{"since":"`+since+`"}`, &bulk)
	h.mustDo(http.StatusAccepted, "POST", "/api/v1/app/"+app.Id+"/msg/expunge-all-contents", testAdminToken, `{}`, &purge)
	h.mustDo(http.StatusAccepted, "POST", "/api/v1/stats/usage/app", testAdminToken, `{"since":"`+since+`","until":"`+time.Now().UTC().Format(time.RFC3339)+`","appIds":["`+app.Id+`"]}`, &usage)
	for _, tt := range []struct {
		name, path, token string
		status            int
	}{
		{"another app's task under this app", "/api/v1/app/" + app.Id + "/background-task/" + otherTask.Id, testAdminToken, 404},
		{"another app's task for the portal token", "/api/v1/app/" + other.Id + "/background-task/" + otherTask.Id, portal, 404},
		{"unknown task", "/api/v1/app/" + app.Id + "/background-task/qtask_nope", portal, 404},
		{"admin reads it too", "/api/v1/app/" + other.Id + "/background-task/" + otherTask.Id, testAdminToken, 200},
		{"its bulk-replay", "/api/v1/app/" + app.Id + "/background-task/" + bulk.ID, portal, 200},
		{"its contents expunge", "/api/v1/app/" + app.Id + "/background-task/" + purge.ID, portal, 200},
		{"its bulk-replay under another app", "/api/v1/app/" + other.Id + "/background-task/" + bulk.ID, testAdminToken, 404},
		{"a usage task", "/api/v1/app/" + app.Id + "/background-task/" + usage.ID, testAdminToken, 404},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if status, body := h.do("GET", tt.path, tt.token, nil); status != tt.status {
				t.Errorf("status %d %s, want %d", status, body, tt.status)
			}
		})
	}
}
