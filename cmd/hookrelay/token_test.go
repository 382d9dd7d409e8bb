package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/api"
	"github.com/hookrelay/hookrelay/internal/store"
	"github.com/hookrelay/hookrelay/internal/store/sqlite"
)

var tokenLine = regexp.MustCompile(`^hr_[0-9A-Za-z]{40}$`)

// createToken runs `hookrelay token create` and returns the token (the
// last line of its output) and the whole output.
func createToken(t *testing.T, db string, args ...string) (string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args = append([]string{"token", "create", "--database-url", db}, args...)
	if err := run(t.Context(), args, func(string) string { return "" }, &stdout, &stderr); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, stderr.String())
	}
	lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
	token := lines[len(lines)-1]
	if !tokenLine.MatchString(token) {
		t.Fatalf("last line %q is not a token; output:\n%s", token, stdout.String())
	}
	return token, stdout.String()
}

func TestTokenCreate(t *testing.T) {
	db := filepath.Join(t.TempDir(), "hookrelay.db")
	live, out := createToken(t, db, "--environment", "live")
	if !strings.Contains(out, `Created environment "live"`) {
		t.Errorf("first token of live does not say it created the environment:\n%s", out)
	}
	sandbox, _ := createToken(t, db, "--environment=sandbox")
	sandbox2, out := createToken(t, db, "--environment", "sandbox")
	if strings.Contains(out, "Created environment") {
		t.Errorf("second token of sandbox created the environment again:\n%s", out)
	}
	def, _ := createToken(t, db, "--environment", "default")
	if live == sandbox || sandbox == sandbox2 {
		t.Fatal("tokens repeat")
	}

	st, err := sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sandboxEnv, err := st.GetEnvironmentByName(t.Context(), "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ token, env string }{
		{sandbox, sandboxEnv.ID}, {sandbox2, sandboxEnv.ID}, {def, hookrelay.DefaultEnvironment},
	} {
		sum := sha256.Sum256([]byte(tt.token))
		tok, err := st.GetTokenByHash(t.Context(), sum[:])
		if err != nil || tok.EnvID != tt.env || tok.Kind != store.TokenAdmin || tok.ExpiresAt != nil {
			t.Errorf("stored token %+v (%v), want an admin token of %s", tok, err, tt.env)
		}
	}

	// The tokens work, each within its own environment.
	srv := httptest.NewServer(api.New(api.Config{Store: st}))
	defer srv.Close()
	call := func(method, path, token, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	appIDs := func(token string) []string {
		t.Helper()
		status, body := call("GET", "/api/v1/app", token, "")
		if status != http.StatusOK {
			t.Fatalf("list apps: %d %s", status, body)
		}
		var list struct{ Data []struct{ ID string } }
		if err := json.Unmarshal([]byte(body), &list); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range list.Data {
			ids = append(ids, a.ID)
		}
		return ids
	}

	status, body := call("POST", "/api/v1/app", live, `{"name":"Live","uid":"acme"}`)
	if status != http.StatusCreated {
		t.Fatalf("create app with the live token: %d %s", status, body)
	}
	var liveApp struct{ ID string }
	_ = json.Unmarshal([]byte(body), &liveApp)
	if status, body := call("POST", "/api/v1/app", sandbox, `{"name":"Sandbox","uid":"acme"}`); status != http.StatusCreated {
		t.Fatalf("the same uid in sandbox: %d %s", status, body)
	}
	if ids := appIDs(live); len(ids) != 1 || ids[0] != liveApp.ID {
		t.Errorf("live sees %v", ids)
	}
	if ids := appIDs(sandbox2); len(ids) != 1 || ids[0] == liveApp.ID {
		t.Errorf("the second sandbox token sees %v, want sandbox's app only", ids)
	}
	if ids := appIDs(def); len(ids) != 0 {
		t.Errorf("default sees %v", ids)
	}
	for _, path := range []string{"/api/v1/app/" + liveApp.ID, "/api/v1/app/" + liveApp.ID + "/endpoint"} {
		if status, body := call("GET", path, sandbox, ""); status != http.StatusNotFound || strings.Contains(body, liveApp.ID) {
			t.Errorf("sandbox GET %s: %d %s", path, status, body)
		}
	}
}

func TestTokenCreateRefuses(t *testing.T) {
	db := filepath.Join(t.TempDir(), "hookrelay.db")
	tests := []struct {
		name  string
		args  []string
		usage bool
	}{
		{"no subcommand", []string{"token"}, true},
		{"unknown subcommand", []string{"token", "delete"}, true},
		{"no environment", []string{"token", "create", "--database-url", db}, false},
		{"bad environment name", []string{"token", "create", "--database-url", db, "--environment", "live env"}, false},
		{"long environment name", []string{"token", "create", "--database-url", db, "--environment", strings.Repeat("e", 65)}, false},
		{"extra argument", []string{"token", "create", "--database-url", db, "--environment", "live", "now"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tt.args, func(string) string { return "" }, &stdout, &stderr)
			if err == nil {
				t.Fatalf("accepted; output %s", stdout.String())
			}
			if errors.Is(err, errUsage) != tt.usage {
				t.Errorf("error %v: usage error %v, want %v", err, errors.Is(err, errUsage), tt.usage)
			}
			if strings.Contains(stdout.String(), "hr_") {
				t.Errorf("printed a token: %s", stdout.String())
			}
		})
	}
}
