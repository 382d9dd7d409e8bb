package portal

import "net/http"

// routes registers every route of the portal and the console, in one place.
func (p *Portal) routes() {
	m := p.mux
	m.Handle("GET /portal/static/", p.serveStatic())
	m.HandleFunc("GET /portal/theme.css", p.themeCSS)

	// Customer portal.
	m.HandleFunc("GET /portal/login", p.linkPage)
	m.HandleFunc("POST /portal/login", p.redeem)
	m.Handle("POST /portal/logout", p.customer(p.logout))
	m.Handle("GET /portal/{$}", p.customer(p.home))
	m.Handle("GET /portal/endpoints", p.customer(p.endpointsList))
	m.Handle("GET /portal/endpoints/new", p.customer(p.endpointNew))
	m.Handle("POST /portal/endpoints", p.customer(p.endpointCreate))
	m.Handle("GET /portal/endpoints/{id}", p.customer(p.endpointEdit))
	m.Handle("POST /portal/endpoints/{id}", p.customer(p.endpointSave))
	m.Handle("POST /portal/endpoints/{id}/headers", p.customer(p.endpointAddHeader))
	m.Handle("POST /portal/endpoints/{id}/headers/remove", p.customer(p.endpointRemoveHeader))
	m.Handle("POST /portal/endpoints/{id}/disable", p.customer(p.endpointSetDisabled(true)))
	m.Handle("POST /portal/endpoints/{id}/enable", p.customer(p.endpointSetDisabled(false)))
	m.Handle("GET /portal/endpoints/{id}/delete", p.customer(p.endpointDeleteConfirm))
	m.Handle("POST /portal/endpoints/{id}/delete", p.customer(p.endpointDelete))
	m.Handle("GET /portal/endpoints/{id}/secret", p.customer(p.secretPage))
	m.Handle("POST /portal/endpoints/{id}/secret/rotate", p.customer(p.secretRotate))
	m.Handle("GET /portal/catalog", p.customer(p.catalogPage))
	m.Handle("GET /portal/activity", p.customer(p.activity))
	m.Handle("GET /portal/activity/msg/{msg_id}", p.customer(p.activityMessage))
	m.Handle("POST /portal/activity/msg/{msg_id}/resend", p.customer(p.activityResend))
	m.Handle("GET /portal/activity/msg/{msg_id}/attempt/{attempt_id}", p.customer(p.activityAttempt))
	m.Handle("GET /portal/activity/recover", p.customer(p.activityRecoverForm))
	m.Handle("POST /portal/activity/recover", p.customer(p.activityRecover))
	m.Handle("GET /portal/activity/task/{task_id}", p.customer(p.activityTask))
	m.Handle("GET /portal/testing", p.customer(p.testingPage))
	m.Handle("POST /portal/testing", p.customer(p.testingSend))
	m.Handle("GET /portal/testing/result", p.customer(p.testingResult))
	m.Handle("GET /portal/health", p.customer(p.healthPage))

	// Operator console.
	m.HandleFunc("GET /console/login", p.consoleLoginForm)
	m.HandleFunc("POST /console/login", p.consoleLogin)
	m.Handle("POST /console/logout", p.operator(p.logout))
	m.Handle("GET /console/{$}", p.operator(p.consolePage))
	m.Handle("POST /console/apps/{app_id}/portal", p.operator(p.openPortal))

	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p.renderStatus(w, r, nil, http.StatusNotFound, "message", "Not found",
			message{Heading: "Page not found", Text: "There is no page at this address."})
	})
}
