package store

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookrelay/hookrelay"
)

// storedOptions is the JSON form of hookrelay.EndpointOptions that every
// store keeps in its endpoints' options column. The retry schedule is a
// list of Go duration strings; null keeps "server default" apart from an
// empty schedule ("no retries").
type storedOptions struct {
	Method         string   `json:"method,omitempty"`
	TimeoutSeconds int      `json:"timeoutSeconds,omitempty"`
	RetrySchedule  []string `json:"retrySchedule"`
	MaxInFlight    int      `json:"maxInFlight,omitempty"`
}

// EncodeOptions returns the stored JSON form of an endpoint's options.
func EncodeOptions(o hookrelay.EndpointOptions) ([]byte, error) {
	so := storedOptions{Method: o.Method, TimeoutSeconds: o.TimeoutSeconds, MaxInFlight: o.MaxInFlight}
	if o.RetrySchedule != nil {
		so.RetrySchedule = make([]string, len(o.RetrySchedule))
		for i, d := range o.RetrySchedule {
			so.RetrySchedule[i] = d.String()
		}
	}
	return json.Marshal(so)
}

// DecodeOptions reads what EncodeOptions wrote.
func DecodeOptions(b []byte) (hookrelay.EndpointOptions, error) {
	var so storedOptions
	if err := json.Unmarshal(b, &so); err != nil {
		return hookrelay.EndpointOptions{}, fmt.Errorf("decode options: %w", err)
	}
	o := hookrelay.EndpointOptions{Method: so.Method, TimeoutSeconds: so.TimeoutSeconds, MaxInFlight: so.MaxInFlight}
	if so.RetrySchedule != nil {
		o.RetrySchedule = make([]time.Duration, len(so.RetrySchedule))
		for i, v := range so.RetrySchedule {
			d, err := time.ParseDuration(v)
			if err != nil {
				return hookrelay.EndpointOptions{}, fmt.Errorf("decode options: %w", err)
			}
			o.RetrySchedule[i] = d
		}
	}
	return o, nil
}
