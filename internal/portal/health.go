package portal

import (
	"html/template"
	"net/http"
	"net/url"
	"time"
)

// The health page: one endpoint's success rate and response times over
// 24 hours, 7 days or 30 days, drawn on the server as SVG (see svg.go),
// with the same figures as text and the endpoint's recent failures.

type healthData struct {
	Endpoints []actEndpoint
	Endpoint  *actEndpoint
	Windows   []healthWindow
	Window    healthWindow
	Health    *endpointHealth
	// SuccessSVG and ResponseSVG are the charts.
	SuccessSVG  template.HTML
	ResponseSVG template.HTML
	Summary     healthSummary
	Rows        []healthRow
	Failures    []actAttempt
	// EventTypes maps the failures' messages to their event types.
	EventTypes map[string]string
}

// healthSummary is the window's totals as text.
type healthSummary struct {
	SuccessRate string
	Attempts    healthAttempts
	Total       int64
	P50, P95    string
	P99, Avg    string
	Max         string
	HasTimes    bool
}

// healthRow is one bucket's figures as text.
type healthRow struct {
	Start       time.Time
	Total       int64
	SuccessRate string
	P50         string
	P95         string
	P99         string
}

func summarize(h *healthStats) healthSummary {
	out := healthSummary{SuccessRate: "—", Attempts: h.Attempts, Total: h.Total}
	if h.SuccessRate != nil {
		out.SuccessRate = formatPercent(*h.SuccessRate)
	}
	if rt := h.ResponseTimeMs; rt != nil {
		out.HasTimes = true
		out.P50, out.P95, out.P99 = formatMs(float64(rt.P50)), formatMs(float64(rt.P95)), formatMs(float64(rt.P99))
		out.Avg, out.Max = formatMs(float64(rt.Avg)), formatMs(float64(rt.Max))
	}
	return out
}

// WindowPath is the page's path for window w.
func (d *healthData) WindowPath(w healthWindow) string {
	q := url.Values{"window": {w.Name}}
	if d.Endpoint != nil {
		q.Set("endpoint", d.Endpoint.ID)
	}
	return "/portal/health?" + q.Encode()
}

// healthPage is GET /portal/health?endpoint=…&window=24h|7d|30d.
func (p *Portal) healthPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	ctx := r.Context()
	q := r.URL.Query()
	d := &healthData{Windows: healthWindows, Window: findHealthWindow(q.Get("window"))}
	var err error
	if d.Endpoints, err = p.endpointsOf(ctx, s); err != nil {
		return err
	}
	want := q.Get("endpoint")
	for i := range d.Endpoints {
		if d.Endpoints[i].ID == want || (want == "" && i == 0) {
			d.Endpoint = &d.Endpoints[i]
		}
	}
	if d.Endpoint == nil && want != "" {
		return &APIError{Status: http.StatusNotFound, Code: "not_found", Detail: "endpoint not found"}
	}
	if d.Endpoint != nil {
		var h endpointHealth
		path := appPath(s.AppID, "endpoint", d.Endpoint.ID, "health") + "?" + d.Window.query(p.clock())
		if err := p.call(ctx, s, "GET", path, nil, &h); err != nil {
			return err
		}
		d.Health = &h
		name := d.Endpoint.Name()
		d.SuccessSVG = successChart("chart-success", name, d.Window, &h).render()
		d.ResponseSVG = responseChart("chart-response", name, d.Window, &h).render()
		d.Summary = summarize(&h.Totals)
		for i := len(h.Buckets) - 1; i >= 0; i-- {
			b := h.Buckets[i]
			if b.Total == 0 {
				continue
			}
			row := healthRow{Start: h.bucketStart(i, d.Window.Step), Total: b.Total, SuccessRate: "—", P50: "—", P95: "—", P99: "—"}
			if b.SuccessRate != nil {
				row.SuccessRate = formatPercent(*b.SuccessRate)
			}
			if rt := b.ResponseTimeMs; rt != nil {
				row.P50, row.P95, row.P99 = formatMs(float64(rt.P50)), formatMs(float64(rt.P95)), formatMs(float64(rt.P99))
			}
			d.Rows = append(d.Rows, row)
		}
		var fails actList[actAttempt]
		fq := url.Values{"status": {"2"}, "limit": {"10"}}
		if err := p.call(ctx, s, "GET", appPath(s.AppID, "attempt", "endpoint", d.Endpoint.ID)+"?"+fq.Encode(), nil, &fails); err != nil {
			return err
		}
		if d.EventTypes, err = p.eventTypesOfAttempts(ctx, s, fails.Data); err != nil {
			return err
		}
		d.Failures = fails.Data
	}
	p.render(w, r, s, "health", "Health", d)
	return nil
}
