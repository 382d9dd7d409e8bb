package hookrelay

import "strings"

// An endpoint URL may carry credentials, "https://user:password@host/path".
// They are a secret: sealed at rest, sent as Basic authentication, and
// never shown (API responses and attempts carry the URL without them). The
// functions here find them by position, without parsing and re-encoding
// the URL, so that the rest of the URL stays byte for byte as given.

// SplitURLUserinfo returns raw without its userinfo and the userinfo (the
// text between "scheme://" and the last '@' of the authority, without that
// '@'). ok is false, and rest is raw, when raw has no userinfo. An empty
// userinfo ("https://@host/") is reported with ok true.
//
// The authority ends at the first '/', '?' or '#' after "scheme://", and
// the userinfo at its last '@', as net/url reads them.
func SplitURLUserinfo(raw string) (rest, userinfo string, ok bool) {
	start, ok := authorityStart(raw)
	if !ok {
		return raw, "", false
	}
	end := len(raw)
	if i := strings.IndexAny(raw[start:], "/?#"); i >= 0 {
		end = start + i
	}
	at := strings.LastIndexByte(raw[start:end], '@')
	if at < 0 {
		return raw, "", false
	}
	return raw[:start] + raw[start+at+1:], raw[start : start+at], true
}

// JoinURLUserinfo puts userinfo into rest, a URL without one, so that
// SplitURLUserinfo of the result gives back rest and userinfo. rest is
// returned as it is when it has no "scheme://".
func JoinURLUserinfo(rest, userinfo string) string {
	start, ok := authorityStart(rest)
	if !ok {
		return rest
	}
	return rest[:start] + userinfo + "@" + rest[start:]
}

// URLWithoutUserinfo returns raw without its userinfo: the form of an
// endpoint URL that may be shown or recorded.
func URLWithoutUserinfo(raw string) string {
	rest, _, _ := SplitURLUserinfo(raw)
	return rest
}

// authorityStart returns the index just after raw's "scheme://", where a
// scheme is a letter followed by letters, digits, '+', '-' or '.'.
func authorityStart(raw string) (int, bool) {
	i := strings.Index(raw, "://")
	if i < 1 {
		return 0, false
	}
	for j := 0; j < i; j++ {
		c := raw[j]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (j == 0 || !('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return 0, false
		}
	}
	return i + 3, true
}
