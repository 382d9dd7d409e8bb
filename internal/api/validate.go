package api

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hookrelay/hookrelay"
)

var (
	// namePattern is Svix's pattern for uids, eventIds, event type names,
	// tags, feature flags and group names.
	namePattern = regexp.MustCompile(`^[a-zA-Z0-9\-_.]+$`)
	// channelPattern also allows ':'.
	channelPattern = regexp.MustCompile(`^[a-zA-Z0-9\-_.:]+$`)
	secretPattern  = regexp.MustCompile(`^(whsec_)?[a-zA-Z0-9+/=]{32,100}$`)
)

// checker collects validation problems of one request body.
type checker struct {
	errs validationError
}

func (c *checker) add(msg string, loc ...string) {
	c.errs = append(c.errs, fieldError{Loc: append([]string{"body"}, loc...), Msg: msg, Type: "value_error"})
}

func (c *checker) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return c.errs
}

// required reports a missing or null required field.
func (c *checker) required(set, null bool, loc ...string) bool {
	if !set {
		c.errs = append(c.errs, fieldError{Loc: append([]string{"body"}, loc...), Msg: "field required", Type: "value_error.missing"})
		return false
	}
	if null {
		c.errs = append(c.errs, fieldError{Loc: append([]string{"body"}, loc...), Msg: "none is not an allowed value", Type: "type_error.none.not_allowed"})
		return false
	}
	return true
}

// notNull reports a null given for a field that is optional but not
// nullable.
func (c *checker) notNull(set, null bool, loc ...string) {
	if set && null {
		c.errs = append(c.errs, fieldError{Loc: append([]string{"body"}, loc...), Msg: "none is not an allowed value", Type: "type_error.none.not_allowed"})
	}
}

// check adds msg when it is not empty.
func (c *checker) check(msg string, loc ...string) {
	if msg != "" {
		c.add(msg, loc...)
	}
}

// checkName validates a uid, eventId, event type name or tag: Svix's name
// pattern, 1 to max characters. It returns the problem or "".
func checkName(s string, max int) string {
	switch {
	case s == "":
		return "must not be empty"
	case len(s) > max:
		return fmt.Sprintf("must be at most %d characters", max)
	case !namePattern.MatchString(s):
		return "must match " + namePattern.String()
	}
	return ""
}

func checkUID(s string) string { return checkName(s, 256) }

func checkChannel(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case len(s) > 128:
		return "must be at most 128 characters"
	case !channelPattern.MatchString(s):
		return "must match " + channelPattern.String()
	}
	return ""
}

func checkTag(s string) string { return checkName(s, 128) }

// checkFilterType accepts an event type name, a family pattern such as
// "contact.*" (see hookrelay.MatchesEventType) or a lone "*".
func checkFilterType(s string) string {
	if s == "*" {
		return ""
	}
	if prefix, ok := strings.CutSuffix(s, ".*"); ok {
		if checkName(prefix, 254) == "" {
			return ""
		}
		return "family pattern must be a name followed by .*"
	}
	return checkName(s, 256)
}

// checkURL accepts absolute http and https URLs with a host, in the form
// they are sent: no space, control character or DEL anywhere (percent-encode
// them; a request line cannot carry them), a port from 1 to 65535 when one
// is given, and an ASCII host (an internationalized name in its punycode
// form). Credentials ("https://user:password@host/") are allowed; they are
// sent as Basic authentication and never shown. The problem it returns
// never quotes the URL, which may hold a password.
func checkURL(s string) string {
	if s == "" {
		return "must not be empty"
	}
	if len(s) > 65536 {
		return "must be at most 65536 characters"
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; b <= ' ' || b == 0x7f {
			return "must not contain spaces or control characters: percent-encode them (a space is %20)"
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL
		}
		return "must be an absolute http or https URL: " + err.Error()
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return "must be an absolute http or https URL"
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "port must be between 1 and 65535"
		}
	}
	for _, r := range u.Hostname() {
		if r >= utf8.RuneSelf {
			return "host must be ASCII: give an internationalized domain name in its punycode (xn--) form"
		}
	}
	if _, userinfo, _ := hookrelay.SplitURLUserinfo(s); strings.HasPrefix(userinfo, "sealed:") {
		// The form of credentials sealed at rest: stored without
		// encryption, they would read as a sealed value that does not open.
		return `credentials in the URL must not begin with "sealed:"`
	}
	return ""
}

func checkSecret(s string) string {
	if !secretPattern.MatchString(s) {
		return "must match " + secretPattern.String()
	}
	return ""
}

// checkList validates a list: item count within [min, max] (max 0: no
// bound), unique items, and each item with each.
func (c *checker) checkList(items []string, min, max int, each func(string) string, loc string) {
	if len(items) < min {
		c.add(fmt.Sprintf("must have at least %d item(s)", min), loc)
	}
	if max > 0 && len(items) > max {
		c.add(fmt.Sprintf("must have at most %d items", max), loc)
	}
	seen := make(map[string]bool, len(items))
	for i, it := range items {
		if msg := each(it); msg != "" {
			c.add(msg, loc, fmt.Sprint(i))
		}
		if seen[it] {
			c.add("items must be unique", loc, fmt.Sprint(i))
		}
		seen[it] = true
	}
}

// checkRateLimit accepts 1..65535 (uint16, minimum 1).
func checkRateLimit(n int) string {
	if n < 1 || n > 65535 {
		return "must be between 1 and 65535"
	}
	return ""
}

// normalizeSecret returns a secret with the whsec_ prefix.
func normalizeSecret(s string) string {
	if strings.HasPrefix(s, "whsec_") {
		return s
	}
	return "whsec_" + s
}
