package main

import (
	"io"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/internal/delivery"
)

func TestMaxIdleConnsSetting(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want int
		err  string
	}{
		{name: "default: as many as --workers by default", want: delivery.WorkersFor(openFileLimit())},
		{name: "flag", args: []string{"--max-idle-conns", "64"}, want: 64},
		{name: "environment", env: map[string]string{"HOOKRELAY_MAX_IDLE_CONNS": "5000"}, want: 5000},
		{name: "flag wins", args: []string{"--max-idle-conns", "8"}, env: map[string]string{"HOOKRELAY_MAX_IDLE_CONNS": "5000"}, want: 8},
		{name: "zero", args: []string{"--max-idle-conns", "0"}, err: "must be at least 1"},
		{name: "not a number", env: map[string]string{"HOOKRELAY_MAX_IDLE_CONNS": "many"}, err: "HOOKRELAY_MAX_IDLE_CONNS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseServe(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.MaxIdleConns != tt.want {
				t.Fatalf("MaxIdleConns = %d, want %d", c.MaxIdleConns, tt.want)
			}
		})
	}
}
