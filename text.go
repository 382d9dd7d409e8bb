package hookrelay

import (
	"strings"
	"unicode/utf8"
)

// CleanText returns s as text every store keeps as is: valid UTF-8 without
// NUL. Each NUL and each byte that does not start a valid UTF-8 sequence
// becomes U+FFFD. s is returned unchanged (not copied) when it is already
// clean, which is the common case.
func CleanText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return replaceInvalid(s, true)
}

// ValidUTF8 returns s decoded as UTF-8 with each byte that does not start
// a valid sequence replaced by U+FFFD, as encoding/json and a range over
// the string decode it; NUL and other control characters stay. s is
// returned unchanged when it is valid.
func ValidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return replaceInvalid(s, false)
}

// replaceInvalid replaces each invalid byte of s, and each NUL when nul is
// set, with U+FFFD.
func replaceInvalid(s string, nul bool) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || (nul && r == 0) {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
