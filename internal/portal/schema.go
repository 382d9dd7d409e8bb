package portal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// schemaRow is one property of an event type's JSON Schema, flattened for
// a table: Path names it from the payload's root ("data.contact.id",
// "tags[]"), Depth indents it.
type schemaRow struct {
	Path        string
	Name        string
	Depth       int
	Type        string
	Required    bool
	Description string
	Notes       []string // format, enum, bounds, default, pattern
}

// schemaDoc is what the catalog shows of one version of a schema.
type schemaDoc struct {
	Version     string
	Title       string
	Description string
	Rows        []schemaRow
	Examples    []string // indented JSON
}

// maxSchemaDepth bounds how deep nested objects are listed; maxSchemaRows
// bounds the rows of one schema.
const (
	maxSchemaDepth = 8
	maxSchemaRows  = 500
)

// schemaDocs reads an event type's schemas ({"1": {JSON Schema}, ...}) into
// one schemaDoc per version, newest version first. A schema that is not
// an object yields a doc with no rows.
func schemaDocs(raw json.RawMessage) ([]schemaDoc, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var versions map[string]json.RawMessage
	if err := json.Unmarshal(raw, &versions); err != nil {
		return nil, fmt.Errorf("read schemas: %w", err)
	}
	keys := make([]string, 0, len(versions))
	for k := range versions {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, errA := strconv.Atoi(keys[i])
		b, errB := strconv.Atoi(keys[j])
		if errA == nil && errB == nil {
			return a > b
		}
		return keys[i] > keys[j]
	})
	out := make([]schemaDoc, 0, len(keys))
	for _, k := range keys {
		var s map[string]any
		doc := schemaDoc{Version: k}
		if json.Unmarshal(versions[k], &s) == nil && s != nil {
			doc.Title, _ = s["title"].(string)
			doc.Description, _ = s["description"].(string)
			w := schemaWalker{root: s}
			w.walk(s, "", "", 0, false, map[string]bool{})
			doc.Rows = w.rows
			if ex, ok := s["examples"].([]any); ok {
				var raws struct {
					Examples []json.RawMessage `json:"examples"`
				}
				_ = json.Unmarshal(versions[k], &raws)
				for i := range ex {
					if i < len(raws.Examples) {
						doc.Examples = append(doc.Examples, indentJSON(raws.Examples[i]))
					}
				}
			}
		}
		out = append(out, doc)
	}
	return out, nil
}

// indentJSON returns raw indented by two spaces, or as it is when it is
// not JSON.
func indentJSON(raw []byte) string {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}

type schemaWalker struct {
	root map[string]any
	rows []schemaRow
}

// resolve follows a local $ref ("#/definitions/x", "#/$defs/x"); seen
// stops cycles.
func (w *schemaWalker) resolve(s map[string]any, seen map[string]bool) (map[string]any, string) {
	ref, _ := s["$ref"].(string)
	if ref == "" {
		return s, ""
	}
	if seen[ref] || !strings.HasPrefix(ref, "#/") {
		return nil, ref
	}
	var cur any = w.root
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, ref
		}
		cur = m[part]
	}
	m, ok := cur.(map[string]any)
	if !ok {
		return nil, ref
	}
	return m, ref
}

// walk adds a row for the property at path (none for the root) and rows
// for what it holds.
func (w *schemaWalker) walk(s map[string]any, path, name string, depth int, required bool, seen map[string]bool) {
	if len(w.rows) >= maxSchemaRows {
		return
	}
	resolved, ref := w.resolve(s, seen)
	if ref != "" {
		if resolved == nil {
			if path != "" {
				w.rows = append(w.rows, schemaRow{Path: path, Name: name, Depth: depth, Type: "see " + ref, Required: required,
					Description: str(s["description"])})
			}
			return
		}
		seen = copySeen(seen)
		seen[ref] = true
		// Keywords next to $ref (a description) win over the target's.
		merged := map[string]any{}
		for k, v := range resolved {
			merged[k] = v
		}
		for k, v := range s {
			if k != "$ref" {
				merged[k] = v
			}
		}
		s = merged
	}
	if path != "" {
		w.rows = append(w.rows, schemaRow{
			Path: path, Name: name, Depth: depth, Type: schemaType(s), Required: required,
			Description: str(s["description"]), Notes: schemaNotes(s),
		})
	}
	if depth >= maxSchemaDepth {
		return
	}
	// Required properties first, then by name.
	w.walkProps(s, path, depth, seen)
	if items, ok := s["items"].(map[string]any); ok {
		if ip, ok := items["properties"].(map[string]any); ok && len(ip) > 0 || items["$ref"] != nil {
			base := path + "[]"
			if path == "" {
				base = "[]"
			}
			// The items' own row would repeat the array's: list their
			// properties under base.
			resolvedItems, _ := w.resolve(items, seen)
			if resolvedItems != nil {
				w.walkProps(resolvedItems, base, depth, seen)
			}
		}
	}
	for _, kw := range []string{"oneOf", "anyOf", "allOf"} {
		list, _ := s[kw].([]any)
		for i, alt := range list {
			m, ok := alt.(map[string]any)
			if !ok {
				continue
			}
			m, _ = w.resolve(m, seen)
			if m == nil {
				continue
			}
			if _, ok := m["properties"]; !ok {
				continue
			}
			base := path
			if kw != "allOf" {
				label := fmt.Sprintf("(%s %d)", map[string]string{"oneOf": "option", "anyOf": "variant"}[kw], i+1)
				if base == "" {
					base = label
				} else {
					base += " " + label
				}
			}
			w.walkProps(m, base, depth, seen)
		}
	}
}

