package portal

import (
	"bytes"
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var updateCharts = flag.Bool("update-charts", false, "rewrite the chart golden files in testdata")

func TestNiceCeil(t *testing.T) {
	tests := []struct {
		in, want float64
	}{
		{0, 1}, {-3, 1}, {0.3, 0.5}, {1, 1}, {1.2, 2}, {2.1, 2.5}, {3, 5}, {7, 10},
		{120, 200}, {240, 250}, {999, 1000}, {1001, 2000}, {30000, 50000},
	}
	for _, tt := range tests {
		if got := niceCeil(tt.in); got != tt.want {
			t.Errorf("niceCeil(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestAxisTop(t *testing.T) {
	tests := []struct {
		in    float64
		top   float64
		steps int
	}{
		{0, 4, 4}, {3, 4, 4}, {5, 5, 5}, {9, 10, 5}, {12, 20, 4}, {11, 20, 4}, {24, 25, 5}, {430, 500, 5}, {380, 400, 4}, {1450, 2000, 4}, {100, 100, 5},
	}
	for _, tt := range tests {
		if top, steps := axisTop(tt.in); top != tt.top || steps != tt.steps {
			t.Errorf("axisTop(%v) = %v, %d; want %v, %d", tt.in, top, steps, tt.top, tt.steps)
		}
	}
}

func TestTimeTicks(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		step   time.Duration
		every  int
		layout string
	}{
		{"24 hours", 24, time.Hour, 6, "15:04"},
		{"7 days of hours", 168, time.Hour, 24, "Jan 2"},
		{"30 days", 30, 24 * time.Hour, 5, "Jan 2"},
		{"an hour of minutes", 60, time.Minute, 60, "15:04"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			every, layout := timeTicks(tt.n, tt.step)
			if every != tt.every || layout != tt.layout {
				t.Errorf("timeTicks(%d, %s) = %d, %q; want %d, %q", tt.n, tt.step, every, layout, tt.every, tt.layout)
			}
		})
	}
}

func TestFormatNumbers(t *testing.T) {
	tests := []struct{ got, want string }{
		{formatPercent(1), "100%"},
		{formatPercent(0.995), "99.5%"},
		{formatPercent(0.12345), "12.3%"},
		{formatPercent(0), "0%"},
		{formatMs(0), "0 ms"},
		{formatMs(850.4), "850 ms"},
		{formatMs(1500), "1.5 s"},
		{formatMs(12345), "12 s"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func ratePtr(v float64) *float64 { return &v }

// sampleHealth is 24 hourly buckets from 2026-12-06 00:00 UTC: traffic in
// hours 0-9, nothing in 10-11, one lone hour at 13, then 16-23.
func sampleHealth() *endpointHealth {
	start := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	h := &endpointHealth{Bucket: "hour", Since: start, Until: start.Add(24 * time.Hour)}
	for i := 0; i < 24; i++ {
		at := start.Add(time.Duration(i) * time.Hour)
		b := healthStats{Start: &at}
		if i < 10 || i == 13 || i >= 16 {
			ok := int64(100 - i)
			b.Attempts = healthAttempts{Success: ok, Rejected: int64(i), Unanswered: 0}
			b.Total = 100
			b.SuccessRate = ratePtr(float64(ok) / 100)
			b.ResponseTimeMs = &healthResponseTime{Avg: 40, P50: int64(30 + i), P95: int64(90 + 3*i), P99: int64(200 + 10*i), Max: 400}
		}
		h.Buckets = append(h.Buckets, b)
	}
	h.Totals = healthStats{
		Attempts:       healthAttempts{Success: 1700, Rejected: 200, Unanswered: 10, Refused: 2},
		Total:          1912,
		SuccessRate:    ratePtr(1700.0 / 1910),
		ResponseTimeMs: &healthResponseTime{Avg: 45, P50: 35, P95: 120, P99: 380, Max: 1450},
	}
	return h
}

// svgCheck parses out as XML and returns the text of its title and desc.
func svgCheck(t *testing.T, out string) (title, desc string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(out))
	var stack []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v\n%s", err, out)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			stack = append(stack, tok.Name.Local)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 2 && stack[1] == "title" {
				title += string(tok)
			}
			if len(stack) == 2 && stack[1] == "desc" {
				desc += string(tok)
			}
		}
	}
	return title, desc
}

func TestChartsGolden(t *testing.T) {
	h := sampleHealth()
	w := findHealthWindow("24h")
	empty := &endpointHealth{Bucket: "day", Since: time.Date(2026, 11, 6, 0, 0, 0, 0, time.UTC)}
	for i := 0; i < 30; i++ {
		at := empty.Since.Add(time.Duration(i) * 24 * time.Hour)
		empty.Buckets = append(empty.Buckets, healthStats{Start: &at})
	}
	tests := []struct {
		name      string
		chart     *chart
		title     string
		descParts []string
		// paths is the number of series drawn with a line.
		paths int
	}{
		{
			name:      "success-24h",
			chart:     successChart("ok-chart", "https://example.com/hook <b>", w, h),
			title:     "Success rate of https://example.com/hook <b>, last 24 hours",
			descParts: []string{"Overall 89%", "1700 succeeded", "200 rejected", "10 unanswered", "of 1912 attempts", "Lowest: 77% in the hour starting Dec 6 23:00 UTC"},
			paths:     1,
		},
		{
			name:      "response-24h",
			chart:     responseChart("rt-chart", "orders", w, h),
			title:     "Response time of orders, last 24 hours",
			descParts: []string{"median (p50) 35 ms", "p95 120 ms", "p99 380 ms", "average 45 ms", "slowest 1.5 s"},
			paths:     3,
		},
		{
			name:      "success-30d-empty",
			chart:     successChart("empty-chart", "orders", findHealthWindow("30d"), empty),
			title:     "Success rate of orders, last 30 days",
			descParts: []string{"No attempt reached the receiver in this period."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := string(tt.chart.render())
			title, desc := svgCheck(t, out)
			if title != tt.title {
				t.Errorf("title = %q, want %q", title, tt.title)
			}
			for _, p := range tt.descParts {
				if !strings.Contains(desc, p) {
					t.Errorf("desc %q lacks %q", desc, p)
				}
			}
			if got := strings.Count(out, `<path d="M`); got != tt.paths {
				t.Errorf("found %d series paths, want %d", got, tt.paths)
			}
			if !strings.Contains(out, `aria-labelledby="`+tt.chart.ID+`-title `+tt.chart.ID+`-desc"`) {
				t.Errorf("the svg is not labelled by its title and desc")
			}
			golden := filepath.Join("testdata", tt.name+".svg")
			if *updateCharts {
				if err := os.WriteFile(golden, []byte(out+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update-charts to write it)", err)
			}
			if !bytes.Equal(bytes.TrimSpace(want), []byte(out)) {
				t.Errorf("chart differs from %s (run with -update-charts after checking it in a browser):\n%s", golden, out)
			}
		})
	}
}

// TestChartGaps checks that a bucket without data breaks the line and that
// a lone bucket between gaps is drawn as a dot.
func TestChartGaps(t *testing.T) {
	tests := []struct {
		name    string
		points  []chartPoint
		moves   int
		circles int
	}{
		{"all data", []chartPoint{{1, true}, {2, true}, {3, true}}, 1, 0},
		{"gap in the middle", []chartPoint{{1, true}, {2, true}, {}, {3, true}, {4, true}}, 2, 0},
		{"lone point", []chartPoint{{1, true}, {2, true}, {}, {3, true}, {}}, 2, 1},
		{"no data", []chartPoint{{}, {}}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &chart{ID: "c", Title: "t", Desc: "d", Start: time.Unix(0, 0), Step: time.Hour, YLabel: "y",
				Series: []chartSeries{{Name: "s", Points: tt.points}}}
			out := string(c.render())
			svgCheck(t, out)
			var moves int
			if i := strings.Index(out, `<path d="`); i >= 0 {
				d := out[i+len(`<path d="`):]
				d = d[:strings.IndexByte(d, '"')]
				moves = strings.Count(d, "M")
			}
			if moves != tt.moves {
				t.Errorf("path has %d moves, want %d", moves, tt.moves)
			}
			if got := strings.Count(out, "<circle"); got != tt.circles {
				t.Errorf("%d dots, want %d", got, tt.circles)
			}
			if empty := strings.Contains(out, "No attempts in this period"); empty != (tt.moves == 0) {
				t.Errorf("empty-chart note shown: %v, want %v", empty, tt.moves == 0)
			}
		})
	}
}
