package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSummariesKeepTheirIndexes asks SQLite, which keeps no statistics
// here, how it runs EndpointSummaries: each endpoint named is found by its
// primary key, its status by its own, its newest attempt by one entry of
// attempts_endpoint and its rollups by a range of endpoint_health's
// primary key; no table is read whole and nothing is sorted but the
// endpoints found.
func TestSummariesKeepTheirIndexes(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "db"))
	defer s.Close()
	now := time.Now()
	rows, err := s.rdb.QueryContext(t.Context(), `EXPLAIN QUERY PLAN `+summariesSQL,
		`["ep_a","ep_b"]`, "app_x", int64(3600), micros(now.Add(-24*time.Hour)), micros(now))
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
	for _, want := range []string{
		"SEARCH e USING INDEX endpoints_app (app_id=? AND id=?)",
		"SEARCH s USING PRIMARY KEY (endpoint_id=?)",
		"SEARCH x USING INDEX attempts_endpoint (endpoint_id=?)",
		"SEARCH h USING PRIMARY KEY (endpoint_id=? AND width=? AND bucket>? AND bucket<?)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the plan lacks %q:\n%s", want, text)
		}
	}
	for _, line := range plan {
		if (strings.HasPrefix(line, "SCAN ") && !strings.HasPrefix(line, "SCAN json_each")) || strings.Contains(line, "TEMP B-TREE") {
			t.Errorf("the plan reads a table whole or sorts: %q in\n%s", line, text)
		}
	}
}