// walkProps lists the properties of s under base, one level below depth.
func (w *schemaWalker) walkProps(s map[string]any, base string, depth int, seen map[string]bool) {
	props, _ := s["properties"].(map[string]any)
	req := map[string]bool{}
	if list, ok := s["required"].([]any); ok {
		for _, r := range list {
			if n, ok := r.(string); ok {
				req[n] = true
			}
		}
	}
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if req[names[i]] != req[names[j]] {
			return req[names[i]]
		}
		return names[i] < names[j]
	})
	for _, n := range names {
		if child, ok := props[n].(map[string]any); ok {
			p := n
			if base != "" {
				p = base + "." + n
			}
			d := depth + 1
			if base == "" {
				d = 0
			}
			w.walk(child, p, n, d, req[n], seen)
		}
	}
}

func copySeen(seen map[string]bool) map[string]bool {
	out := make(map[string]bool, len(seen)+1)
	for k, v := range seen {
		out[k] = v
	}
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// schemaType describes a schema's type in words: "string", "integer or
// null", "array of string", "object", "one of: string, integer".
func schemaType(s map[string]any) string {
	var types []string
	switch t := s["type"].(type) {
	case string:
		types = []string{t}
	case []any:
		for _, x := range t {
			if n, ok := x.(string); ok {
				types = append(types, n)
			}
		}
	}
	if len(types) == 0 {
		switch {
		case s["properties"] != nil:
			types = []string{"object"}
		case s["items"] != nil:
			types = []string{"array"}
		case s["const"] != nil:
			return "constant"
		case s["enum"] != nil:
			return "one of the values listed"
		}
	}
	for i, t := range types {
		if t == "array" {
			if items, ok := s["items"].(map[string]any); ok {
				if it := schemaType(items); it != "any" {
					types[i] = "array of " + it
				} else if ref, ok := items["$ref"].(string); ok {
					types[i] = "array of " + refName(ref)
				}
			}
		}
	}
	if len(types) == 0 {
		for _, kw := range []string{"oneOf", "anyOf"} {
			if list, ok := s[kw].([]any); ok {
				var alts []string
				for _, a := range list {
					if m, ok := a.(map[string]any); ok {
						if ref, ok := m["$ref"].(string); ok {
							alts = append(alts, refName(ref))
						} else {
							alts = append(alts, schemaType(m))
						}
					}
				}
				return "one of: " + strings.Join(alts, ", ")
			}
		}
		return "any"
	}
	return strings.Join(types, " or ")
}

// refName is the last part of a $ref.
func refName(ref string) string {
	if i := strings.LastIndexByte(ref, '/'); i >= 0 {
		return ref[i+1:]
	}
	return ref
}

// schemaNotes lists a schema's constraints in words.
func schemaNotes(s map[string]any) []string {
	var notes []string
	if f := str(s["format"]); f != "" {
		notes = append(notes, "format: "+f)
	}
	if c, ok := s["const"]; ok {
		notes = append(notes, "always "+jsonText(c))
	}
	if list, ok := s["enum"].([]any); ok {
		vals := make([]string, len(list))
		for i, v := range list {
			vals[i] = jsonText(v)
		}
		notes = append(notes, "one of: "+strings.Join(vals, ", "))
	}
	for _, b := range []struct{ kw, words string }{
		{"minimum", "at least"}, {"exclusiveMinimum", "more than"},
		{"maximum", "at most"}, {"exclusiveMaximum", "less than"},
		{"minLength", "length at least"}, {"maxLength", "length at most"},
		{"minItems", "items at least"}, {"maxItems", "items at most"},
	} {
		if v, ok := s[b.kw].(float64); ok {
			notes = append(notes, b.words+" "+strconv.FormatFloat(v, 'f', -1, 64))
		}
	}
	if p := str(s["pattern"]); p != "" {
		notes = append(notes, "matches "+p)
	}
	if d, ok := s["default"]; ok {
		notes = append(notes, "default "+jsonText(d))
	}
	if dep, ok := s["deprecated"].(bool); ok && dep {
		notes = append(notes, "deprecated")
	}
	return notes
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
