package portal

import (
	"net/http"
	"strings"
)

// The event catalog page: every event type (archived ones left out) with
// its description, its schema in words and its example payloads, grouped
// by family.

type catalogType struct {
	Name        string
	Description string
	Deprecated  bool
	Docs        []schemaDoc
	// SchemaError is set when the stored schemas cannot be read.
	SchemaError string
}

type catalogFamily struct {
	Name    string
	Pattern string
	Types   []catalogType
}

type catalogPage struct {
	Families []catalogFamily
	Count    int
}

// catalogPage is GET /portal/catalog.
func (p *Portal) catalogPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	ets, err := p.eventTypes(r, s, true)
	if err != nil {
		return err
	}
	byName := map[string]eventTypeJSON{}
	names := make([]string, 0, len(ets))
	for _, et := range ets {
		byName[et.Name] = et
		names = append(names, et.Name)
	}
	var pg catalogPage
	for _, f := range eventFamilies(names) {
		cf := catalogFamily{Name: f.Name, Pattern: f.Pattern}
		for _, n := range f.Types {
			et := byName[n]
			ct := catalogType{Name: n, Description: et.Description, Deprecated: et.Deprecated}
			if docs, err := schemaDocs([]byte(et.Schemas)); err != nil {
				ct.SchemaError = "The schema of this event type cannot be read."
			} else {
				ct.Docs = docs
			}
			cf.Types = append(cf.Types, ct)
			pg.Count++
		}
		pg.Families = append(pg.Families, cf)
	}
	p.render(w, r, s, "catalog", "Event catalog", pg)
	return nil
}

// anchor makes an id attribute of an event type name.
func anchor(name string) string {
	return "et-" + strings.NewReplacer(".", "-", " ", "-").Replace(name)
}

func init() { funcs["anchor"] = anchor }
