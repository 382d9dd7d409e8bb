package portal

import (
	"reflect"
	"strings"
	"testing"
)

func TestSchemaDocs(t *testing.T) {
	const contact = `{"1": {
		"title": "Contact created",
		"description": "A contact was added.",
		"type": "object",
		"required": ["type", "data"],
		"properties": {
			"type": {"type": "string", "const": "contact.created"},
			"version": {"type": "string", "format": "date", "description": "Envelope version"},
			"data": {
				"type": "object",
				"required": ["id"],
				"properties": {
					"id": {"type": "string", "minLength": 1},
					"email": {"type": ["string", "null"], "format": "email"},
					"tags": {"type": "array", "items": {"type": "string"}, "maxItems": 10},
					"owner": {"$ref": "#/definitions/user", "description": "Who owns it"},
					"notes": {"type": "array", "items": {"$ref": "#/definitions/note"}},
					"stage": {"enum": ["lead", "customer"], "default": "lead"}
				}
			}
		},
		"definitions": {
			"user": {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer", "minimum": 1}}},
			"note": {"type": "object", "properties": {"text": {"type": "string"}, "next": {"$ref": "#/definitions/note"}}}
		},
		"examples": [{"type": "contact.created", "data": {"id": "c_1"}}]
	}}`
	docs, err := schemaDocs([]byte(contact))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 || docs[0].Version != "1" || docs[0].Title != "Contact created" || docs[0].Description != "A contact was added." {
		t.Fatalf("docs = %+v", docs)
	}
	type row struct {
		Path, Type string
		Depth      int
		Required   bool
		Notes      string
	}
	var got []row
	for _, r := range docs[0].Rows {
		got = append(got, row{r.Path, r.Type, r.Depth, r.Required, strings.Join(r.Notes, "; ")})
	}
	want := []row{
		{"data", "object", 0, true, ""},
		{"data.id", "string", 1, true, "length at least 1"},
		{"data.email", "string or null", 1, false, "format: email"},
		{"data.notes", "array of note", 1, false, ""},
		{"data.notes[].next", "object", 2, false, ""},
		{"data.notes[].next.next", "see #/definitions/note", 3, false, ""},
		{"data.notes[].next.text", "string", 3, false, ""},
		{"data.notes[].text", "string", 2, false, ""},
		{"data.owner", "object", 1, false, ""},
		{"data.owner.id", "integer", 2, true, "at least 1"},
		{"data.stage", "one of the values listed", 1, false, `one of: "lead", "customer"; default "lead"`},
		{"data.tags", "array of string", 1, false, "items at most 10"},
		{"type", "string", 0, true, `always "contact.created"`},
		{"version", "string", 0, false, "format: date"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows:\n got %+v\nwant %+v", got, want)
	}
	for _, r := range docs[0].Rows {
		if r.Path == "data.owner" && r.Description != "Who owns it" {
			t.Errorf("data.owner description = %q, want the one next to $ref", r.Description)
		}
	}
	if len(docs[0].Examples) != 1 || !strings.Contains(docs[0].Examples[0], "\n  \"data\": {\n    \"id\": \"c_1\"") {
		t.Errorf("examples = %q, want the example indented", docs[0].Examples)
	}
}

func TestSchemaDocsEdges(t *testing.T) {
	tests := []struct {
		name     string
		raw      string
		versions []string
		rows     int
		wantErr  bool
	}{
		{"none", ``, nil, 0, false},
		{"null", `null`, nil, 0, false},
		{"not an object", `[1]`, nil, 0, true},
		{"newest version first", `{"1": {"type": "object"}, "10": {"type": "object"}, "2": {"type": "string"}}`, []string{"10", "2", "1"}, 0, false},
		{"schema that is not an object", `{"1": true}`, []string{"1"}, 0, false},
		{"oneOf at the root", `{"1": {"oneOf": [{"properties": {"a": {"type": "string"}}}, {"properties": {"b": {"type": "integer"}}}]}}`, []string{"1"}, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := schemaDocs([]byte(tt.raw))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			var versions []string
			rows := 0
			for _, d := range docs {
				versions = append(versions, d.Version)
				rows += len(d.Rows)
			}
			if !reflect.DeepEqual(versions, tt.versions) || rows != tt.rows {
				t.Errorf("versions %q rows %d, want %q and %d", versions, rows, tt.versions, tt.rows)
			}
		})
	}
}
