package e2e

import (
	"context"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chromiumPath is Debian's Chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// TestBrowser runs the portal's browser specs (e2e/browser/*.mjs, each a
// node script driving Chromium through playwright-core) against the real
// binary. Without Chromium or e2e/browser/node_modules it is skipped,
// except under CI=true, where that is a failure.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	dir, err := filepath.Abs("browser")
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	if _, err := os.Stat(chromiumPath); err != nil {
		missing = append(missing, chromiumPath+" (apt-get install chromium)")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		missing = append(missing, "e2e/browser/node_modules (npm ci in e2e/browser)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node")
	}
	if len(missing) > 0 {
		msg := "browser tests need " + strings.Join(missing, ", ") + "; .ci/run installs them"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	specs, err := filepath.Glob(filepath.Join(dir, "*.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(specs)
	// Each run saves a screenshot of every page it visits here.
	if err := os.RemoveAll(filepath.Join(dir, "screenshots")); err != nil {
		t.Fatal(err)
	}

	// Three page servers: one on an allowed origin of another site
	// (localhost, while hookrelay is 127.0.0.1, so the browser treats the
	// portal's cookie as third-party there), one on an allowed origin of
	// the same site (127.0.0.1, another port), one on an origin not
	// allowed. Each serves the files a spec writes to sdkDir under
	// /static/ (the official JS SDK, bundled for the browser by sdk.mjs).
	sdkDir := t.TempDir()
	parent := httptest.NewServer(parentPages(sdkDir))
	t.Cleanup(parent.Close)
	sdk := httptest.NewServer(parentPages(sdkDir))
	t.Cleanup(sdk.Close)
	other := httptest.NewServer(parentPages(sdkDir))
	t.Cleanup(other.Close)
	parentURL := "http://localhost:" + portOf(t, parent.URL)

	port := freePort(t)
	public := "http://127.0.0.1:" + port
	s := startServer(t, serverOptions{Args: []string{
		"--listen", "127.0.0.1:" + port,
		"--public-url", public,
		"--portal-allowed-origins", parentURL + "," + sdk.URL,
	}})
	if s.URL != public {
		t.Fatalf("server listens on %s, want %s", s.URL, public)
	}
	for _, spec := range specs {
		name := filepath.Base(spec)
		if name == "lib.mjs" {
			continue
		}
		t.Run(strings.TrimSuffix(name, ".mjs"), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, name)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(),
				"HOOKRELAY_URL="+s.URL,
				"HOOKRELAY_ADMIN_TOKEN="+s.Token,
				"HOOKRELAY_PARENT_URL="+parentURL,
				"HOOKRELAY_OTHER_URL="+other.URL,
				"HOOKRELAY_SDK_URL="+sdk.URL,
				"HOOKRELAY_SDK_DIR="+sdkDir,
				"CHROMIUM="+chromiumPath,
			)
			out, err := cmd.CombinedOutput()
			t.Logf("%s:\n%s", name, out)
			if err != nil {
				t.Fatalf("%s failed: %v", name, err)
			}
		})
	}
}

// parentPages serves the pages of a site that embeds the portal:
// /frame?src=URL frames src and records in window.heights the heights the
// frame posts in svix-react's message; /blank is an empty page; /sdk is
// /sdk?bundle=NAME is a page that loads the script /static/NAME.js,
// served from dir.
func parentPages(dir string) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/static/", http.StripPrefix("/static/", http.FileServer(http.Dir(dir))))
	bundleName := regexp.MustCompile(`^[a-z0-9.-]+$`)
	mux.HandleFunc("/sdk", func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("bundle")
		if !bundleName.MatchString(name) {
			http.Error(w, "bundle: want a file name", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>SDK</title><script src="/static/%s.js"></script></head><body><main><h1>SDK</h1></main></body></html>`, name)
	})
	mux.HandleFunc("/frame", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>Parent</title><script>
window.heights = [];
addEventListener('message', (e) => {
  if (e.data && e.data.type === 'svix.iframe-resizer-height') window.heights.push(e.data.payload.height);
});
</script></head><body><main><h1>Parent</h1>
<iframe src="%s" title="Webhooks portal" style="width:100%%;height:600px;border:0"></iframe></main></body></html>`,
			html.EscapeString(r.URL.Query().Get("src")))
	})
	mux.HandleFunc("/blank", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html lang="en"><head><title>Blank</title></head><body><main><h1>Blank</h1></main></body></html>`)
	})
	return mux
}

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func portOf(t *testing.T, u string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(strings.TrimPrefix(u, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	return port
}
