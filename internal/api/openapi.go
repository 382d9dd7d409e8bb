package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// importOpenAPIIn is EventTypeImportOpenApiIn.
type importOpenAPIIn struct {
	DryRun     opt[bool]            `json:"dryRun"`
	ReplaceAll opt[bool]            `json:"replaceAll"`
	Spec       opt[json.RawMessage] `json:"spec"`
	SpecRaw    opt[string]          `json:"specRaw"`
}

// eventTypeFromOpenAPI is EventTypeFromOpenApi.
type eventTypeFromOpenAPI struct {
	Name         string          `json:"name"`
	Description  string          `json:"description"`
	Schemas      json.RawMessage `json:"schemas"`
	Deprecated   bool            `json:"deprecated"`
	GroupName    *string         `json:"groupName"`
	FeatureFlags []string        `json:"featureFlags"`
}

type importOpenAPIOut struct {
	Data struct {
		Modified []string               `json:"modified"`
		ToModify []eventTypeFromOpenAPI `json:"to_modify,omitempty"`
	} `json:"data"`
}

// maxRefDepth bounds how deeply $refs are inlined.
const maxRefDepth = 32

// importOpenAPI is POST /api/v1/event-type/import/openapi: every webhook of
// the document's webhooks (OpenAPI 3.1) or x-webhooks becomes an event
// type of that name: its operation's description (else summary), the JSON
// schema of its application/json request body as schemas["1"] (local
// $refs inlined; the body's example, if any, as that schema's examples),
// deprecated, and x-svix-group-name / x-svix-feature-flag(s). Existing
// event types are updated (and unarchived) when they differ; modified
// lists the names created or changed. replaceAll archives every other live
// event type (listed in modified too). dryRun changes nothing and lists in
// to_modify what would be written. spec (an object) or specRaw (YAML or
// JSON text) must be given, not both (400).
func (s *server) importOpenAPI(w http.ResponseWriter, r *http.Request, p *principal) error {
	var in importOpenAPIIn
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	var c checker
	c.notNull(in.DryRun.Set, in.DryRun.Null, "dryRun")
	c.notNull(in.ReplaceAll.Set, in.ReplaceAll.Null, "replaceAll")
	if err := c.err(); err != nil {
		return err
	}
	if in.Spec.has() == in.SpecRaw.has() {
		return errBadRequest("give the OpenAPI document as either spec (an object) or specRaw (YAML or JSON text), not both or neither")
	}
	var doc map[string]any
	loc := "spec"
	if in.Spec.has() {
		if err := json.Unmarshal(in.Spec.V, &doc); err != nil || doc == nil {
			return invalid("must be an object", "body", "spec")
		}
	} else {
		loc = "specRaw"
		var y any
		if err := yaml.Unmarshal([]byte(in.SpecRaw.V), &y); err != nil {
			return invalid("is neither YAML nor JSON: "+err.Error(), "body", "specRaw")
		}
		b, err := json.Marshal(y)
		if err != nil {
			return invalid("cannot be read as JSON (mapping keys must be strings): "+err.Error(), "body", "specRaw")
		}
		if err := json.Unmarshal(b, &doc); err != nil || doc == nil {
			return invalid("must hold a mapping (an OpenAPI document)", "body", "specRaw")
		}
	}
	found, err := eventTypesFromOpenAPI(doc, loc)
	if err != nil {
		return err
	}
	now := s.now()
	var out importOpenAPIOut
	out.Data.Modified = []string{}
	for _, f := range found {
		et, err := s.store.GetEventType(r.Context(), p.envID, f.Name)
		exists := err == nil
		if err != nil && !errors.Is(err, hookrelay.ErrNotFound) {
			return err
		}
		if !exists {
			et = &hookrelay.EventType{EnvID: p.envID, Name: f.Name, CreatedAt: now}
		}
		next := *et
		next.Description, next.Deprecated, next.Archived = f.Description, f.Deprecated, false
		next.Schemas, next.GroupName = f.Schemas, f.GroupName
		if len(f.FeatureFlags) == 1 {
			next.FeatureFlag = &f.FeatureFlags[0]
		}
		if exists && sameEventType(*et, next) {
			continue
		}
		out.Data.Modified = append(out.Data.Modified, f.Name)
		out.Data.ToModify = append(out.Data.ToModify, f)
		if in.DryRun.V {
			continue
		}
		next.UpdatedAt = now
		if exists {
			err = s.store.UpdateEventType(r.Context(), &next)
		} else {
			err = s.store.CreateEventType(r.Context(), &next)
		}
		if err != nil {
			return err
		}
	}
	if in.ReplaceAll.V {
		archived, err := s.archiveOthers(r, p, found, in.DryRun.V)
		if err != nil {
			return err
		}
		out.Data.Modified = append(out.Data.Modified, archived...)
	}
	if !in.DryRun.V {
		out.Data.ToModify = nil
	} else if out.Data.ToModify == nil {
		out.Data.ToModify = []eventTypeFromOpenAPI{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func sameEventType(a, b hookrelay.EventType) bool {
	return a.Description == b.Description && a.Deprecated == b.Deprecated && a.Archived == b.Archived &&
		bytes.Equal(compactJSON(a.Schemas), compactJSON(b.Schemas)) &&
		ptrEq(a.GroupName, b.GroupName) && ptrEq(a.FeatureFlag, b.FeatureFlag)
}

func ptrEq(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func compactJSON(b []byte) []byte {
	var v any
	if len(b) == 0 || json.Unmarshal(b, &v) != nil {
		return b
	}
	out, _ := json.Marshal(v)
	return out
}

// archiveOthers archives every live event type not among keep and returns
// their names.
func (s *server) archiveOthers(r *http.Request, p *principal, keep []eventTypeFromOpenAPI, dryRun bool) ([]string, error) {
	var names []string
	page := store.Page{Limit: 250}
	for {
		ets, err := s.store.ListEventTypes(r.Context(), p.envID, false, page)
		if err != nil {
			return nil, err
		}
		for _, et := range ets {
			if slices.ContainsFunc(keep, func(f eventTypeFromOpenAPI) bool { return f.Name == et.Name }) {
				continue
			}
			names = append(names, et.Name)
			if dryRun {
				continue
			}
			et.Archived, et.UpdatedAt = true, s.now()
			if err := s.store.UpdateEventType(r.Context(), &et); err != nil {
				return nil, err
			}
		}
		if len(ets) < page.Limit {
			return names, nil
		}
		page.Iterator = ets[len(ets)-1].Name
	}
}

// eventTypesFromOpenAPI reads the webhooks of an OpenAPI document, sorted
// by name; loc names the body field that held it.
func eventTypesFromOpenAPI(doc map[string]any, loc string) ([]eventTypeFromOpenAPI, error) {
	var out []eventTypeFromOpenAPI
	var c checker
	for _, key := range []string{"webhooks", "x-webhooks"} {
		hooks, ok := doc[key].(map[string]any)
		if !ok {
			if doc[key] != nil {
				c.add("must be an object", loc, key)
			}
			continue
		}
		names := make([]string, 0, len(hooks))
		for name := range hooks {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			if msg := checkName(name, 256); msg != "" {
				c.add("webhook name "+msg, loc, key, name)
				continue
			}
			if slices.ContainsFunc(out, func(f eventTypeFromOpenAPI) bool { return f.Name == name }) {
				c.add("webhook is defined in both webhooks and x-webhooks", loc, key, name)
				continue
			}
			f, msg := webhookEventType(doc, name, hooks[name])
			if msg != "" {
				c.add(msg, loc, key, name)
				continue
			}
			out = append(out, f)
		}
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, invalid("the document defines no webhooks (neither webhooks nor x-webhooks)", "body", loc)
	}
	return out, nil
}

// webhookEventType reads one webhook's path item; a non-empty message says
// what is wrong with it.
func webhookEventType(doc map[string]any, name string, item any) (eventTypeFromOpenAPI, string) {
	f := eventTypeFromOpenAPI{Name: name}
	pathItem, ok := resolveRef(doc, item, 0).(map[string]any)
	if !ok {
		return f, "must be a path item object"
	}
	var op map[string]any
	for _, m := range []string{"post", "put", "patch", "get", "delete"} {
		if o, ok := pathItem[m].(map[string]any); ok {
			op = o
			break
		}
	}
	if op == nil {
		return f, "has no operation (post)"
	}
	if d, ok := op["description"].(string); ok && d != "" {
		f.Description = d
	} else if s, ok := op["summary"].(string); ok {
		f.Description = s
	}
	// A JSON or YAML escape can put U+0000 in the text, which no store
	// keeps (see text.go).
	if strings.IndexByte(f.Description, 0) >= 0 {
		return f, "description (or summary) " + msgHasNUL
	}
	f.Deprecated, _ = op["deprecated"].(bool)
	if g, ok := op["x-svix-group-name"].(string); ok {
		if msg := checkName(g, 256); msg != "" {
			return f, "x-svix-group-name " + msg
		}
		f.GroupName = &g
	}
	if ff, ok := op["x-svix-feature-flag"].(string); ok {
		f.FeatureFlags = []string{ff}
	}
	if ffs, ok := op["x-svix-feature-flags"].([]any); ok {
		for _, v := range ffs {
			if s, ok := v.(string); ok {
				f.FeatureFlags = append(f.FeatureFlags, s)
			}
		}
	}
	for _, ff := range f.FeatureFlags {
		if msg := checkName(ff, 256); msg != "" {
			return f, "feature flag " + msg
		}
	}
	if len(f.FeatureFlags) > 1 {
		return f, "names more than one feature flag; an event type has at most one"
	}
	body, _ := resolveRef(doc, op["requestBody"], 0).(map[string]any)
	content, _ := body["content"].(map[string]any)
	media, _ := content["application/json"].(map[string]any)
	if media == nil {
		return f, ""
	}
	schema, ok := inlineRefs(doc, media["schema"], 0).(map[string]any)
	if !ok {
		return f, ""
	}
	if _, has := schema["examples"]; !has {
		if ex, ok := media["example"]; ok {
			schema["examples"] = []any{inlineRefs(doc, ex, 0)}
		} else if exs, ok := media["examples"].(map[string]any); ok {
			var list []any
			keys := make([]string, 0, len(exs))
			for k := range exs {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				if e, ok := resolveRef(doc, exs[k], 0).(map[string]any); ok && e["value"] != nil {
					list = append(list, e["value"])
				}
			}
			if len(list) > 0 {
				schema["examples"] = list
			}
		}
	}
	b, err := json.Marshal(map[string]any{"1": schema})
	if err != nil {
		return f, "schema cannot be stored: " + err.Error()
	}
	f.Schemas = b
	return f, ""
}

// resolveRef follows v's $ref (a local JSON pointer) when it has one.
func resolveRef(doc map[string]any, v any, depth int) any {
	m, ok := v.(map[string]any)
	if !ok || depth > maxRefDepth {
		return v
	}
	ref, ok := m["$ref"].(string)
	if !ok || !strings.HasPrefix(ref, "#/") {
		return v
	}
	var cur any = doc
	for _, part := range strings.Split(ref[2:], "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		obj, ok := cur.(map[string]any)
		if !ok {
			return v
		}
		if cur, ok = obj[part]; !ok {
			return v
		}
	}
	return resolveRef(doc, cur, depth+1)
}

// inlineRefs returns a copy of v with every local $ref replaced by what it
// points to, down to maxRefDepth (deeper, or cyclic, refs stay as they
// are).
func inlineRefs(doc map[string]any, v any, depth int) any {
	if depth > maxRefDepth {
		return v
	}
	switch t := v.(type) {
	case map[string]any:
		if _, ok := t["$ref"].(string); ok {
			r := resolveRef(doc, t, 0)
			if rm, ok := r.(map[string]any); ok && rm["$ref"] == nil {
				return inlineRefs(doc, rm, depth+1)
			}
			return t
		}
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = inlineRefs(doc, e, depth+1)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = inlineRefs(doc, e, depth+1)
		}
		return out
	}
	return v
}
