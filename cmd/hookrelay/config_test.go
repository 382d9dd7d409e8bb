package main

import (
	"io"
	"slices"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/internal/api"
	"github.com/hookrelay/hookrelay/internal/delivery"
	"github.com/hookrelay/hookrelay/internal/ops"
)

// With no flag and no environment, serve runs with the packages' own
// defaults: the flag defaults are derived from them, not copied.
func TestServeDefaultsAreThePackageDefaults(t *testing.T) {
	c, err := parseServe(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.RetrySchedule, delivery.DefaultRetrySchedule) {
		t.Errorf("retry schedule %v, want %v", c.RetrySchedule, delivery.DefaultRetrySchedule)
	}
	for _, tt := range []struct {
		name      string
		got, want any
	}{
		{"retry jitter", c.RetryJitter, delivery.DefaultJitter},
		{"timeout", c.Timeout, delivery.DefaultTimeout},
		{"workers", c.Workers, delivery.WorkersFor(openFileLimit())},
		{"max in flight", c.MaxInFlight, delivery.DefaultMaxInFlightPerEndpoint},
		{"max idle conns", c.MaxIdleConns, delivery.WorkersFor(openFileLimit())},
		{"lease ttl", c.LeaseTTL, delivery.DefaultLeaseTTL},
		{"poll interval", c.PollInterval, delivery.DefaultPollInterval},
		{"shutdown grace", c.ShutdownGrace, delivery.DefaultShutdownGrace},
		{"max endpoints per app", c.MaxEndpointsPerApp, api.DefaultMaxEndpointsPerApp},
		{"max body bytes", c.MaxBodyBytes, int64(api.DefaultMaxBodyBytes)},
		{"max body bytes in flight", c.MaxBodyBytesInFlight, int64(api.DefaultMaxBodyBytesInFlight)},
		{"task batch size", c.TaskBatchSize, ops.DefaultBatchSize},
		{"retention", c.Retention, api.DefaultPayloadRetention},
		{"history retention", c.HistoryRetention, ops.DefaultHistoryRetention},
		{"clean interval", c.CleanInterval, ops.DefaultCleanInterval},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		5 * time.Second: "5s", 5 * time.Minute: "5m", 2 * time.Hour: "2h",
		90 * time.Minute: "1h30m", 1500 * time.Millisecond: "1.5s", 61 * time.Second: "1m1s",
	} {
		got := shortDuration(d)
		if got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := time.ParseDuration(got); err != nil || back != d {
			t.Errorf("%q parses back as %v (%v)", got, back, err)
		}
	}
}
