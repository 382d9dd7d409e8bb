package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// TestAttemptsByAppStatusReadOneRange fills the tables with 200,000
// attempts of fifty applications over 30 days (one in twenty failed; the
// application looked at has ten endpoints), then asks PostgreSQL how it
// runs the application-wide listings by status that the portal's activity
// log uses. Failed ones: one backward range of attempts_app_failed (partial
// on failures), never a pass over the application's attempts or a sort of
// them, and from the time given on when there is one (After bounds the ID
// too), however many failures are older. Succeeded ones: the application's
// endpoints, each one's newest succeeded attempts read backward through
// attempts_endpoint up to a page, never a pass over the table.
func TestAttemptsByAppStatusReadOneRange(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	f := newFixture(t, s)
	apps := []string{f.app.ID}
	endpoints := map[string][]string{f.app.ID: {f.ep.ID}}
	for range 9 {
		ep := &hookrelay.Endpoint{AppID: f.app.ID, URL: "https://example.com/hook", Version: 1, Secret: "whsec_c2VjcmV0"}
		if err := s.CreateEndpoint(ctx, ep); err != nil {
			t.Fatal(err)
		}
		endpoints[f.app.ID] = append(endpoints[f.app.ID], ep.ID)
	}
	for range 49 {
		o := newFixture(t, s)
		apps = append(apps, o.app.ID)
		endpoints[o.app.ID] = []string{o.ep.ID}
	}
	// Message i belongs to application i%50 and is its n-th; each has two
	// attempts a second apart. One attempt in twenty fails, of every event
	// type.
	const messages = 100_000
	now := time.Now()
	start := now.Add(-30 * 24 * time.Hour)
	step := now.Sub(start) / messages
	types := []string{"contact.created", "call.completed", "email.classified"}
	var msgRows, attRows [][]any
	for i := range messages {
		app, n := apps[i%len(apps)], i/len(apps)
		created := start.Add(time.Duration(i) * step)
		msgID := fmt.Sprintf("msg_%027d", i)
		msgRows = append(msgRows, []any{msgID, app, types[n%len(types)], []byte(`{}`), created})
		for j := range 2 {
			at := created.Add(time.Duration(j) * time.Second)
			status := hookrelay.StatusSuccess
			if (3*n+j)%20 == 0 {
				status = hookrelay.StatusFail
			}
			eps := endpoints[app]
			// An ID made at the attempt's time, as NewID would.
			id := hookrelay.IDFloor(hookrelay.PrefixAttempt, at)[:len("atmpt_")+20] + fmt.Sprintf("%07d", 2*i+j)
			attRows = append(attRows, []any{id, fmt.Sprintf("dlv_%027d", 2*i+j), msgID, eps[(n+j)%len(eps)], app,
				"https://example.com/hook", int16(status), 200, at})
		}
	}
	if _, err := s.pool.CopyFrom(ctx, pgx.Identifier{"messages"},
		[]string{"id", "app_id", "event_type", "payload", "created_at"}, pgx.CopyFromRows(msgRows)); err != nil {
		t.Fatalf("fill messages: %v", err)
	}
	if _, err := s.pool.CopyFrom(ctx, pgx.Identifier{"attempts"},
		[]string{"id", "delivery_id", "msg_id", "endpoint_id", "app_id", "url", "status", "response_status_code", "created_at"},
		pgx.CopyFromRows(attRows)); err != nil {
		t.Fatalf("fill attempts: %v", err)
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}

	failed := hookrelay.StatusFail
	succeeded := hookrelay.StatusSuccess
	dayAgo := now.Add(-24 * time.Hour)
	page := store.Page{Limit: 21}
	iterator, err := s.ListAttempts(ctx, store.ListAttemptsParams{AppID: f.app.ID, Status: &failed, Page: page})
	if err != nil || len(iterator) != 21 {
		t.Fatalf("first page: %d attempts, %v", len(iterator), err)
	}
	succIterator, err := s.ListAttempts(ctx, store.ListAttemptsParams{AppID: f.app.ID, Status: &succeeded, Page: page})
	if err != nil || len(succIterator) != 21 {
		t.Fatalf("first page of succeeded: %d attempts, %v", len(succIterator), err)
	}
	for _, c := range []struct {
		name string
		p    store.ListAttemptsParams
		// want is a text the plan must hold.
		want string
		// rows is the most attempts the plan may read.
		rows int
	}{
		{"failed", store.ListAttemptsParams{Status: &failed}, "Index Scan Backward using attempts_app_failed", 21},
		{"failed, next page", store.ListAttemptsParams{Status: &failed, Page: store.Page{Limit: 21, Iterator: iterator[20].ID}},
			"Index Cond: ((app_id = '" + f.app.ID + "'::text) AND (id < ", 21},
		// The application has about 7 failures a day and 200 in 30 days:
		// the range starts at the day (less the slack). PostgreSQL may
		// sort the few rows it holds.
		{"failed in the last day", store.ListAttemptsParams{Status: &failed, After: &dayAgo},
			"Index Cond: ((app_id = '" + f.app.ID + "'::text) AND (id >= ", 20},
		// The event type filters the range's rows: a third of them match.
		{"failed, an event type", store.ListAttemptsParams{Status: &failed, EventTypes: []string{"call.completed"}},
			"Index Scan Backward using attempts_app_failed", 21 * 3 * 2},
		// Each of the ten endpoints reads its page of 21 and the failures
		// among them (one in twenty).
		{"succeeded", store.ListAttemptsParams{Status: &succeeded}, "Index Scan Backward using attempts_endpoint", 10 * 21 * 21 / 20},
		{"succeeded, next page", store.ListAttemptsParams{Status: &succeeded, Page: store.Page{Limit: 21, Iterator: succIterator[20].ID}},
			"Index Cond: ((endpoint_id = e.id) AND (id < ", 10 * 21 * 21 / 20},
		// About 13 a day per endpoint, and those of the slack's hour.
		{"succeeded in the last day", store.ListAttemptsParams{Status: &succeeded, After: &dayAgo},
			"Index Cond: ((endpoint_id = e.id) AND (id >= ", 10 * 21},
		{"succeeded, an event type", store.ListAttemptsParams{Status: &succeeded, EventTypes: []string{"call.completed"}},
			"Index Scan Backward using attempts_endpoint", 10 * 21 * 3 * 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.p.AppID = f.app.ID
			if c.p.Page.Limit == 0 {
				c.p.Page = page
			}
			q := attemptsQuery(c.p)
			plan := explain(t, s, "(ANALYZE, FORMAT TEXT)", q.String(), q.args...)
			text := strings.Join(plan, "\n")
			t.Logf("%s\n%s", q.String(), text)
			if !strings.Contains(text, c.want) {
				t.Errorf("the plan lacks %q:\n%s", c.want, text)
			}
			if *c.p.Status == succeeded && !strings.Contains(text, " on endpoints e ") {
				t.Errorf("the plan does not walk the application's endpoints:\n%s", text)
			}
			if strings.Contains(text, "Seq Scan on attempts") {
				t.Errorf("the plan reads the whole table:\n%s", text)
			}
			if n := attemptsRead(plan); n > c.rows {
				t.Errorf("the scan read %d attempts, want at most %d:\n%s", n, c.rows, text)
			}
		})
	}
}

