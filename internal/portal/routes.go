package portal

import "net/http"

// routes registers every route of the portal and the console, in one place.
func (p *Portal) routes() {
	m := p.mux
	m.Handle("GET /portal/static/", p.serveStatic())
	m.HandleFunc("GET /portal/theme.css", p.themeCSS)

	// Customer portal.
	m.HandleFunc("GET /portal/login", p.redeem)
	m.Handle("POST /portal/logout", p.customer(p.logout))
	m.Handle("GET /portal/{$}", p.customer(p.home))
	m.Handle("GET /portal/endpoints", p.customer(p.placeholder("Endpoints")))
	m.Handle("GET /portal/activity", p.customer(p.placeholder("Activity")))
	m.Handle("GET /portal/catalog", p.customer(p.placeholder("Event catalog")))
	m.Handle("GET /portal/health", p.customer(p.placeholder("Health")))

	// Operator console.
	m.HandleFunc("GET /console/login", p.consoleLoginForm)
	m.HandleFunc("POST /console/login", p.consoleLogin)
	m.Handle("POST /console/logout", p.operator(p.logout))
	m.Handle("GET /console/{$}", p.operator(p.placeholder("Console")))

	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p.renderStatus(w, r, nil, http.StatusNotFound, "message", "Not found",
			message{Heading: "Page not found", Text: "There is no page at this address."})
	})
}
