package sqlite

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// TestAttemptListingsKeepTheirIndex asks SQLite, which keeps no statistics
// here, how it runs each attempt listing: the application-wide one of
// failed attempts reads a range of attempts_app_failed; that of succeeded
// ones walks the application's endpoints, reading each one's newest
// through attempts_endpoint, and sorts only those pages; those by endpoint
// or message keep their own index rather than taking attempts_app_failed
// for its equality. None reads the whole table, and only the merge of the
// succeeded ones sorts.
func TestAttemptListingsKeepTheirIndex(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "db"))
	defer s.Close()
	failed, succeeded := hookrelay.StatusFail, hookrelay.StatusSuccess
	since := time.Now().Add(-24 * time.Hour)
	page := store.Page{Limit: 21, Iterator: "atmpt_x"}
	for _, c := range []struct {
		name string
		p    store.ListAttemptsParams
		want string
	}{
		{"application, failed", store.ListAttemptsParams{Status: &failed}, "attempts_app_failed (app_id=? AND id<?)"},
		{"application, failed since", store.ListAttemptsParams{Status: &failed, After: &since}, "attempts_app_failed (app_id=? AND id>? AND id<?)"},
		{"application, failed, event type", store.ListAttemptsParams{Status: &failed, EventTypes: []string{"a.b"}}, "attempts_app_failed (app_id=? AND id<?)"},
		{"application, succeeded", store.ListAttemptsParams{Status: &succeeded}, "attempts_endpoint (endpoint_id=? AND id<?)"},
		{"application, succeeded since", store.ListAttemptsParams{Status: &succeeded, After: &since}, "attempts_endpoint (endpoint_id=? AND id>? AND id<?)"},
		{"application, succeeded, event type", store.ListAttemptsParams{Status: &succeeded, EventTypes: []string{"a.b"}}, "attempts_endpoint (endpoint_id=? AND id<?)"},
		{"endpoint, succeeded", store.ListAttemptsParams{EndpointID: "ep_x", Status: &succeeded}, "attempts_endpoint (endpoint_id=? AND id<?)"},
		{"endpoint, failed", store.ListAttemptsParams{EndpointID: "ep_x", Status: &failed}, "attempts_endpoint (endpoint_id=? AND id<?)"},
		{"endpoint, failed since", store.ListAttemptsParams{EndpointID: "ep_x", Status: &failed, After: &since}, "attempts_endpoint (endpoint_id=? AND id>? AND id<?)"},
		{"message, failed", store.ListAttemptsParams{MsgID: "msg_x", Status: &failed}, "attempts_msg (msg_id=? AND id<?)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.p.AppID, c.p.Page = "app_x", page
			q, args := attemptsQuery(c.p)
			rows, err := s.rdb.QueryContext(t.Context(), `EXPLAIN QUERY PLAN `+q, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			text := strings.Join(plan, "\n")
			t.Logf("%s\n%s", q, text)
			if !strings.Contains(text, c.want) {
				t.Errorf("the plan does not read %s:\n%s", c.want, text)
			}
			for _, scan := range []string{"SCAN a", "SCAN attempts"} {
				if slices.ContainsFunc(plan, func(l string) bool { return l == scan || strings.HasPrefix(l, scan+" ") }) {
					t.Errorf("the plan reads the whole table:\n%s", text)
				}
			}
			// The succeeded ones merge their endpoints' pages, a sort of
			// at most a page per endpoint; nothing else sorts.
			sorts := strings.Count(text, "TEMP B-TREE")
			if merge := c.p.EndpointID == "" && c.p.MsgID == "" && *c.p.Status == succeeded; merge {
				if !strings.Contains(text, "SEARCH e USING COVERING INDEX endpoints_app (app_id=?)") {
					t.Errorf("the plan does not walk the application's endpoints:\n%s", text)
				}
				sorts -= strings.Count(text, "USE TEMP B-TREE FOR ORDER BY")
			}
			if sorts > 0 {
				t.Errorf("the plan sorts:\n%s", text)
			}
		})
	}
}
