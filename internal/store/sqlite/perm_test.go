//go:build unix

package sqlite

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestNewDatabaseIsPrivate opens a fresh path under the common umask 022
// and writes: the database file and its -wal and -shm files are readable
// by their owner only, like the key file beside them. An existing file
// keeps its mode.
func TestNewDatabaseIsPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)

	path := filepath.Join(t.TempDir(), "hookrelay.db")
	s := openTest(t, path)
	defer s.Close()
	newApp(t, s) // a write: the -wal and -shm files exist now
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s: mode %v, want -rw-------", filepath.Base(p), got)
		}
	}

	shared := filepath.Join(t.TempDir(), "shared.db")
	if err := os.WriteFile(shared, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	s2 := openTest(t, shared)
	defer s2.Close()
	if fi, err := os.Stat(shared); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("existing file: %v, %v; want its mode 0640 kept", fi.Mode(), err)
	}
}
