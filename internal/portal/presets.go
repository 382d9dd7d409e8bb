package portal

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header presets offered by the endpoint form. The API validates the
// header that results (name, value, limits) and decides whether its value
// is sensitive (hidden when read back); the presets only build it.
const (
	presetBearer = "bearer" // Authorization: Bearer <token>
	presetBasic  = "basic"  // Authorization: Basic base64(user:password)
	presetToken  = "token"  // <name, X-WEBHOOK-TOKEN by default>: <token>
	presetCustom = "custom" // any name and value
)

// defaultTokenHeader is the name the token preset uses when none is given.
const defaultTokenHeader = "X-WEBHOOK-TOKEN"

// headerInput is the "add a header" part of the endpoint form.
type headerInput struct {
	Preset   string
	Name     string // token and custom
	Value    string // bearer token, token, custom value
	User     string // basic
	Password string // basic
}

// fieldError is a message for one form field.
type fieldError struct {
	Field string
	Msg   string
}

func (e *fieldError) Error() string { return e.Field + ": " + e.Msg }

// build returns the header the input describes, or the field to correct.
// An input with no preset and nothing typed returns ok false and no error:
// no header is to be added.
func (in headerInput) build() (name, value string, ok bool, err error) {
	switch in.Preset {
	case "":
		if in.Name == "" && in.Value == "" && in.User == "" && in.Password == "" {
			return "", "", false, nil
		}
		return "", "", false, &fieldError{"header_preset", "choose the kind of header"}
	case presetBearer:
		tok := strings.TrimSpace(in.Value)
		if tok == "" {
			return "", "", false, &fieldError{"header_value", "enter the token"}
		}
		return "Authorization", "Bearer " + tok, true, nil
	case presetBasic:
		if in.User == "" {
			return "", "", false, &fieldError{"header_user", "enter the user name"}
		}
		if strings.Contains(in.User, ":") {
			return "", "", false, &fieldError{"header_user", "a user name for Basic authentication cannot contain a colon"}
		}
		creds := base64.StdEncoding.EncodeToString([]byte(in.User + ":" + in.Password))
		return "Authorization", "Basic " + creds, true, nil
	case presetToken:
		n := strings.TrimSpace(in.Name)
		if n == "" {
			n = defaultTokenHeader
		}
		if in.Value == "" {
			return "", "", false, &fieldError{"header_value", "enter the token"}
		}
		return n, in.Value, true, nil
	case presetCustom:
		n := strings.TrimSpace(in.Name)
		if n == "" {
			return "", "", false, &fieldError{"header_name", "enter the header name"}
		}
		return n, in.Value, true, nil
	}
	return "", "", false, &fieldError{"header_preset", "unknown kind of header"}
}

// parseRetrySchedule reads the retry schedule field: empty means the
// server default (nil), "none" means no retries (empty, non-nil), else a
// list of delays separated by commas or spaces, each a number of seconds
// or a duration such as 30s, 5m, 2h, 1h30m or 1d.
func parseRetrySchedule(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if strings.EqualFold(s, "none") {
		return []int{}, nil
	}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == ';' })
	out := make([]int, 0, len(fields))
	for _, f := range fields {
		d, err := parseDelay(f)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// parseDelay reads one delay as whole seconds.
func parseDelay(f string) (int, error) {
	if n, err := strconv.Atoi(f); err == nil {
		return n, nil
	}
	days := 0
	rest := f
	if i := strings.IndexByte(f, 'd'); i > 0 {
		n, err := strconv.Atoi(f[:i])
		if err != nil {
			return 0, fmt.Errorf("%q is not a delay: use seconds or a duration such as 30s, 5m, 2h or 1d", f)
		}
		days, rest = n, f[i+1:]
	}
	var d time.Duration
	if rest != "" {
		var err error
		d, err = time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("%q is not a delay: use seconds or a duration such as 30s, 5m, 2h or 1d", f)
		}
	}
	d += time.Duration(days) * 24 * time.Hour
	if d%time.Second != 0 {
		return 0, fmt.Errorf("%q is not a whole number of seconds", f)
	}
	return int(d / time.Second), nil
}

// formatRetrySchedule shows a schedule in seconds (as the API answers it)
// the way parseRetrySchedule reads it; nil is "" (server default).
func formatRetrySchedule(secs []float64) string {
	if secs == nil {
		return ""
	}
	if len(secs) == 0 {
		return "none"
	}
	parts := make([]string, len(secs))
	for i, s := range secs {
		parts[i] = formatDelay(time.Duration(s * float64(time.Second)))
	}
	return strings.Join(parts, ", ")
}

// formatDelay writes d compactly: 30s, 5m, 2h, 1h30m, 1d.
func formatDelay(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		unit time.Duration
		sfx  string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.unit; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.sfx)
			d -= n * u.unit
		}
	}
	if b.Len() == 0 {
		return d.String()
	}
	return b.String()
}

// urlRules are the endpoint URL rules shown next to the URL field before
// anything is typed, so that nobody learns them from a refusal.
func urlRules(httpsOnly bool, exempt []string) []string {
	rules := []string{"An absolute URL that starts with https:// (or http://), such as https://example.com/webhooks."}
	if httpsOnly {
		r := "This server delivers only to https:// URLs"
		if len(exempt) > 0 {
			r += "; plain http:// is allowed only for " + strings.Join(exempt, ", ")
		}
		rules = append(rules, r+".")
	}
	rules = append(rules,
		"Spaces and other special characters must be percent-encoded (a space is %20).",
		"Credentials in the URL (https://user:password@host/) are sent as Basic authentication and never shown again.")
	return rules
}
