package portal

import (
	"net/http"
	"sort"
	"time"
)

// The signing secret page: reveal on demand, copy, rotate (the previous
// secret keeps signing for its grace period, shown), and how to verify.

type secretPage struct {
	Endpoint endpointJSON
	Revealed bool
	Secret   string
	// Previous are the rotated-out secrets still signing, by expiry.
	Previous []time.Time
	Now      time.Time
	Snippets []verifySnippet
	Notice   string
}

// secretPage is GET /portal/endpoints/{id}/secret; ?reveal=1 shows the
// secret.
func (p *Portal) secretPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	base := p.appPath(s, "/endpoint/"+pathEscape(r.PathValue("id")))
	var ep endpointJSON
	if err := p.call(r.Context(), s, "GET", base, nil, &ep); err != nil {
		return err
	}
	pg := secretPage{Endpoint: ep, Now: p.now(), Snippets: verifySnippets(), Notice: notices[r.URL.Query().Get("done")]}
	if r.URL.Query().Get("reveal") == "1" {
		var sec struct {
			Key string `json:"key"`
		}
		if err := p.call(r.Context(), s, "GET", base+"/secret", nil, &sec); err != nil {
			return err
		}
		pg.Revealed, pg.Secret = true, sec.Key
	}
	// The API does not show rotated-out secrets; when they expire is read
	// here, for the endpoint the API has just shown this session.
	full, err := p.store.GetEndpoint(r.Context(), s.AppID, ep.ID)
	if err != nil {
		return err
	}
	for _, old := range full.OldSecrets {
		if pg.Now.Before(old.ExpiresAt) {
			pg.Previous = append(pg.Previous, old.ExpiresAt)
		}
	}
	sort.Slice(pg.Previous, func(i, j int) bool { return pg.Previous[i].Before(pg.Previous[j]) })
	p.render(w, r, s, "secret", "Signing secret", pg)
	return nil
}

// secretRotate is POST /portal/endpoints/{id}/secret/rotate.
func (p *Portal) secretRotate(w http.ResponseWriter, r *http.Request, s *Session) error {
	id := r.PathValue("id")
	if err := p.call(r.Context(), s, "POST", p.appPath(s, "/endpoint/"+pathEscape(id)+"/secret/rotate"), map[string]any{}, nil); err != nil {
		return err
	}
	p.redirect(w, r, s, "/portal/endpoints/"+id+"/secret?done=rotated")
	return nil
}
