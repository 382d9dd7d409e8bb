package api

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func TestInvalidUTF8NamesTheValue(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"top-level field", "{\"a\":\"\xff\"}", []string{"body", "a"}},
		{"after a closed object", "{\"a\":{\"b\":1},\"c\":\"x\xff\"}", []string{"body", "c"}},
		{"after a closed array", "{\"a\":[1,[2]],\"c\":\"\xff\"}", []string{"body", "c"}},
		{"in an array in an object in an array", "{\"a\":[1,2,{\"c\":[\"x\",\"\xff\"]}]}", []string{"body", "a", "2", "c", "1"}},
		{"in a key", "{\"a\":{\"k\xff\":1}}", []string{"body", "a"}},
		{"in a top-level key", "{\"k\xff\":1}", []string{"body"}},
		{"outside any value", "{\"a\":1}\xff", []string{"body"}},
		{"in malformed JSON", "{\"a\":\xff}", []string{"body"}},
		{"a valid U+FFFD before", "{\"a\":\"\uFFFD\",\"b\":\"\xfe\"}", []string{"body", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ve, ok := invalidUTF8([]byte(tt.body)).(validationError)
			if !ok || len(ve) != 1 {
				t.Fatalf("got %v, want one validation error", ve)
			}
			if !slices.Equal(ve[0].Loc, tt.want) || ve[0].Msg != msgNotUTF8 {
				t.Errorf("loc %q msg %q, want %q %q", ve[0].Loc, ve[0].Msg, tt.want, msgNotUTF8)
			}
		})
	}
}

func TestNULFieldsWalksEveryBoundString(t *testing.T) {
	var in struct {
		messageIn
		Headers opt[map[string]*string] `json:"headers"`
		Options opt[endpointOptionsIn]  `json:"options"`
	}
	body := `{"eventType":"e\u0000","payload":{"p":"\u0000"},"tags":["ok","t\u0000"],
		"application":{"name":"n\u0000","metadata":{"k\u0000":"v","k":"v\u0000"}},
		"transformationsParams":{"x":"\u0000"},
		"headers":{"H":null,"X":"\u0000"},"options":{"method":"\u0000"}}`
	r := httptest.NewRequest("POST", "/", strings.NewReader(body))
	if err := decodeBody(r, &in); err == nil {
		t.Fatal("no error")
	} else {
		ve := err.(validationError)
		var got []string
		for _, f := range ve {
			got = append(got, f.Loc...)
			got = append(got, "|")
		}
		want := []string{
			"body", "eventType", "|",
			"body", "tags", "1", "|",
			"body", "application", "name", "|",
			"body", "application", "metadata", "k", "|",
			"body", "application", "metadata", "k\x00", "|",
			"body", "headers", "X", "|",
			"body", "options", "method", "|",
		}
		if !slices.Equal(got, want) {
			t.Errorf("got %q\nwant %q", got, want)
		}
	}
}
