package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
)

// envToken makes an admin token of environment name with the CLI, on the
// server's database.
func envToken(t *testing.T, srv *server, name string) string {
	t.Helper()
	cmd := exec.Command(binary, "token", "create", "--environment", name)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "HOOKRELAY_DATABASE_URL=" + srv.DB}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// opEvent is one operational webhook as received.
type opEvent struct {
	Type      string            `json:"type"`
	Timestamp time.Time         `json:"timestamp"`
	Data      map[string]string `json:"data"`
}

func TestOperationalWebhooks(t *testing.T) {
	forEachDatabase(t, testOperationalWebhooks)
}

func testOperationalWebhooks(t *testing.T, db string) {
	srv := startServer(t, serverOptions{DB: db, Args: []string{"--retry-schedule", "1s", "--retry-jitter", "0"}})
	ctx := ctxT(t)
	client := srv.SDK()
	ops := newReceiver(t)
	// The first request fails: operational webhooks are retried like any.
	ops.setRespond(func(n int, _ *http.Request) (int, http.Header) {
		if n == 1 {
			return http.StatusServiceUnavailable, nil
		}
		return http.StatusOK, nil
	})
	sandboxOps := newReceiver(t)
	sandbox := envToken(t, srv, "sandbox")

	// The operator's endpoint, through the SDK.
	opEp, err := client.OperationalWebhookEndpoint.Create(ctx, &svix.OperationalWebhookEndpointIn{
		Url: ops.URL + "/ops", Uid: ptr("pager"), Description: ptr("pager duty"),
	})
	if err != nil {
		t.Fatalf("create operational endpoint: %v", err)
	}
	if got, err := client.OperationalWebhookEndpoint.Get(ctx, "pager"); err != nil || got.Id != opEp.Id || got.Description != "pager duty" {
		t.Fatalf("get operational endpoint: %+v, %v", got, err)
	}
	list, err := client.OperationalWebhookEndpoint.List(ctx, nil)
	if err != nil || len(list.Data) != 1 || list.Data[0].Id != opEp.Id {
		t.Fatalf("list operational endpoints: %+v, %v", list, err)
	}
	secret, err := client.OperationalWebhookEndpoint.GetSecret(ctx, opEp.Id)
	if err != nil {
		t.Fatalf("operational endpoint secret: %v", err)
	}
	// The sandbox environment's operator has one of its own.
	if status, body := srv.do("POST", "/api/v1/operational-webhook/endpoint", sandbox,
		`{"url":"`+sandboxOps.URL+`/sandbox"}`); status != http.StatusCreated {
		t.Fatalf("create sandbox operational endpoint: %d %s", status, body)
	}
	// Applications list no trace of either.
	if apps, err := client.Application.List(ctx, nil); err != nil || len(apps.Data) != 0 {
		t.Fatalf("applications: %+v, %v", apps, err)
	}

	// A customer's endpoint lives its life.
	app, err := client.Application.Create(ctx, &svix.ApplicationIn{Name: "Acme", Uid: ptr("acme")})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := client.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: "https://customer.example.com/hook", Uid: ptr("crm")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Endpoint.Patch(ctx, app.Id, ep.Id, &svix.EndpointPatch{Description: ptr("CRM")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Endpoint.Patch(ctx, app.Id, ep.Id, &svix.EndpointPatch{Disabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Endpoint.Update(ctx, app.Id, ep.Id, &svix.EndpointUpdate{Url: "https://customer.example.com/hook", Disabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if err := client.Endpoint.Delete(ctx, app.Id, ep.Id); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"endpoint.created", "endpoint.deleted", "endpoint.disabled", "endpoint.enabled",
		"endpoint.updated", "endpoint.updated", "endpoint.updated",
	}

	// Every event arrives once (the first after a retry), signed with the
	// operational endpoint's secret.
	distinct := func(r *receiver) map[string]received {
		m := map[string]received{}
		for _, req := range r.requests() {
			m[req.Header.Get("webhook-id")] = req
		}
		return m
	}
	waitFor(t, 30*time.Second, "7 operational webhooks and a retry", func() bool {
		return len(distinct(ops)) >= len(want) && len(ops.requests()) >= len(want)+1
	})
	wh, err := svix.NewWebhook(secret.Key)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for id, req := range distinct(ops) {
		if req.Method != http.MethodPost || req.Path != "/ops" {
			t.Errorf("webhook %s: %s %s", id, req.Method, req.Path)
		}
		if err := wh.Verify(req.Body, req.Header); err != nil {
			t.Errorf("webhook %s does not verify with the operational endpoint's secret: %v", id, err)
		}
		var ev opEvent
		if err := json.Unmarshal(req.Body, &ev); err != nil {
			t.Fatalf("webhook %s: %s: %v", id, req.Body, err)
		}
		types = append(types, ev.Type)
		if ev.Data["appId"] != app.Id || ev.Data["appUid"] != "acme" || ev.Data["endpointId"] != ep.Id || ev.Data["endpointUid"] != "crm" {
			t.Errorf("%s data = %v", ev.Type, ev.Data)
		}
		if ev.Type == "endpoint.disabled" && ev.Data["trigger"] != "manual" {
			t.Errorf("endpoint.disabled trigger %q, want manual", ev.Data["trigger"])
		}
		if ev.Timestamp.IsZero() {
			t.Errorf("%s has no timestamp: %s", ev.Type, req.Body)
		}
	}
	sort.Strings(types)
	if strings.Join(types, " ") != strings.Join(want, " ") {
		t.Fatalf("operational events:\n got %v\nwant %v", types, want)
	}
	reqs := ops.requests()
	if n := len(reqs); n != len(want)+1 {
		t.Fatalf("%d requests for %d events and one retry", n, len(want))
	}
	if first, retry := reqs[0].Header.Get("webhook-id"), reqs[len(reqs)-1].Header.Get("webhook-id"); first != retry {
		t.Fatalf("the last request (%s) is not the retry of the failed first one (%s)", retry, first)
	}

	// The sandbox's operator heard nothing of it, and hears of its own.
	sandboxApp := struct{ ID string }{}
	status, body := srv.do("POST", "/api/v1/app", sandbox, `{"name":"Sandbox"}`)
	if status != http.StatusCreated || json.Unmarshal(body, &sandboxApp) != nil {
		t.Fatalf("create sandbox app: %d %s", status, body)
	}
	if status, body := srv.do("POST", "/api/v1/app/"+sandboxApp.ID+"/endpoint", sandbox, `{"url":"https://customer.example.com/sandbox"}`); status != http.StatusCreated {
		t.Fatalf("create sandbox endpoint: %d %s", status, body)
	}
	waitFor(t, 30*time.Second, "the sandbox's operational webhook", func() bool { return len(sandboxOps.requests()) >= 1 })
	for _, req := range sandboxOps.requests() {
		var ev opEvent
		if err := json.Unmarshal(req.Body, &ev); err != nil || ev.Type != "endpoint.created" || ev.Data["appId"] != sandboxApp.ID {
			t.Fatalf("the sandbox's operator received %s", req.Body)
		}
	}
	if n := len(sandboxOps.requests()); n != 1 {
		t.Fatalf("the sandbox's operator received %d webhooks, want its own one", n)
	}
	if n := len(distinct(ops)); n != len(want) {
		t.Fatalf("the default operator received %d events, want %d", n, len(want))
	}
}
