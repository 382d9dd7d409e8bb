package portal

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
)

// Charts are drawn on the server as inline SVG, so that they read without
// JavaScript. Every chart is an img with a <title> and a <desc> naming what
// it shows and its figures; the axes are labelled. Colours come from the
// stylesheet through classes (chart-axis, chart-grid, chart-s0..chart-s2),
// with currentColor as the fallback, so the chart follows the light or dark
// theme; the series also differ in dash pattern and marker, never only in
// colour.

// chartPoint is one bucket's value; OK is false for a bucket without data,
// which leaves a gap in its line.
type chartPoint struct {
	Value float64
	OK    bool
}

// chartSeries is one line of a chart, a point per bucket.
type chartSeries struct {
	Name   string
	Points []chartPoint
}

// chart is a line chart over time: bucket i covers [Start+i*Step,
// Start+(i+1)*Step) and its point is drawn at the bucket's middle.
type chart struct {
	// ID is unique in the page: it prefixes the ids of the title and desc.
	ID    string
	Title string
	Desc  string
	Start time.Time
	Step  time.Duration
	// YLabel names the vertical axis with its unit.
	YLabel string
	// YMax fixes the top of the vertical axis (in 4 steps); 0 takes round
	// steps reaching the largest point (see axisTop).
	YMax float64
	// YFormat writes a tick value of the vertical axis.
	YFormat func(float64) string
	Series  []chartSeries
}

// Chart geometry in viewBox units.
const (
	chartW      = 640
	chartH      = 260
	chartLeft   = 72
	chartRight  = 16
	chartTop    = 16
	chartBottom = 64 // room for the time labels, the axis title and the legend
)

// seriesDash keeps the series apart without colour.
var seriesDash = [...]string{"", "6 4", "2 3"}

