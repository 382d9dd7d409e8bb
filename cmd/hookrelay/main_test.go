package main

import (
	"bytes"
	"errors"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/internal/store/sqlite"
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

// TestMigrate runs `hookrelay migrate` on a new SQLite file twice: the
// schema is created, the second run finds nothing to do, and a store
// opened afterwards works.
func TestMigrate(t *testing.T) {
	db := filepath.Join(t.TempDir(), "m.db")
	env := func(string) string { return "" }
	for i := 0; i < 2; i++ {
		var out bytes.Buffer
		if err := run(t.Context(), []string{"migrate", "--database-url", "sqlite:" + db}, env, &out, &out); err != nil {
			t.Fatalf("migrate run %d: %v\n%s", i+1, err, out.String())
		}
		if !strings.Contains(out.String(), "up to date") {
			t.Fatalf("migrate run %d said:\n%s", i+1, out.String())
		}
	}
	st, err := sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.GetEnvironmentByName(t.Context(), "default"); err != nil {
		t.Fatalf("default environment after migrate: %v", err)
	}
	var out bytes.Buffer
	if err := run(t.Context(), []string{"migrate", "--database-url", "postgres://nobody@127.0.0.1:1/none?connect_timeout=1"}, env, &out, &out); err == nil {
		t.Fatal("migrate against an unreachable database succeeded")
	}
}