// attemptsRead is how many attempts the plan's scans of the attempts
// table and its indexes read: their actual rows and the rows their
// filters removed, over all their loops (EXPLAIN shows both per loop).
func attemptsRead(plan []string) int {
	n, loops := 0, 1
	in := false
	for _, line := range plan {
		switch {
		case strings.Contains(line, "Scan") && (strings.Contains(line, " on attempts ") || strings.Contains(line, " on attempts_")):
			in = !strings.Contains(line, "Bitmap Heap Scan") // its rows are those of its bitmap
			if i := strings.Index(line, "(actual time="); i >= 0 && in {
				var rows int
				if j := strings.Index(line[i:], "rows="); j >= 0 {
					_, _ = fmt.Sscanf(line[i+j:], "rows=%d", &rows)
				}
				loops = 1
				if j := strings.Index(line[i:], "loops="); j >= 0 {
					_, _ = fmt.Sscanf(line[i+j:], "loops=%d", &loops)
				}
				n += rows * loops
			}
		case in && strings.Contains(line, "Rows Removed by Filter:"):
			var removed int
			_, _ = fmt.Sscanf(strings.TrimSpace(line), "Rows Removed by Filter: %d", &removed)
			n += removed * loops
		case strings.Contains(line, "->"):
			in = false
		}
	}
	return n
}
