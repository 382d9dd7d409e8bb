package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
	"github.com/hookrelay/hookrelay/internal/store/sealed"
)

// Encryption at rest of endpoint secrets and sensitive headers (package
// store/sealed). The keys come from, in order:
//
//   - HOOKRELAY_ENCRYPTION_KEYS: "id1:base64key1,id2:base64key2", the first
//     key encrypts, all decrypt;
//   - HOOKRELAY_ENCRYPTION_KEYS_FILE: a file holding the same, entries
//     separated by commas or newlines (for secret mounts);
//   - for a SQLite database only, the file "<database path>.key", created
//     with a new key on first start;
//   - none: PostgreSQL without keys stores secrets unencrypted, with a
//     warning at every start (several nodes must share one key, so hookrelay
//     cannot make one up).
const (
	encryptionKeysEnv     = "HOOKRELAY_ENCRYPTION_KEYS"
	encryptionKeysFileEnv = "HOOKRELAY_ENCRYPTION_KEYS_FILE"
)

// keyFileFor is the key file generated next to a SQLite database.
func keyFileFor(dbPath string) string { return dbPath + ".key" }

// loadKeyring returns the configured keyring, or nil when there is none.
// sqlitePath is the database file of a SQLite store, "" for PostgreSQL;
// dbExisted tells whether that file was there before this start.
func loadKeyring(getenv func(string) string, sqlitePath string, dbExisted bool, logger *slog.Logger) (*sealed.Keyring, error) {
	if v := getenv(encryptionKeysEnv); v != "" {
		k, err := sealed.ParseKeys(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", encryptionKeysEnv, err)
		}
		return k, nil
	}
	if f := getenv(encryptionKeysFileEnv); f != "" {
		k, err := readKeyFile(f, logger)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", encryptionKeysFileEnv, err)
		}
		return k, nil
	}
	if sqlitePath == "" {
		logger.Warn("endpoint secrets and sensitive headers are stored unencrypted: set " + encryptionKeysEnv +
			" (the same value on every node; make one with 'hookrelay keys generate')")
		return nil, nil
	}
	path := keyFileFor(sqlitePath)
	k, err := readKeyFile(path, logger)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	line, err := sealed.GenerateKey(time.Now())
	if err != nil {
		return nil, err
	}
	created, err := createKeyFile(path, line+"\n")
	if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	if !created { // another process made it first
		return readKeyFile(path, logger)
	}
	msg := "generated the key that encrypts endpoint secrets; back it up with the database, which cannot be read without it"
	if dbExisted {
		// Plaintext rows of an older database read fine and are sealed on
		// their next write; rows sealed with a lost key file do not open.
		logger.Warn(msg+" (the database existed already: if its secrets were encrypted, the previous key file is missing)", "file", path)
	} else {
		logger.Info(msg, "file", path)
	}
	k, err = sealed.ParseKeys(line)
	if err != nil {
		return nil, err
	}
	return k, nil
}

// readKeyFile parses a key file, warning when others may read it.
func readKeyFile(path string, logger *slog.Logger) (*sealed.Keyring, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		logger.Warn("the encryption key file can be read by other users; chmod 600 it", "file", path, "mode", fi.Mode().Perm().String())
	}
	k, err := sealed.ParseKeys(string(b))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

// createKeyFile writes content to path with mode 0600 unless path exists,
// and reports whether it wrote it. The file appears whole or not at all:
// it is written under a temporary name and linked into place.
func createKeyFile(path, content string) (bool, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return false, err
	}
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

const keysUsage = `Usage:
  hookrelay keys generate                 print a new key entry "ID:BASE64KEY"
  hookrelay keys reseal [flags]           re-encrypt stored secrets with the current key

Rotation: put a new key (hookrelay keys generate) first in
HOOKRELAY_ENCRYPTION_KEYS (or the key file), keeping the old one after it;
restart every node; run 'hookrelay keys reseal'; then remove the old key.
`

// keysCmd runs "hookrelay keys ...".
func keysCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return errUsage
	}
	switch args[0] {
	case "generate":
		if len(args) > 1 {
			fmt.Fprint(stderr, keysUsage)
			return errUsage
		}
		line, err := sealed.GenerateKey(time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, line)
		return nil
	case "reseal":
		return resealCmd(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, keysUsage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown keys command %q\n\n%s", args[0], keysUsage)
	return errUsage
}

// resealCmd rewrites, with the current key, every endpoint of the named
// environments that is stored in plaintext or under an older key.
func resealCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlagSet("keys reseal", getenv, stderr)
	var url, envs string
	databaseFlag(f, &url)
	f.str(&envs, "environments", "HOOKRELAY_RESEAL_ENVIRONMENTS", "default",
		"comma-separated names of the environments to walk (every environment holding endpoints must be named)")
	if err := f.Parse(args); err != nil {
		return err
	}
	if len(f.errs) > 0 {
		return f.errs[0]
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	st, keys, err := openStoreKeys(ctx, url, getenv, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	if keys == nil {
		return fmt.Errorf("keys reseal: no encryption key configured: set %s", encryptionKeysEnv)
	}
	var ids []string
	for _, name := range strings.Split(envs, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		env, err := st.GetEnvironmentByName(ctx, name)
		if errors.Is(err, hookrelay.ErrNotFound) {
			return fmt.Errorf("keys reseal: no environment named %q", name)
		}
		if err != nil {
			return fmt.Errorf("keys reseal: %w", err)
		}
		ids = append(ids, env.ID)
	}
	stats, err := keys.Reseal(ctx, st, ids)
	fmt.Fprintf(stdout, "resealed %d of %d endpoints (%d applications) with key %s\n",
		stats.Resealed, stats.Endpoints, stats.Applications, keys.CurrentID())
	for _, id := range stats.Unreadable {
		fmt.Fprintf(stdout, "cannot open endpoint %s with the configured keys\n", id)
	}
	return err
}

// openStoreKeys opens the database named by url and loads its keyring (nil
// when none is configured). The store returned is not wrapped.
func openStoreKeys(ctx context.Context, url string, getenv func(string) string, logger *slog.Logger) (store.Store, *sealed.Keyring, error) {
	path, isSQLite, err := sqlitePathOf(url)
	if err != nil {
		return nil, nil, err
	}
	var keys *sealed.Keyring
	if isSQLite {
		_, statErr := os.Stat(path)
		if keys, err = loadKeyring(getenv, path, statErr == nil, logger); err != nil {
			return nil, nil, err
		}
	} else if keys, err = loadKeyring(getenv, "", false, logger); err != nil {
		return nil, nil, err
	}
	st, err := openDatabase(ctx, url, logger)
	if err != nil {
		return nil, nil, err
	}
	return st, keys, nil
}
