package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseDelay(t *testing.T) {
	tests := []struct {
		in     string
		lo, hi time.Duration
		err    bool
	}{
		{"0", 0, 0, false},
		{"200ms", 200 * time.Millisecond, 200 * time.Millisecond, false},
		{"50ms-500ms", 50 * time.Millisecond, 500 * time.Millisecond, false},
		{" 1s - 2s ", time.Second, 2 * time.Second, false},
		{"500ms-50ms", 0, 0, true},
		{"-5ms", 0, 0, true},
		{"fast", 0, 0, true},
		{"50ms-", 0, 0, true},
	}
	for _, tt := range tests {
		lo, hi, err := parseDelay(tt.in)
		if (err != nil) != tt.err || lo != tt.lo || hi != tt.hi {
			t.Errorf("parseDelay(%q) = %v, %v, %v; want %v, %v, error %v", tt.in, lo, hi, err, tt.lo, tt.hi, tt.err)
		}
	}
}

// TestBenchFlagsRefused: bad values of the far-receiver flags stop bench
// before it starts anything.
func TestBenchFlagsRefused(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--receiver-delay", "500ms-50ms"}, "--receiver-delay"},
		{[]string{"--receiver-delay", "soon"}, "--receiver-delay"},
		{[]string{"--apps", "0"}, "at least 1"},
		{[]string{"--apps", "20", "--endpoints", "10"}, "--apps 20 is more than --endpoints 10"},
		{[]string{"--struggle", "maybe"}, `--struggle "maybe"`},
		{[]string{"--receiver-hosts", "0"}, "--receiver-hosts must be at least 1"},
		{[]string{"--receiver-tls", "--url", "http://127.0.0.1:1"}, "--receiver-tls needs a server the tool starts"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			err := benchCmd(context.Background(), tt.args, func(string) string { return "" }, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one with %q", err, tt.want)
			}
		})
	}
}
