package portal

import (
	"errors"
	"sort"
	"strings"

	"github.com/hookrelay/hookrelay"
)

// eventFamily is the event types whose names share the part before the
// first dot. Pattern is the filter entry that subscribes to all of them
// ("contact.*"); a type whose name has no dot is a family of its own
// without a pattern.
type eventFamily struct {
	Name    string
	Pattern string
	Types   []string
}

// eventFamilies groups names by family, families and their types sorted by
// name. Duplicate names are listed once.
func eventFamilies(names []string) []eventFamily {
	by := map[string]*eventFamily{}
	seen := map[string]bool{}
	for _, n := range names {
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		fam, _, dotted := strings.Cut(n, ".")
		key := fam
		if !dotted {
			key = n + "\x00" // a lone name never shares with a family of the same word
		}
		f := by[key]
		if f == nil {
			f = &eventFamily{Name: fam}
			if dotted {
				f.Pattern = fam + ".*"
			}
			by[key] = f
		}
		f.Types = append(f.Types, n)
	}
	out := make([]eventFamily, 0, len(by))
	for _, f := range by {
		sort.Strings(f.Types)
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Pattern < out[j].Pattern
	})
	return out
}

// errNoEventTypes is the answer to a selection of "some" event types that
// picks none.
var errNoEventTypes = errors.New("pick at least one event type or family, or choose all event types")

// filterTypesOf turns the event type form into an endpoint's filterTypes:
// nil for all event types; otherwise the picked entries (exact names and
// family patterns) without duplicates, without the names a picked pattern
// already covers, sorted.
func filterTypesOf(all bool, picked []string) ([]string, error) {
	if all {
		return nil, nil
	}
	var patterns []string
	set := map[string]bool{}
	for _, p := range picked {
		p = strings.TrimSpace(p)
		if p == "" || set[p] {
			continue
		}
		set[p] = true
		if p == "*" {
			return nil, nil
		}
		if strings.HasSuffix(p, ".*") {
			patterns = append(patterns, p)
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		if !strings.HasSuffix(p, ".*") && len(patterns) > 0 && hookrelay.MatchesEventType(patterns, p) {
			continue
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, errNoEventTypes
	}
	sort.Strings(out)
	return out, nil
}

// eventSelection is how the form shows an endpoint's filterTypes: All when
// it takes every event type, else the picked entries; Other are the picked
// entries the catalog does not offer (kept so that saving the form does
// not drop them).
type eventSelection struct {
	All    bool
	Picked map[string]bool
	Other  []string
}

// selectionOf is the inverse of filterTypesOf against the catalog's
// families.
func selectionOf(filterTypes []string, families []eventFamily) eventSelection {
	sel := eventSelection{Picked: map[string]bool{}}
	if len(filterTypes) == 0 {
		sel.All = true
		return sel
	}
	offered := map[string]bool{}
	for _, f := range families {
		if f.Pattern != "" {
			offered[f.Pattern] = true
		}
		for _, t := range f.Types {
			offered[t] = true
		}
	}
	for _, ft := range filterTypes {
		if ft == "*" {
			return eventSelection{All: true, Picked: map[string]bool{}}
		}
		sel.Picked[ft] = true
		if !offered[ft] {
			sel.Other = append(sel.Other, ft)
		}
	}
	sort.Strings(sel.Other)
	return sel
}
