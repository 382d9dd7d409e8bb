package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var tokenIDPattern = regexp.MustCompile(`tok_[0-9A-Za-z]{27}`)

// tokenCmdOut runs `hookrelay token ARGS... --database-url db` and returns
// its output and error.
func tokenCmdOut(t *testing.T, db string, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	args = append(append([]string{"token"}, args...), "--database-url", db)
	err := run(t.Context(), args, envOf(env), &out, &out)
	return out.String(), err
}

// startServe runs `hookrelay serve` in this process on db until it
// listens, then stops it, and returns its standard output and log.
func startServe(t *testing.T, db string, env map[string]string) (stdout, logs string) {
	t.Helper()
	e := map[string]string{"HOOKRELAY_DATABASE_URL": db, "HOOKRELAY_LISTEN": "127.0.0.1:0"}
	for k, v := range env {
		e[k] = v
	}
	var out, log syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, envOf(e), &out, &log) }()
	waitUntil(t, 30*time.Second, "serve to listen", func() bool {
		select {
		case err := <-done:
			t.Fatalf("serve returned %v before listening:\n%s", err, log.String())
		default:
		}
		return strings.Contains(log.String(), "msg=listening")
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30s")
	}
	return out.String(), log.String()
}

// TestStartLogsAdminTokens: every start says which admin tokens reach the
// default environment, by ID and never by text, and how to make or revoke
// one; a generated token left beside HOOKRELAY_ADMIN_TOKEN is a warning
// until it is revoked.
func TestStartLogsAdminTokens(t *testing.T) {
	db := filepath.Join(t.TempDir(), "hookrelay.db")

	stdout, logs := startServe(t, db, nil)
	generated := ""
	for _, line := range strings.Split(stdout, "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, "hr_") {
			generated = l
		}
	}
	if generated == "" {
		t.Fatalf("first start printed no token:\n%s", stdout)
	}
	id := tokenIDPattern.FindString(logs)
	if id == "" || !strings.Contains(logs, "token create --environment default") || !strings.Contains(logs, "token revoke") {
		t.Fatalf("first start does not log the stored token's ID and how to make or revoke one:\n%s", logs)
	}

	// A restart without the env token names the same token again.
	_, logs = startServe(t, db, nil)
	if !strings.Contains(logs, id) || !strings.Contains(logs, "token create --environment default") {
		t.Errorf("restart does not name token %s and the way to a new one:\n%s", id, logs)
	}

	// With HOOKRELAY_ADMIN_TOKEN, the generated token still works: warn.
	const envToken = "env-admin-token-value"
	_, logs = startServe(t, db, map[string]string{"HOOKRELAY_ADMIN_TOKEN": envToken})
	if !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, id) || !strings.Contains(logs, "HOOKRELAY_ADMIN_TOKEN") {
		t.Errorf("start with HOOKRELAY_ADMIN_TOKEN and a stored token does not warn naming %s:\n%s", id, logs)
	}
	for _, secret := range []string{generated, envToken} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log shows a token's text:\n%s", logs)
		}
	}

	// Revoked, the warning is gone.
	if out, err := tokenCmdOut(t, db, nil, "revoke", id); err != nil {
		t.Fatalf("revoke: %v\n%s", err, out)
	}
	_, logs = startServe(t, db, map[string]string{"HOOKRELAY_ADMIN_TOKEN": envToken})
	if strings.Contains(logs, "level=WARN") || strings.Contains(logs, id) || !strings.Contains(logs, "HOOKRELAY_ADMIN_TOKEN") {
		t.Errorf("start after the revoke:\n%s", logs)
	}
}

func TestTokenListAndRevoke(t *testing.T) {
	db := filepath.Join(t.TempDir(), "hookrelay.db")
	_, _ = createToken(t, db, "--environment", "default")
	_, _ = createToken(t, db, "--environment", "default")
	_, _ = createToken(t, db, "--environment", "live")

	out, err := tokenCmdOut(t, db, nil, "list")
	if err != nil {
		t.Fatalf("list: %v\n%s", err, out)
	}
	ids := tokenIDPattern.FindAllString(out, -1)
	if len(ids) != 2 || strings.Contains(out, "hr_") {
		t.Fatalf("list of default shows %v, want two token IDs and no token text:\n%s", ids, out)
	}
	if live, err := tokenCmdOut(t, db, nil, "list", "--environment", "live"); err != nil || len(tokenIDPattern.FindAllString(live, -1)) != 1 {
		t.Fatalf("list of live: %v\n%s", err, live)
	}
	if portal, err := tokenCmdOut(t, db, nil, "list", "--kind", "portal"); err != nil || !strings.Contains(portal, "no stored portal tokens") {
		t.Fatalf("list of portal tokens: %v\n%s", err, portal)
	}

	if out, err := tokenCmdOut(t, db, nil, "revoke", ids[0]); err != nil || !strings.Contains(out, "Revoked token "+ids[0]) {
		t.Fatalf("revoke: %v\n%s", err, out)
	}
	out, _ = tokenCmdOut(t, db, nil, "list")
	if got := tokenIDPattern.FindAllString(out, -1); len(got) != 1 || got[0] != ids[1] {
		t.Fatalf("after revoking %s, list shows %v:\n%s", ids[0], got, out)
	}
	// The last admin token of default: the next start makes one.
	out, err = tokenCmdOut(t, db, nil, "revoke", ids[1])
	if err != nil || !strings.Contains(out, "next start") {
		t.Fatalf("revoke of the last admin token: %v\n%s", err, out)
	}

	for _, tt := range []struct {
		name  string
		args  []string
		want  string
		usage bool
	}{
		{"revoke again", []string{"revoke", ids[0]}, "no token", false},
		{"revoke without an ID", []string{"revoke"}, "ID of the token is required", false},
		{"revoke two IDs", []string{"revoke", ids[0], ids[1]}, "unexpected argument", false},
		{"list an unknown environment", []string{"list", "--environment", "nope"}, `no environment named "nope"`, false},
		{"list an unknown kind", []string{"list", "--kind", "root"}, "want admin or portal", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tokenCmdOut(t, db, nil, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) || errors.Is(err, errUsage) != tt.usage {
				t.Fatalf("err = %v, want one saying %q\n%s", err, tt.want, out)
			}
		})
	}
}
