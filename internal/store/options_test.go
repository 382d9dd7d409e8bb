package store

import (
	"reflect"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
)

func TestOptionsRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   hookrelay.EndpointOptions
	}{
		{"server defaults", hookrelay.EndpointOptions{}},
		{"no retries", hookrelay.EndpointOptions{RetrySchedule: []time.Duration{}}},
		{"everything", hookrelay.EndpointOptions{Method: "PUT", TimeoutSeconds: 12, MaxInFlight: 3,
			RetrySchedule: []time.Duration{1500 * time.Millisecond, time.Hour}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := EncodeOptions(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeOptions(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.in) {
				t.Fatalf("round trip of %+v gave %+v (stored %s)", tt.in, got, b)
			}
		})
	}
	if _, err := DecodeOptions([]byte(`{"retrySchedule":["soon"]}`)); err == nil {
		t.Fatal("a bad duration decoded without error")
	}
}
