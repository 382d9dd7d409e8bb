package portal

import (
	"strconv"
	"strings"
	"time"
)

// Template functions of the endpoints, secret, catalog and console pages.
func init() {
	funcs["join"] = strings.Join
	funcs["plural"] = plural
	funcs["timeptr"] = func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return fmtTime(*t)
	}
	funcs["ago"] = func(now, t time.Time) string { return ago(now.Sub(t)) }
	funcs["until"] = func(now, t time.Time) string { return ago(t.Sub(now)) }
}

// ago says how long a duration is, roughly: "3 min", "2 h", "5 days".
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "less than a minute"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int(d/(24*time.Hour)), "day")
}

func itoa(n int) string { return strconv.Itoa(n) }

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
