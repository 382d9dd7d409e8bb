package hookrelay

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestCleanText(t *testing.T) {
	tests := []struct {
		name, in, clean, valid string
	}{
		{"empty", "", "", ""},
		{"ascii", "ok", "ok", "ok"},
		{"unicode", "h\u00e9llo \u2603", "h\u00e9llo \u2603", "h\u00e9llo \u2603"},
		{"nul", "a\x00b", "a\uFFFDb", "a\x00b"},
		{"0xff", "\xff\xfe", "\uFFFD\uFFFD", "\uFFFD\uFFFD"},
		{"cut sequence", "caf\xc3", "caf\uFFFD", "caf\uFFFD"},
		{"bad continuation", "caf\xc3(", "caf\uFFFD(", "caf\uFFFD("},
		{"surrogate", "\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD", "\uFFFD\uFFFD\uFFFD"},
		{"gzip header", "\x1f\x8b\x08\x00\x00\x00", "\x1f\uFFFD\x08\uFFFD\uFFFD\uFFFD", "\x1f\uFFFD\x08\x00\x00\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CleanText(tt.in); got != tt.clean {
				t.Errorf("CleanText(%q) = %q, want %q", tt.in, got, tt.clean)
			}
			if got := ValidUTF8(tt.in); got != tt.valid {
				t.Errorf("ValidUTF8(%q) = %q, want %q", tt.in, got, tt.valid)
			}
			if !utf8.ValidString(ValidUTF8(tt.in)) {
				t.Errorf("ValidUTF8(%q) is not valid UTF-8", tt.in)
			}
			// The API's view decodes as encoding/json would.
			b, _ := json.Marshal(tt.in)
			var viaJSON string
			if err := json.Unmarshal(b, &viaJSON); err != nil || viaJSON != tt.valid {
				t.Errorf("encoding/json reads %q as %q, ValidUTF8 as %q", tt.in, viaJSON, tt.valid)
			}
		})
	}
}
