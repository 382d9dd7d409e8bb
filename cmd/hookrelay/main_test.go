package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

func TestRunHelpAndUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantErr  error  // nil: success, unless wantText names the error
		wantText string // in the output, or in the error when wantErr is errAny
	}{
		{"serve help", []string{"serve", "-h"}, flag.ErrHelp, "HOOKRELAY_DATABASE_URL"},
		{"top-level help", []string{"help"}, nil, "hookrelay serve"},
		{"no command", nil, errUsage, "Usage:"},
		{"unknown command", []string{"serv"}, errUsage, `unknown command "serv"`},
		{"version", []string{"version"}, nil, "hookrelay "},
		{"bad flag value", []string{"serve", "--workers", "0"}, errAny, "must be at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(t.Context(), tt.args, func(string) string { return "" }, &out, &out)
			switch {
			case tt.wantErr == errAny:
				if err == nil || !strings.Contains(err.Error(), tt.wantText) {
					t.Fatalf("err = %v, want one saying %q", err, tt.wantText)
				}
				return
			case tt.wantErr == nil && err != nil:
				t.Fatalf("err = %v", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(out.String(), tt.wantText) {
				t.Fatalf("output does not mention %q:\n%s", tt.wantText, out.String())
			}
		})
	}
}

// errAny stands for "some error" in TestRunHelpAndUsage.
var errAny = errors.New("any error")