// niceCeil returns the smallest of 1, 2, 2.5, 5 times a power of ten that
// is at least v (v > 0), the top of an axis with round ticks.
func niceCeil(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// axisTop returns the top of a vertical axis that holds v (>= 0) and the
// number of steps up to it: 4 or 5 round steps of at least 1, whichever
// reaches less far above v, 5 on a tie (0, 100 ... 500 for 430 rather
// than 0, 200 ... 800).
func axisTop(v float64) (top float64, steps int) {
	// A step is whole: 2.5 becomes 5 below 10.
	step := func(v float64) float64 {
		s := max(1, niceCeil(v))
		if s == 2.5 {
			s = 5
		}
		return s
	}
	top4 := 4 * step(v/4)
	top5 := 5 * step(v/5)
	if top5 <= top4 {
		return top5, 5
	}
	return top4, 4
}

// timeTicks returns the bucket indexes that get a label on the time axis
// and the label layout, for n buckets of step.
func timeTicks(n int, step time.Duration) (every int, layout string) {
	span := time.Duration(n) * step
	switch {
	case step < time.Hour:
		return max(1, int(time.Hour/step)), "15:04"
	case step < 24*time.Hour && span <= 48*time.Hour:
		return max(1, int(6*time.Hour/step)), "15:04"
	case step < 24*time.Hour:
		return max(1, int(24*time.Hour/step)), "Jan 2"
	default:
		return max(1, (n+5)/6), "Jan 2"
	}
}

// render writes the chart as an <svg> element.
func (c *chart) render() template.HTML {
	n := 0
	top := c.YMax
	for _, s := range c.Series {
		n = max(n, len(s.Points))
		if c.YMax == 0 {
			for _, p := range s.Points {
				if p.OK {
					top = max(top, p.Value)
				}
			}
		}
	}
	steps := 4
	if c.YMax == 0 {
		top, steps = axisTop(top)
	}
	format := c.YFormat
	if format == nil {
		format = func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	}
	plotW := float64(chartW - chartLeft - chartRight)
	plotH := float64(chartH - chartTop - chartBottom)
	x := func(i int) float64 {
		if n == 0 {
			return chartLeft
		}
		return chartLeft + plotW*(float64(i)+0.5)/float64(n)
	}
	y := func(v float64) float64 {
		v = min(max(v, 0), top)
		return chartTop + plotH*(1-v/top)
	}

	var b strings.Builder
	esc := template.HTMLEscapeString
	titleID, descID := c.ID+"-title", c.ID+"-desc"
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="%s %s" data-testid="%s">`,
		chartW, chartH, esc(titleID), esc(descID), esc(c.ID))
	fmt.Fprintf(&b, `<title id="%s">%s</title><desc id="%s">%s</desc>`, esc(titleID), esc(c.Title), esc(descID), esc(c.Desc))

	// Horizontal grid and the vertical axis's ticks: 0, 1/4 ... top.
	b.WriteString(`<g class="chart-grid" stroke="currentColor" stroke-opacity="0.2" aria-hidden="true">`)
	for i := 0; i <= steps; i++ {
		yy := y(top * float64(i) / float64(steps))
		fmt.Fprintf(&b, `<line x1="%d" y1="%s" x2="%d" y2="%s"/>`, chartLeft, num(yy), chartW-chartRight, num(yy))
	}
	b.WriteString(`</g>`)
	b.WriteString(`<g class="chart-axis" fill="currentColor" font-size="13">`)
	for i := 0; i <= steps; i++ {
		v := top * float64(i) / float64(steps)
		fmt.Fprintf(&b, `<text x="%d" y="%s" text-anchor="end" dominant-baseline="middle">%s</text>`,
			chartLeft-6, num(y(v)), esc(format(v)))
	}
	fmt.Fprintf(&b, `<text x="14" y="%s" text-anchor="middle" transform="rotate(-90 14 %s)">%s</text>`,
		num(chartTop+plotH/2), num(chartTop+plotH/2), esc(c.YLabel))
	every, layout := timeTicks(n, c.Step)
	for i := 0; i < n; i += every {
		at := c.Start.Add(time.Duration(i) * c.Step).UTC()
		fmt.Fprintf(&b, `<text x="%s" y="%d" text-anchor="middle">%s</text>`,
			num(x(i)), chartTop+int(plotH)+16, esc(at.Format(layout)))
	}
	fmt.Fprintf(&b, `<text x="%s" y="%d" text-anchor="middle">Time (UTC)</text>`, num(chartLeft+plotW/2), chartTop+int(plotH)+32)
	b.WriteString(`</g>`)
	fmt.Fprintf(&b, `<g class="chart-axis" stroke="currentColor" aria-hidden="true"><line x1="%d" y1="%d" x2="%d" y2="%s"/><line x1="%d" y1="%s" x2="%d" y2="%s"/></g>`,
		chartLeft, chartTop, chartLeft, num(chartTop+plotH), chartLeft, num(chartTop+plotH), chartW-chartRight, num(chartTop+plotH))

	// The series: a path broken at buckets without data; a lone point
	// between two gaps gets a dot so that it shows.
	for si, s := range c.Series {
		dash := seriesDash[si%len(seriesDash)]
		fmt.Fprintf(&b, `<g class="chart-s%d" stroke="currentColor" fill="currentColor" aria-hidden="true">`, si)
		var d strings.Builder
		for i, p := range s.Points {
			if !p.OK {
				continue
			}
			prevOK := i > 0 && s.Points[i-1].OK
			nextOK := i+1 < len(s.Points) && s.Points[i+1].OK
			if prevOK {
				fmt.Fprintf(&d, "L%s %s", num(x(i)), num(y(p.Value)))
			} else {
				if d.Len() > 0 {
					d.WriteByte(' ')
				}
				fmt.Fprintf(&d, "M%s %s", num(x(i)), num(y(p.Value)))
			}
			if !prevOK && !nextOK {
				fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="2.5" stroke="none"/>`, num(x(i)), num(y(p.Value)))
			}
		}
		if d.Len() > 0 {
			fmt.Fprintf(&b, `<path d="%s" fill="none" stroke-width="2"`, d.String())
			if dash != "" {
				fmt.Fprintf(&b, ` stroke-dasharray="%s"`, dash)
			}
			b.WriteString(`/>`)
		}
		b.WriteString(`</g>`)
	}

	// The legend, under the axis title.
	if len(c.Series) > 1 {
		lx := chartLeft
		ly := chartH - 10
		for si, s := range c.Series {
			dash := seriesDash[si%len(seriesDash)]
			fmt.Fprintf(&b, `<g class="chart-s%d" stroke="currentColor" fill="currentColor"><line x1="%d" y1="%d" x2="%d" y2="%d" stroke-width="2"`, si, lx, ly, lx+24, ly)
			if dash != "" {
				fmt.Fprintf(&b, ` stroke-dasharray="%s"`, dash)
			}
			fmt.Fprintf(&b, `/><text x="%d" y="%d" stroke="none" font-size="12" dominant-baseline="middle">%s</text></g>`, lx+30, ly, esc(s.Name))
			lx += 30 + 8*len(s.Name) + 28
		}
	}
	if n == 0 || !c.hasData() {
		fmt.Fprintf(&b, `<text class="chart-axis" x="%s" y="%s" text-anchor="middle" fill="currentColor" font-size="13">No attempts in this period</text>`,
			num(chartLeft+plotW/2), num(chartTop+plotH/2))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func (c *chart) hasData() bool {
	for _, s := range c.Series {
		for _, p := range s.Points {
			if p.OK {
				return true
			}
		}
	}
	return false
}

// num writes a coordinate with at most one decimal.
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// formatPercent writes a share (0..1) as a percentage with at most one
// decimal: "99.5%".
func formatPercent(share float64) string {
	return strconv.FormatFloat(math.Round(share*1000)/10, 'f', -1, 64) + "%"
}

// formatMs writes a duration in milliseconds for people: "850 ms",
// "1.5 s", "12 s".
func formatMs(ms float64) string {
	switch {
	case ms < 1000:
		return strconv.FormatFloat(math.Round(ms), 'f', -1, 64) + " ms"
	case ms < 10000:
		return strconv.FormatFloat(math.Round(ms/100)/10, 'f', -1, 64) + " s"
	default:
		return strconv.FormatFloat(math.Round(ms/1000), 'f', -1, 64) + " s"
	}
}
