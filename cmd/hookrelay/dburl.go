package main

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// redactMask replaces every password in a logged database URL.
const redactMask = "xxxxx"

// redactURL returns a database URL or connection string fit for logs and
// errors: the password of a URL's userinfo, the values of its password and
// sslpassword query parameters, and the password settings of a key=value
// connection string are replaced by xxxxx. A URL whose password holds an
// unescaped '@' is masked up to its last '@'; when an '@' stands after the
// host (a password with an unescaped '/', '?' or '#' splits the URL there)
// everything before that '@' is masked. Masking too much is preferred to
// leaking.
func redactURL(s string) string {
	scheme, rest, ok := cutPostgresScheme(s)
	if !ok {
		return redactKeyValues(s)
	}
	var b strings.Builder
	b.WriteString(scheme)
	authority := rest[:authorityEnd(rest)]
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		user, _, hasPassword := strings.Cut(rest[:at], ":")
		b.WriteString(user)
		if hasPassword {
			b.WriteString(":" + redactMask)
		}
		b.WriteByte('@')
		rest = rest[at+1:]
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		// An '@' after the host: where the userinfo ends is unknown.
		b.Reset()
		b.WriteString(scheme + redactMask + "@")
		rest = rest[at+1:]
	}
	path, query, hasQuery := strings.Cut(rest, "?")
	b.WriteString(path)
	if hasQuery {
		b.WriteByte('?')
		b.WriteString(redactQuery(query))
	}
	return b.String()
}

// cutPostgresScheme splits a postgres:// or postgresql:// URL after its
// scheme.
func cutPostgresScheme(s string) (scheme, rest string, ok bool) {
	for _, p := range []string{"postgres://", "postgresql://"} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			return p, rest, true
		}
	}
	return "", s, false
}

// authorityEnd is the length of the userinfo-and-hosts part of a URL
// without its scheme.
func authorityEnd(rest string) int {
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		return i
	}
	return len(rest)
}

// redactQuery masks the values of the password parameters of a URL query.
func redactQuery(query string) string {
	pairs := strings.Split(query, "&")
	for i, pair := range pairs {
		key, _, hasValue := strings.Cut(pair, "=")
		if !hasValue {
			continue
		}
		if k, err := url.QueryUnescape(key); err == nil {
			key = k
		}
		if isPasswordKey(key) {
			pairs[i] = pair[:strings.IndexByte(pair, '=')+1] + redactMask
		}
	}
	return strings.Join(pairs, "&")
}

func isPasswordKey(key string) bool {
	key = strings.ToLower(strings.TrimSpace(key))
	return key == "password" || key == "sslpassword"
}

// keyValuePassword matches a password setting of a key=value connection
// string: the value is a single-quoted string (backslash escapes inside,
// possibly unterminated) or runs to the next space.
var keyValuePassword = regexp.MustCompile(`(?i)(^|\s)((?:ssl)?password)\s*=\s*(?:'(?:[^'\\]|\\.)*'?|\S*)`)

// redactKeyValues masks the password settings of a key=value connection
// string; other strings come back unchanged.
func redactKeyValues(s string) string {
	return keyValuePassword.ReplaceAllString(s, "${1}${2}="+redactMask)
}

// checkPostgresURL refuses a postgres:// URL whose password is not
// percent-encoded where it must be: with an '@', or with a '/', '?' or '#'
// followed by an '@', the URL splits in the wrong place, and the driver
// would quote part of the password back as a host or a database name.
func checkPostgresURL(s string) error {
	_, rest, ok := cutPostgresScheme(s)
	if !ok {
		return nil
	}
	end := authorityEnd(rest)
	pathEnd := strings.IndexAny(rest, "?#")
	if pathEnd < 0 {
		pathEnd = len(rest)
	}
	if strings.Count(rest[:end], "@") > 1 || strings.Contains(rest[end:max(end, pathEnd)], "@") {
		return fmt.Errorf("database url %s: a character of the user name or password is not percent-encoded ('@' is %%40, '/' %%2F, '?' %%3F, '#' %%23, ':' in the user name %%3A)", redactURL(s))
	}
	return nil
}
