package portal

import (
	"net/url"
	"time"
)

// The API's JSON objects as the pages read them (a subset of each), in the
// current document's shape: the in-process calls name no SDK version.

type endpointJSON struct {
	ID          string            `json:"id"`
	UID         *string           `json:"uid"`
	URL         string            `json:"url"`
	Description string            `json:"description"`
	RateLimit   *int              `json:"throttleRate"`
	FilterTypes []string          `json:"eventTypes"`
	Channels    []string          `json:"channels"`
	Disabled    bool              `json:"disabled"`
	Metadata    map[string]string `json:"metadata"`
	CreatedAt   time.Time         `json:"createdAt"`
	UpdatedAt   time.Time         `json:"updatedAt"`
}

// listPage is one page of an API list route's answer.
type listPage[T any] struct {
	Data     []T     `json:"data"`
	Iterator *string `json:"iterator"`
	Done     bool    `json:"done"`
}

type endpointList = listPage[endpointJSON]

type optionsJSON struct {
	Method         string    `json:"method"`
	TimeoutSeconds *int      `json:"timeoutSeconds"`
	RetrySchedule  []float64 `json:"retrySchedule"`
	MaxInFlight    *int      `json:"maxInFlight"`
}

type headersJSON struct {
	Headers   map[string]string `json:"headers"`
	Sensitive []string          `json:"sensitive"`
}

type healthJSON struct {
	Totals struct {
		Total       int64    `json:"total"`
		SuccessRate *float64 `json:"successRate"`
	} `json:"totals"`
	LastAttempt         *lastAttemptJSON `json:"lastAttempt"`
	ConsecutiveFailures int              `json:"consecutiveFailures"`
	LastSuccessAt       *time.Time       `json:"lastSuccessAt"`
	FailingSince        *time.Time       `json:"failingSince"`
	Disabled            *disabledJSON    `json:"disabled"`
}

// summaryList is the answer of the summary route: each endpoint's health
// as the health route gives it, without buckets.
type summaryList struct {
	Data []struct {
		EndpointID string `json:"endpointId"`
		healthJSON
	} `json:"data"`
}

// disabledJSON is why an endpoint is disabled (the health route's
// "disabled").
type disabledJSON struct {
	Reason              string     `json:"reason"` // manual, failing, gone, unknown
	At                  *time.Time `json:"at"`
	By                  *string    `json:"by"` // admin or portal, for manual
	FailingSince        *time.Time `json:"failingSince"`
	ConsecutiveFailures int        `json:"consecutiveFailures"`
	LastOutcome         *string    `json:"lastOutcome"`
	LastStatusCode      *int       `json:"lastResponseStatusCode"`
}

type lastAttemptJSON struct {
	Timestamp          time.Time `json:"timestamp"`
	Outcome            string    `json:"outcome"`
	ResponseStatusCode int       `json:"responseStatusCode"`
}

type eventTypeJSON struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Archived    bool    `json:"archived"`
	Deprecated  bool    `json:"deprecated"`
	Schemas     rawJSON `json:"schemas"`
	GroupName   *string `json:"groupName"`
}

type eventTypeList = listPage[eventTypeJSON]

type appJSON struct {
	ID   string  `json:"id"`
	UID  *string `json:"uid"`
	Name string  `json:"name"`
}

type appList = listPage[appJSON]

// rawJSON keeps a JSON value's bytes.
type rawJSON []byte

func (r *rawJSON) UnmarshalJSON(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}

// pathEscape escapes one path segment of an API path.
func pathEscape(s string) string { return url.PathEscape(s) }
