package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay"
)

// TestAdminRoutesRefusePortalTokens walks every registered route that is
// the operator's (publishing, applications, the catalog's changes,
// portal access and expire-all, background tasks, operational webhooks,
// usage statistics, expunging) with a portal token of every capability,
// its own application and objects in the path and a body that would do
// the work: each is 403 before anything is looked at, the same with the
// Origin of the server's own pages, and nothing changes.
func TestAdminRoutesRefusePortalTokens(t *testing.T) {
	f := newCapFixture(t, openSQLite(t))
	token := f.tokenWith(hookrelay.AllPortalCapabilities)
	f.paths = strings.NewReplacer("{app_id}", f.appA, "{endpoint_id}", f.epA, "{msg_id}", f.msgA,
		"{attempt_id}", f.attA, "{task_id}", "qtask_x", "{event_type_name}", "contact.created")
	before := f.snapshot()
	n := 0
	for _, r := range f.api.table {
		if r.acc.level != levelAdmin {
			continue
		}
		n++
		body := `{"url":"https://example.com/x","name":"x","eventType":"contact.created","payload":{},"description":"d"}`
		for _, origin := range []string{"", "https://hooks.example.test"} {
			var headers []string
			if origin != "" {
				headers = []string{"Origin", origin}
			}
			status, out := f.do(r.method, f.paths.Replace(r.path), token, body, headers...)
			if status != http.StatusForbidden || !strings.Contains(string(out), "may not use this operation") {
				t.Errorf("%s %s (Origin %q): %d %s, want 403", r.method, r.path, origin, status, out)
			}
		}
	}
	if n < 30 {
		t.Errorf("walked %d operator routes; the table lists more", n)
	}
	if after := f.snapshot(); after != before {
		t.Errorf("refused requests changed something:\n%s\n---\n%s", before, after)
	}
}
