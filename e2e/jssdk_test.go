package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// jssdkDir holds the JavaScript SDK test: run.mjs and the npm packages it
// needs (package-lock.json; `npm ci` there installs them, as .ci/run does).
const jssdkDir = "jssdk"

// requireJSSDK returns node's path, or skips the test with what is missing.
// Under CI=true nothing may be missing: the test fails instead.
func requireJSSDK(t *testing.T) string {
	t.Helper()
	missing := func(what string) {
		msg := what + "; install the packages with `npm ci` in e2e/jssdk (Node 20 or later), as .ci/run does"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true: the JavaScript SDK test may not be skipped)")
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH")
	}
	for _, pkg := range []string{"svix", "svix2", "standardwebhooks"} {
		if _, err := os.Stat(filepath.Join(jssdkDir, "node_modules", pkg, "package.json")); err != nil {
			missing("e2e/jssdk/node_modules/" + pkg + " is missing")
		}
	}
	return node
}

// TestJavaScriptSDK runs e2e/jssdk/run.mjs against the real binary with
// each JavaScript SDK generation: svix 1.99.1 (npm's version for Node 20)
// and svix 2.5.0 (which declares Node 22 but runs on Node 20), on SQLite
// and PostgreSQL. The script drives every call of the SDK's application,
// event type, endpoint, message, attempt, authentication, background
// task, statistics and operational webhook APIs with a receiver of its own,
// verifies every delivery with the standardwebhooks package, and checks
// that the calls hookrelay does not serve are refused with 404.
func TestJavaScriptSDK(t *testing.T) {
	node := requireJSSDK(t)
	for _, sdk := range []struct{ name, pkg string }{
		{"svix-1.99.1", "svix"},
		{"svix-2.5.0", "svix2"},
	} {
		t.Run(sdk.name, func(t *testing.T) {
			forEachDatabase(t, func(t *testing.T, db string) {
				srv := startServer(t, serverOptions{DB: db, Env: []string{
					"HOOKRELAY_RETRY_SCHEDULE=100ms",
					"HOOKRELAY_POLL_INTERVAL=100ms",
				}})
				ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, node, "run.mjs")
				cmd.Dir = jssdkDir
				cmd.Env = append(os.Environ(),
					"HOOKRELAY_URL="+srv.URL,
					"HOOKRELAY_TOKEN="+srv.Token,
					"SVIX_PACKAGE="+sdk.pkg,
				)
				out, err := cmd.CombinedOutput()
				t.Logf("node run.mjs (%s):\n%s", sdk.pkg, out)
				if err != nil {
					var failed []string
					for _, line := range strings.Split(string(out), "\n") {
						if strings.HasPrefix(line, "FAIL ") {
							failed = append(failed, line)
						}
					}
					t.Fatalf("the JavaScript SDK run failed (%v):\n%s", err, strings.Join(failed, "\n"))
				}
			})
		})
	}
}
