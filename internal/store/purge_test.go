package store

import (
	"slices"
	"testing"
	"time"
)

func TestHistoryScan(t *testing.T) {
	horizon := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	old, young := horizon.Add(-time.Hour), horizon
	type row struct {
		id               string
		created          time.Time
		expired, pending bool
	}
	tests := []struct {
		name    string
		limit   int
		rows    []row
		gone    []string
		cursor  string
		scanned int
		done    bool
	}{
		{"expired and settled go", 10, []row{{"m1", old, true, false}, {"m2", old, true, true}, {"m3", old, false, false}},
			[]string{"m1"}, "m3", 3, true},
		{"stops at the first young message", 10, []row{{"m1", old, true, false}, {"m2", young, true, false}, {"m3", old, true, false}},
			[]string{"m1"}, "m1", 1, true},
		{"a full batch is not done", 2, []row{{"m1", old, true, false}, {"m2", old, false, false}},
			[]string{"m1"}, "m2", 2, false},
		{"empty", 5, nil, nil, "m0", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewHistoryScan(PurgeParams{Cursor: "m0", Before: horizon, Limit: tt.limit})
			for _, r := range tt.rows {
				if !s.Row(r.id, r.created, r.expired, r.pending) {
					break
				}
			}
			res := s.Finish()
			if !slices.Equal(s.Gone, tt.gone) || res.Cursor != tt.cursor || res.Scanned != tt.scanned || res.Done != tt.done {
				t.Errorf("gone %v, result %+v; want gone %v, cursor %s, scanned %d, done %v", s.Gone, res, tt.gone, tt.cursor, tt.scanned, tt.done)
			}
		})
	}
}
