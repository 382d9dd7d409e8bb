package api

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// exampleFromSchema makes a value that a JSON schema accepts, for
// send-example on an event type that has a schema but no example. It takes
// the schema's own examples, example, const, default or first enum value
// where there is one, and otherwise builds the value from the type: every
// property of an object, one item of an array (minItems of them), strings
// by format, numbers within their bounds. oneOf/anyOf take the first
// choice, allOf merges its objects, local $refs ("#/...") are followed.
// Nesting deeper than maxExampleDepth, or a schema it cannot read, is an
// error saying where.
func exampleFromSchema(schema json.RawMessage) (json.RawMessage, error) {
	var root any
	if err := json.Unmarshal(schema, &root); err != nil {
		return nil, fmt.Errorf("the schema is not JSON: %w", err)
	}
	g := exampleGen{root: root}
	v, err := g.value(root, "#", 0)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

const maxExampleDepth = 16

type exampleGen struct{ root any }

func (g *exampleGen) value(s any, at string, depth int) (any, error) {
	if depth > maxExampleDepth {
		return nil, fmt.Errorf("the schema nests deeper than %d levels at %s (a recursive $ref?)", maxExampleDepth, at)
	}
	switch t := s.(type) {
	case bool:
		if !t {
			return nil, fmt.Errorf("the schema at %s accepts no value", at)
		}
		return map[string]any{}, nil
	case map[string]any:
		return g.object(t, at, depth)
	}
	return nil, fmt.Errorf("the schema at %s is neither an object nor a boolean", at)
}

func (g *exampleGen) object(s map[string]any, at string, depth int) (any, error) {
	if ref, ok := s["$ref"].(string); ok {
		target, err := g.resolve(ref)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		return g.value(target, ref, depth+1)
	}
	if ex, ok := s["examples"].([]any); ok && len(ex) > 0 {
		return ex[0], nil
	}
	for _, k := range []string{"example", "const", "default"} {
		if v, ok := s[k]; ok {
			return v, nil
		}
	}
	if enum, ok := s["enum"].([]any); ok && len(enum) > 0 {
		return enum[0], nil
	}
	for _, k := range []string{"oneOf", "anyOf"} {
		if choices, ok := s[k].([]any); ok && len(choices) > 0 {
			return g.value(choices[0], at+"/"+k+"/0", depth+1)
		}
	}
	if all, ok := s["allOf"].([]any); ok && len(all) > 0 {
		merged := map[string]any{}
		for i, part := range all {
			v, err := g.value(part, fmt.Sprintf("%s/allOf/%d", at, i), depth+1)
			if err != nil {
				return nil, err
			}
			obj, ok := v.(map[string]any)
			if !ok {
				return v, nil
			}
			for k, e := range obj {
				merged[k] = e
			}
		}
		return merged, nil
	}
	typ := schemaType(s)
	switch typ {
	case "object":
		out := map[string]any{}
		props, _ := s["properties"].(map[string]any)
		for name, ps := range props {
			v, err := g.value(ps, at+"/properties/"+name, depth+1)
			if err != nil {
				return nil, err
			}
			out[name] = v
		}
		return out, nil
	case "array":
		n := 1
		if m, ok := s["minItems"].(float64); ok && m > 1 {
			n = int(math.Min(m, 10))
		}
		items, ok := s["items"]
		if !ok {
			return []any{}, nil
		}
		out := make([]any, 0, n)
		for range n {
			v, err := g.value(items, at+"/items", depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case "string":
		return exampleString(s), nil
	case "integer":
		return math.Trunc(exampleNumber(s, 1)), nil
	case "number":
		return exampleNumber(s, 0.5), nil
	case "boolean":
		return true, nil
	case "null":
		return nil, nil
	}
	return nil, fmt.Errorf("the schema at %s has no type, properties, example or choice to build a value from", at)
}

// schemaType is s's type: the first that is not "null" of a list, or
// "object" for a schema with properties and no type.
func schemaType(s map[string]any) string {
	switch t := s["type"].(type) {
	case string:
		return t
	case []any:
		for _, e := range t {
			if name, ok := e.(string); ok && name != "null" {
				return name
			}
		}
		if len(t) > 0 {
			return "null"
		}
	}
	if _, ok := s["properties"]; ok {
		return "object"
	}
	return ""
}

func exampleString(s map[string]any) string {
	var v string
	switch s["format"] {
	case "date-time":
		v = "2024-01-01T00:00:00Z"
	case "date":
		v = "2024-01-01"
	case "time":
		v = "00:00:00Z"
	case "email":
		v = "user@example.com"
	case "uri", "url":
		v = "https://example.com/"
	case "uuid":
		v = "00000000-0000-4000-8000-000000000000"
	case "ipv4":
		v = "192.0.2.1"
	case "ipv6":
		v = "2001:db8::1"
	default:
		v = "string"
	}
	if m, ok := s["minLength"].(float64); ok && int(m) > len(v) {
		v += strings.Repeat("x", int(m)-len(v))
	}
	if m, ok := s["maxLength"].(float64); ok && int(m) < len(v) {
		v = v[:int(m)]
	}
	return v
}

// exampleNumber is the lowest value the bounds allow, from 0; step is how
// far past an exclusive minimum it goes.
func exampleNumber(s map[string]any, step float64) float64 {
	v := 0.0
	if m, ok := s["minimum"].(float64); ok && m > v {
		v = m
	}
	if m, ok := s["exclusiveMinimum"].(float64); ok && m >= v {
		v = m + step
	}
	if m, ok := s["maximum"].(float64); ok && m < v {
		v = m
	}
	if m, ok := s["exclusiveMaximum"].(float64); ok && m <= v {
		v = m - step
	}
	return v
}

// resolve follows a local JSON pointer within the schema.
func (g *exampleGen) resolve(ref string) (any, error) {
	if ref == "#" {
		return g.root, nil
	}
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("$ref %q is not local to the schema", ref)
	}
	cur := g.root
	for _, part := range strings.Split(ref[2:], "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q points nowhere", ref)
		}
		if cur, ok = obj[part]; !ok {
			return nil, fmt.Errorf("$ref %q points nowhere", ref)
		}
	}
	return cur, nil
}
