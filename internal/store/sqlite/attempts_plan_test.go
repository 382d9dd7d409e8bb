package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// TestAttemptListingsKeepTheirIndex asks SQLite, which keeps no statistics
// here, how it runs each attempt listing: the application-wide one by
// status reads attempts_app_status, and those by endpoint or message keep
// their own index rather than taking attempts_app_status for its two
// equalities; none sorts the attempts it reads.
func TestAttemptListingsKeepTheirIndex(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "db"))
	defer s.Close()
	failed := hookrelay.StatusFail
	since := time.Now().Add(-24 * time.Hour)
	page := store.Page{Limit: 21, Iterator: "atmpt_x"}
	for _, c := range []struct {
		name string
		p    store.ListAttemptsParams
		want string
	}{
		{"application, failed", store.ListAttemptsParams{Status: &failed}, "attempts_app_status (app_id=? AND status=? AND id<?)"},
		{"application, failed since", store.ListAttemptsParams{Status: &failed, After: &since}, "attempts_app_status (app_id=? AND status=? AND id>? AND id<?)"},
		{"application, failed, event type", store.ListAttemptsParams{Status: &failed, EventTypes: []string{"a.b"}}, "attempts_app_status (app_id=? AND status=? AND id<?)"},
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
			if !strings.Contains(text, c.want) {
				t.Errorf("the plan does not read %s:\n%s", c.want, text)
			}
			if strings.Contains(text, "TEMP B-TREE") {
				t.Errorf("the plan sorts:\n%s", text)
			}
		})
	}
}
