package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
)

const secret1 = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// verifier checks every webhook a receiver gets against the endpoint's
// secrets with the Svix SDK's own Verify.
type verifier struct {
	mu      sync.Mutex
	secrets []string
}

func (v *verifier) set(secrets ...string) {
	v.mu.Lock()
	v.secrets = secrets
	v.mu.Unlock()
}

// check reports whether every one of the verifier's secrets verifies r.
func (v *verifier) check(t *testing.T, r received) {
	t.Helper()
	v.mu.Lock()
	secrets := append([]string(nil), v.secrets...)
	v.mu.Unlock()
	for _, s := range secrets {
		wh, err := svix.NewWebhook(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(r.Body, r.Header); err != nil {
			t.Errorf("webhook %s does not verify with secret %s…: %v", r.Header.Get("webhook-id"), s[:12], err)
		}
	}
}

func TestSDKEndToEnd(t *testing.T) {
	forEachDatabase(t, testSDKEndToEnd)
}

func testSDKEndToEnd(t *testing.T, db string) {
	srv := startServer(t, serverOptions{DB: db, Args: []string{"--retry-schedule", "1s", "--retry-jitter", "0"}})
	ctx := ctxT(t)
	client := srv.SDK()
	rcv := newReceiver(t)
	other := newReceiver(t)

	// Applications.
	app, err := client.Application.Create(ctx, &svix.ApplicationIn{Name: "Acme", Uid: svix.String("acme"), Metadata: &map[string]string{"plan": "pro"}})
	if err != nil {
		t.Fatalf("create app: %v", err)
	}
	if !strings.HasPrefix(app.Id, "app_") || app.Name != "Acme" || app.Metadata["plan"] != "pro" {
		t.Fatalf("created app = %+v", app)
	}
	byUID, err := client.Application.Get(ctx, "acme")
	if err != nil || byUID.Id != app.Id {
		t.Fatalf("get app by uid: %+v, %v", byUID, err)
	}
	if _, err := client.Application.Patch(ctx, app.Id, &svix.ApplicationPatch{Name: svix.String("Acme Inc")}); err != nil {
		t.Fatalf("patch app: %v", err)
	}
	apps, err := client.Application.List(ctx, nil)
	if err != nil || len(apps.Data) != 1 || apps.Data[0].Name != "Acme Inc" || !apps.Done {
		t.Fatalf("list apps: %+v, %v", apps, err)
	}
	if _, err := client.Application.Create(ctx, &svix.ApplicationIn{Name: "dup", Uid: svix.String("acme")}); errStatus(err) != http.StatusConflict {
		t.Fatalf("duplicate app uid: want 409, got %v", err)
	}

	// Event types, with an example for send-example.
	_, err = client.EventType.Create(ctx, &svix.EventTypeIn{
		Name:        "contact.created",
		Description: "A contact was created",
		Schemas: map[string]interface{}{"1": map[string]interface{}{
			"type":     "object",
			"examples": []interface{}{map[string]interface{}{"type": "contact.created", "data": map[string]interface{}{"id": "c_example"}}},
		}},
	})
	if err != nil {
		t.Fatalf("create event type: %v", err)
	}
	if _, err := client.EventType.Create(ctx, &svix.EventTypeIn{Name: "call.completed", Description: "A call ended"}); err != nil {
		t.Fatalf("create event type: %v", err)
	}
	ets, err := client.EventType.List(ctx, nil)
	if err != nil || len(ets.Data) != 2 {
		t.Fatalf("list event types: %+v, %v", ets, err)
	}

	// Endpoints: one for the contact family, one for calls only, one disabled.
	vf := &verifier{}
	vf.set(secret1)
	ep, err := client.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{
		Url:         rcv.URL + "/contacts",
		Uid:         svix.String("contacts"),
		FilterTypes: []string{"contact.*"},
		Secret:      svix.String(secret1),
		Description: svix.String("CRM sync"),
	})
	if err != nil {
		t.Fatalf("create endpoint: %v", err)
	}
	if ep.Version != 1 || ep.Url != rcv.URL+"/contacts" {
		t.Fatalf("endpoint = %+v", ep)
	}
	calls, err := client.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: other.URL + "/calls", FilterTypes: []string{"call.completed"}})
	if err != nil {
		t.Fatalf("create endpoint: %v", err)
	}
	if _, err := client.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: other.URL + "/disabled", Disabled: ptr(true)}); err != nil {
		t.Fatalf("create disabled endpoint: %v", err)
	}
	got, err := client.Endpoint.Get(ctx, app.Id, "contacts")
	if err != nil || got.Id != ep.Id {
		t.Fatalf("get endpoint by uid: %+v %v", got, err)
	}
	sec, err := client.Endpoint.GetSecret(ctx, app.Id, ep.Id)
	if err != nil || sec.Key != secret1 {
		t.Fatalf("get secret: %+v %v", sec, err)
	}
	if err := client.Endpoint.UpdateHeaders(ctx, app.Id, ep.Id, &svix.EndpointHeadersIn{Headers: map[string]string{
		"X-Tenant":        "t-42",
		"X-Webhook-Token": "s3cr3t",
	}}); err != nil {
		t.Fatalf("update headers: %v", err)
	}
	hdrs, err := client.Endpoint.GetHeaders(ctx, app.Id, ep.Id)
	if err != nil {
		t.Fatalf("get headers: %v", err)
	}
	if hdrs.Headers["X-Tenant"] != "t-42" || len(hdrs.Sensitive) != 1 || !strings.EqualFold(hdrs.Sensitive[0], "X-Webhook-Token") {
		t.Fatalf("headers read back = %+v (the token must be redacted and listed as sensitive)", hdrs)
	}
	if _, ok := hdrs.Headers["X-Webhook-Token"]; ok {
		t.Fatalf("sensitive header value read back: %+v", hdrs.Headers)
	}

	// Publish: only the contact endpoint gets contact.created.
	msg, err := client.Message.Create(ctx, app.Id, &svix.MessageIn{
		EventType: "contact.created",
		EventId:   svix.String("evt-1"),
		Payload:   map[string]interface{}{"type": "contact.created", "data": map[string]interface{}{"id": "c_1"}},
		Channels:  []string{"agent-7"},
	})
	if err != nil {
		t.Fatalf("create message: %v", err)
	}
	waitFor(t, 10*time.Second, "the contact endpoint to receive the message", func() bool { return len(rcv.requests()) == 1 })
	first := rcv.requests()[0]
	vf.check(t, first)
	if first.Header.Get("webhook-id") != msg.Id {
		t.Errorf("webhook-id = %q, want %q", first.Header.Get("webhook-id"), msg.Id)
	}
	if first.Header.Get("X-Tenant") != "t-42" || first.Header.Get("X-Webhook-Token") != "s3cr3t" {
		t.Errorf("custom headers not sent: %v", first.Header)
	}
	if ua := first.Header.Get("User-Agent"); !strings.HasPrefix(ua, "hookrelay/") {
		t.Errorf("User-Agent = %q", ua)
	}
	var body map[string]any
	if err := json.Unmarshal(first.Body, &body); err != nil || body["type"] != "contact.created" {
		t.Errorf("body = %s (%v)", first.Body, err)
	}
	if _, err := client.Message.Create(ctx, app.Id, &svix.MessageIn{EventType: "contact.created", EventId: svix.String("evt-1"), Payload: map[string]interface{}{}}); errStatus(err) != http.StatusConflict {
		t.Fatalf("duplicate eventId: want 409, got %v", err)
	}
	if _, err := client.Message.Create(ctx, app.Id, &svix.MessageIn{EventType: "call.completed", Payload: map[string]interface{}{"call": 1}}); err != nil {
		t.Fatalf("create call message: %v", err)
	}
	waitFor(t, 10*time.Second, "the calls endpoint to receive call.completed", func() bool { return len(other.requests()) == 1 })
	if p := other.requests()[0].Path; p != "/calls" {
		t.Fatalf("call.completed went to %s, want /calls only (the disabled endpoint gets nothing)", p)
	}

	// The delivery log.
	waitFor(t, 10*time.Second, "the attempt to be recorded", func() bool {
		l, err := client.MessageAttempt.ListByEndpoint(ctx, app.Id, ep.Id, nil)
		return err == nil && len(l.Data) == 1
	})
	attempts, err := client.MessageAttempt.ListByMsg(ctx, app.Id, msg.Id, nil)
	if err != nil || len(attempts.Data) != 1 {
		t.Fatalf("attempts by msg: %+v %v", attempts, err)
	}
	a := attempts.Data[0]
	if a.Status != svix.MessageStatus(0) || a.ResponseStatusCode != 200 || a.EndpointId != ep.Id || a.TriggerType != 0 {
		t.Fatalf("attempt = %+v", a)
	}
	if one, err := client.MessageAttempt.Get(ctx, app.Id, msg.Id, a.Id); err != nil || one.Id != a.Id {
		t.Fatalf("get attempt: %+v %v", one, err)
	}
	dests, err := client.MessageAttempt.ListAttemptedDestinations(ctx, app.Id, msg.Id, nil)
	if err != nil || len(dests.Data) != 1 || dests.Data[0].Id != ep.Id || dests.Data[0].Status != 0 {
		t.Fatalf("attempted destinations: %+v %v", dests, err)
	}
	msgs, err := client.MessageAttempt.ListAttemptedMessages(ctx, app.Id, ep.Id, nil)
	if err != nil || len(msgs.Data) != 1 || msgs.Data[0].Id != msg.Id {
		t.Fatalf("attempted messages: %+v %v", msgs, err)
	}
	if m, err := client.Message.Get(ctx, app.Id, "evt-1"); err != nil || m.Id != msg.Id {
		t.Fatalf("get message by eventId: %+v %v", m, err)
	}

	// Resend: same webhook-id, a manual attempt.
	if err := client.MessageAttempt.Resend(ctx, app.Id, msg.Id, ep.Id); err != nil {
		t.Fatalf("resend: %v", err)
	}
	waitFor(t, 10*time.Second, "the resent webhook", func() bool { return len(rcv.requests()) == 2 })
	second := rcv.requests()[1]
	vf.check(t, second)
	if second.Header.Get("webhook-id") != msg.Id {
		t.Errorf("resend webhook-id = %q, want %q", second.Header.Get("webhook-id"), msg.Id)
	}
	waitFor(t, 10*time.Second, "the manual attempt in the log", func() bool {
		l, err := client.MessageAttempt.ListByEndpoint(ctx, app.Id, ep.Id, nil)
		return err == nil && len(l.Data) == 2 && l.Data[0].TriggerType == 1
	})

	// Rotation: during the grace period both secrets sign.
	if err := client.Endpoint.RotateSecret(ctx, app.Id, ep.Id, &svix.EndpointSecretRotateIn{}); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	sec2, err := client.Endpoint.GetSecret(ctx, app.Id, ep.Id)
	if err != nil || sec2.Key == secret1 || !strings.HasPrefix(sec2.Key, "whsec_") {
		t.Fatalf("secret after rotation: %+v %v", sec2, err)
	}
	vf.set(secret1, sec2.Key)
	if _, err := client.Message.Create(ctx, app.Id, &svix.MessageIn{EventType: "contact.updated", Payload: map[string]interface{}{"n": 2}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the message after rotation", func() bool { return len(rcv.requests()) == 3 })
	third := rcv.requests()[2]
	vf.check(t, third)
	if n := strings.Count(third.Header.Get("webhook-signature"), "v1,"); n != 2 {
		t.Errorf("signature header after rotation has %d signatures, want 2: %q", n, third.Header.Get("webhook-signature"))
	}

	// send-example goes to this endpoint only, with the event type's example.
	// Raw HTTP: the Go SDK v1.44.0's SendExample drops its body client-side
	// (it discards the builder's return value) and never sends the request.
	code, raw := srv.do("POST", "/api/v1/app/"+app.Id+"/endpoint/"+calls.Id+"/send-example", srv.Token, `{"eventType":"contact.created"}`)
	var ex struct{ Id string }
	if err := json.Unmarshal(raw, &ex); code != http.StatusAccepted || err != nil || ex.Id == "" {
		t.Fatalf("send-example: %d %s", code, raw)
	}
	waitFor(t, 10*time.Second, "the example at the calls endpoint", func() bool { return len(other.requests()) == 2 })
	if got := other.requests()[1]; got.Header.Get("webhook-id") != ex.Id || !strings.Contains(string(got.Body), "c_example") {
		t.Errorf("example delivery = %s %s", got.Header.Get("webhook-id"), got.Body)
	}

	// A request reaches the receiver before its attempt is recorded: wait
	// for the record.
	var stats *svix.EndpointStats
	waitFor(t, 10*time.Second, "both deliveries recorded", func() bool {
		stats, err = client.Endpoint.GetStats(ctx, app.Id, ep.Id)
		return err == nil && stats.Sending == 0 && stats.Pending == 0
	})
	if err != nil || stats.Success != 2 || stats.Fail != 0 {
		t.Fatalf("stats = %+v %v (two messages delivered)", stats, err)
	}

	// Expunge drops the payload but keeps the message.
	if err := client.Message.ExpungeContent(ctx, app.Id, msg.Id); err != nil {
		t.Fatalf("expunge: %v", err)
	}
	if m, err := client.Message.Get(ctx, app.Id, msg.Id); err != nil || len(m.Payload) != 0 {
		t.Fatalf("message after expunge: %+v %v", m, err)
	}
	list, err := client.Message.List(ctx, app.Id, nil)
	if err != nil || len(list.Data) != 4 {
		t.Fatalf("list messages: %d %v", len(list.Data), err)
	}

	access, err := client.Authentication.AppPortalAccess(ctx, app.Id, &svix.AppPortalAccessIn{})
	if err != nil || access.Token == "" || !strings.HasPrefix(access.Url, "http") {
		t.Fatalf("portal access: %+v %v", access, err)
	}

	if err := client.Endpoint.Delete(ctx, app.Id, calls.Id); err != nil {
		t.Fatalf("delete endpoint: %v", err)
	}
	if _, err := client.Endpoint.Get(ctx, app.Id, calls.Id); errStatus(err) != http.StatusNotFound {
		t.Fatalf("deleted endpoint: want 404, got %v", err)
	}
	if err := client.Application.Delete(ctx, app.Id); err != nil {
		t.Fatalf("delete app: %v", err)
	}
	if _, err := client.Application.Get(ctx, app.Id); errStatus(err) != http.StatusNotFound {
		t.Fatalf("deleted app: want 404, got %v", err)
	}
}

// errStatus returns the HTTP status of an SDK error, or 0.
func errStatus(err error) int {
	if e, ok := err.(*svix.Error); ok {
		return e.Status()
	}
	return 0
}
