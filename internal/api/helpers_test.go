package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/ops"
	"github.com/hookrelay/hookrelay/internal/store"
	"github.com/hookrelay/hookrelay/internal/store/sqlite"
)

const testAdminToken = "test-admin-token"

type countingWaker struct{ n atomic.Int64 }

func (w *countingWaker) Wake() { w.n.Add(1) }

// harness is the API on a real database (a SQLite file unless made by
// newPostgresHarness) behind a real HTTP server.
type harness struct {
	t     *testing.T
	st    store.Store
	srv   *httptest.Server
	sdk   *svix.Svix
	waker *countingWaker
	api   *server
}

func newHarness(t *testing.T, mods ...func(*Config)) *harness {
	t.Helper()
	return newHarnessOn(t, openSQLite(t), mods...)
}

// openSQLite opens a store on a fresh SQLite file, closed when the test
// ends.
func openSQLite(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// newHarnessOn serves the API on st.
func newHarnessOn(t *testing.T, st store.Store, mods ...func(*Config)) *harness {
	t.Helper()
	w := &countingWaker{}
	cfg := Config{
		Store:      st,
		Waker:      w,
		AdminToken: testAdminToken,
		PublicURL:  "https://hooks.example.test/",
		Logger:     slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	// Background tasks run as on a node: a runner on the same store.
	runner := ops.NewRunner(ops.Config{Store: st, NodeID: "api-test", Waker: w,
		PollInterval: 50 * time.Millisecond, Logger: cfg.Logger})
	cfg.Tasks = runner
	for _, m := range mods {
		m(&cfg)
	}
	runCtx, stopRunner := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { _ = runner.Run(runCtx); close(runDone) }()
	t.Cleanup(func() { stopRunner(); <-runDone })
	api := New(cfg).(*server)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &harness{t: t, st: st, srv: srv, sdk: sdkFor(t, srv, testAdminToken), waker: w, api: api}
}

func sdkFor(t *testing.T, srv *httptest.Server, token string) *svix.Svix {
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return svix.New(token, &svix.SvixOptions{ServerUrl: u, HTTPClient: srv.Client()})
}

// goSDKUserAgent is the User-Agent of the Go SDK v1.44.0. A raw request
// whose answer a test decodes into that SDK's models sends it, as the SDK
// would, to get the v1.44.0 shapes (see shape.go).
const goSDKUserAgent = "svix-libs/1.44.0/go"

// do sends a raw request. body is sent as is when it is a string or
// []byte, JSON-encoded otherwise; nil sends no body. headers are name,
// value pairs.
func (h *harness) do(method, path, token string, body any, headers ...string) (int, []byte) {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	// Every answer is JSON but the exact bytes of a response body.
	if ct := resp.Header.Get("Content-Type"); len(out) > 0 && !strings.HasPrefix(ct, "application/json") &&
		!(ct == "application/octet-stream" && strings.HasSuffix(req.URL.Path, "/response")) {
		h.t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	return resp.StatusCode, out
}

// mustDo is do that fails the test unless the status is want; it decodes
// the body into out when out is not nil.
func (h *harness) mustDo(want int, method, path, token string, body, out any, headers ...string) {
	h.t.Helper()
	status, b := h.do(method, path, token, body, headers...)
	if status != want {
		h.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			h.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

// newEnvToken creates an environment with an admin token and returns the
// token text.
func (h *harness) newEnvToken(name string) (envID, token string) {
	h.t.Helper()
	ctx := context.Background()
	env := &hookrelay.Environment{ID: hookrelay.NewID(hookrelay.PrefixEnv), Name: name, CreatedAt: time.Now().UTC()}
	if err := h.st.CreateEnvironment(ctx, env); err != nil {
		h.t.Fatalf("create environment: %v", err)
	}
	token = "tok-" + name + "-" + hookrelay.NewID("")
	sum := sha256.Sum256([]byte(token))
	if err := h.st.CreateToken(ctx, &store.Token{
		ID: hookrelay.NewID(hookrelay.PrefixToken), EnvID: env.ID, Kind: store.TokenAdmin,
		Hash: sum[:], CreatedAt: time.Now().UTC(),
	}); err != nil {
		h.t.Fatalf("create token: %v", err)
	}
	return env.ID, token
}

// portalToken asks the API for a portal token of app.
func (h *harness) portalToken(app string) string {
	h.t.Helper()
	var out appPortalAccessOut
	h.mustDo(http.StatusOK, "POST", "/api/v1/auth/app-portal-access/"+app, testAdminToken, map[string]any{}, &out)
	return out.Token
}

// snapshot reads, through the API as the default admin, everything a bad
// request could have changed.
func (h *harness) snapshot() string {
	h.t.Helper()
	var b strings.Builder
	get := func(path string) []byte {
		status, body := h.do("GET", path, testAdminToken, nil)
		if status != http.StatusOK {
			h.t.Fatalf("snapshot GET %s: %d %s", path, status, body)
		}
		b.WriteString(path + " " + string(body) + "\n")
		return body
	}
	get("/api/v1/event-type?include_archived=true&with_content=true&limit=250")
	var apps listResponse[applicationOut]
	_ = json.Unmarshal(get("/api/v1/app?limit=250"), &apps)
	for _, a := range apps.Data {
		get("/api/v1/app/" + a.ID + "/msg?limit=250")
		var eps listResponse[endpointOut]
		_ = json.Unmarshal(get("/api/v1/app/"+a.ID+"/endpoint?limit=250"), &eps)
		for _, e := range eps.Data {
			base := "/api/v1/app/" + a.ID + "/endpoint/" + e.ID
			get(base + "/headers")
			get(base + "/options")
			get(base + "/secret")
			get(base + "/msg?limit=250")
		}
	}
	return b.String()
}

// assertErrorBody checks Svix's error shapes: HttpErrorOut with code for
// most statuses, HTTPValidationError with a loc for 422.
func assertErrorBody(t *testing.T, status int, body []byte, wantCode string, wantLoc []string) {
	t.Helper()
	if status == http.StatusUnprocessableEntity {
		var ve struct {
			Detail []struct {
				Loc  []string `json:"loc"`
				Msg  string   `json:"msg"`
				Type string   `json:"type"`
			} `json:"detail"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ve); err != nil || len(ve.Detail) == 0 {
			t.Fatalf("422 body %s is not an HTTPValidationError (%v)", body, err)
		}
		for _, d := range ve.Detail {
			if len(d.Loc) == 0 || d.Msg == "" || d.Type == "" {
				t.Errorf("incomplete validation entry in %s", body)
			}
		}
		if wantLoc != nil {
			found := false
			for _, d := range ve.Detail {
				if strings.Join(d.Loc, ".") == strings.Join(wantLoc, ".") {
					found = true
				}
			}
			if !found {
				t.Errorf("422 body %s has no entry at loc %v", body, wantLoc)
			}
		}
		return
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("error body %q is not JSON: %v", body, err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "code,detail" {
		t.Errorf("error body %s: keys %v, want code and detail", body, keys)
	}
	if code, _ := m["code"].(string); wantCode != "" && code != wantCode {
		t.Errorf("error body %s: code %q, want %q", body, code, wantCode)
	}
	if d, _ := m["detail"].(string); d == "" {
		t.Errorf("error body %s: empty detail", body)
	}
}

// sdkStatus returns the HTTP status of an SDK error, or 0.
func sdkStatus(err error) int {
	var se *svix.Error
	if errors.As(err, &se) {
		return se.Status()
	}
	return 0
}

func ptr[T any](v T) *T { return &v }

// makeAttempt claims the due deliveries and records one attempt for each
// with the given outcome, as a dispatcher would.
func (h *harness) makeAttempts(status hookrelay.MessageStatus, code int, response string) []hookrelay.Attempt {
	h.t.Helper()
	ctx := context.Background()
	now := time.Now().Add(time.Second)
	tasks, err := h.st.ClaimDeliveries(ctx, store.ClaimParams{Owner: "test", Now: now, LeaseUntil: now.Add(time.Minute), Limit: 100})
	if err != nil {
		h.t.Fatalf("claim: %v", err)
	}
	var results []store.AttemptResult
	var atts []hookrelay.Attempt
	for _, tk := range tasks {
		a := hookrelay.Attempt{
			ID: hookrelay.NewID(hookrelay.PrefixAttempt), DeliveryID: tk.Delivery.ID, MsgID: tk.Message.ID,
			AppID: tk.Message.AppID, EndpointID: tk.Endpoint.ID, URL: tk.Endpoint.URL, Status: status,
			ResponseStatusCode: code, Response: response, ResponseDurationMs: 12,
			TriggerType: hookrelay.TriggerScheduled, CreatedAt: time.Now().UTC().Truncate(time.Microsecond),
		}
		atts = append(atts, a)
		res := store.AttemptResult{Owner: "test", Attempt: a, Status: status, Attempts: tk.Delivery.Attempts + 1}
		results = append(results, res)
	}
	if err := h.st.CompleteAttempts(ctx, results); err != nil {
		h.t.Fatalf("complete attempts: %v", err)
	}
	return atts
}
