package main

import (
	"bytes"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
	"github.com/hookrelay/hookrelay/internal/store/sealed"
	"github.com/hookrelay/hookrelay/internal/store/sqlite"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func testKey(id string, b byte) string {
	return id + ":" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, sealed.KeySize))
}

// createEndpoint stores an endpoint with a secret and a sensitive header
// through st and returns it.
func createEndpoint(t *testing.T, st store.Store, envID string) *hookrelay.Endpoint {
	t.Helper()
	app := &hookrelay.Application{EnvID: envID, Name: "acme"}
	if err := st.CreateApplication(t.Context(), app); err != nil {
		t.Fatal(err)
	}
	ep := &hookrelay.Endpoint{AppID: app.ID, URL: "https://example.com", Secret: "whsec_cGxhaW50ZXh0LXNlY3JldA==",
		Headers: map[string]string{"Authorization": "Bearer plain"}, Sensitive: []string{"Authorization"}}
	if err := st.CreateEndpoint(t.Context(), ep); err != nil {
		t.Fatal(err)
	}
	return ep
}

// rawSecret reads the endpoint's stored secret without any keys.
func rawSecret(t *testing.T, dbPath string, ep *hookrelay.Endpoint) string {
	t.Helper()
	s, err := sqlite.Open(t.Context(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.GetEndpoint(t.Context(), ep.AppID, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got.Secret
}

func TestSQLiteKeyFileGeneratedOnFirstStart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "hookrelay.db")
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	st, err := openStoreWith(t.Context(), db, envOf(nil), logger)
	if err != nil {
		t.Fatal(err)
	}
	ep := createEndpoint(t, st, hookrelay.DefaultEnvironment)
	st.Close()

	fi, err := os.Stat(db + ".key")
	if err != nil {
		t.Fatalf("no key file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	content, err := os.ReadFile(db + ".key")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := sealed.ParseKeys(string(content))
	if err != nil {
		t.Fatalf("key file %q: %v", content, err)
	}
	if !strings.Contains(logs.String(), "generated the key") || strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("first start of a new database should say it generated a key, without warning:\n%s", logs.String())
	}
	raw := rawSecret(t, db, ep)
	if id, _ := sealed.SealedWith(raw); id != keys.CurrentID() {
		t.Fatalf("stored secret %q is not sealed with the key file's key %s", raw, keys.CurrentID())
	}

	// The next start reuses the file and reads what the first one wrote.
	logs.Reset()
	st, err = openStoreWith(t.Context(), db, envOf(nil), logger)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.GetEndpoint(t.Context(), ep.AppID, ep.ID)
	if err != nil || got.Secret != ep.Secret || got.Headers["Authorization"] != "Bearer plain" {
		t.Fatalf("second start reads %+v, %v", got, err)
	}
	if again, _ := os.ReadFile(db + ".key"); !bytes.Equal(again, content) {
		t.Error("the key file changed on the second start")
	}
	if logs.Len() != 0 {
		t.Errorf("second start logged:\n%s", logs.String())
	}
}

func TestKeyFileForAnExistingDatabaseWarns(t *testing.T) {
	db := filepath.Join(t.TempDir(), "old.db")
	s, err := sqlite.Open(t.Context(), db) // a database from before encryption
	if err != nil {
		t.Fatal(err)
	}
	ep := createEndpoint(t, s, hookrelay.DefaultEnvironment)
	s.Close()
	var logs bytes.Buffer
	st, err := openStoreWith(t.Context(), "sqlite:"+db, envOf(nil), slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "existed already") {
		t.Errorf("want a warning about the existing database:\n%s", logs.String())
	}
	if got, err := st.GetEndpoint(t.Context(), ep.AppID, ep.ID); err != nil || got.Secret != ep.Secret {
		t.Fatalf("plaintext row: %+v, %v", got, err)
	}
}

func TestConfiguredKeys(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "keys")
	if err := os.WriteFile(keyFile, []byte(testKey("kfile", 3)+"\n"+testKey("kold", 4)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantID  string
		wantErr string
	}{
		{"environment", map[string]string{encryptionKeysEnv: testKey("kenv", 1) + "," + testKey("kold", 2)}, "kenv", ""},
		{"file", map[string]string{encryptionKeysFileEnv: keyFile}, "kfile", ""},
		{"environment wins over file", map[string]string{encryptionKeysEnv: testKey("kenv", 1), encryptionKeysFileEnv: keyFile}, "kenv", ""},
		{"bad keys", map[string]string{encryptionKeysEnv: "k1:short"}, "", "HOOKRELAY_ENCRYPTION_KEYS: parse keys"},
		{"missing file", map[string]string{encryptionKeysFileEnv: filepath.Join(dir, "nope")}, "", "HOOKRELAY_ENCRYPTION_KEYS_FILE"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := filepath.Join(dir, "db"+string(rune('a'+i)))
			st, err := openStoreWith(t.Context(), db, envOf(tt.env), slog.New(slog.DiscardHandler))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
				}
				if _, err := os.Stat(db); err == nil {
					t.Error("the database was created although the keys are bad")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ep := createEndpoint(t, st, hookrelay.DefaultEnvironment)
			st.Close()
			if id, _ := sealed.SealedWith(rawSecret(t, db, ep)); id != tt.wantID {
				t.Errorf("sealed with %q, want %q", id, tt.wantID)
			}
			if _, err := os.Stat(db + ".key"); err == nil {
				t.Error("a key file was generated although keys are configured")
			}
		})
	}
}

func TestPostgresWithoutKeysWarns(t *testing.T) {
	var logs bytes.Buffer
	k, err := loadKeyring(envOf(nil), "", false, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil || k != nil {
		t.Fatalf("got %v, %v; want no keyring", k, err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "unencrypted") {
		t.Errorf("want a warning:\n%s", logs.String())
	}
}

func TestCreateKeyFileKeepsTheFirst(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.key")
	created, err := createKeyFile(path, "first\n")
	if err != nil || !created {
		t.Fatalf("first: %v, %v", created, err)
	}
	created, err = createKeyFile(path, "second\n")
	if err != nil || created {
		t.Fatalf("second: %v, %v", created, err)
	}
	if b, _ := os.ReadFile(path); string(b) != "first\n" {
		t.Fatalf("content %q", b)
	}
	if m, _ := filepath.Glob(path + ".tmp*"); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

func TestKeysGenerate(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"keys", "generate"}, envOf(nil), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(out.String())
	if !strings.HasPrefix(line, "k"+time.Now().UTC().Format("20060102")) {
		t.Errorf("key %q", line)
	}
	if _, err := sealed.ParseKeys(line); err != nil {
		t.Fatalf("generated key does not parse: %v", err)
	}
	if err := run(t.Context(), []string{"keys", "nope"}, envOf(nil), &out, &errOut); err == nil {
		t.Error("unknown keys command accepted")
	}
}

func TestKeysReseal(t *testing.T) {
	db := filepath.Join(t.TempDir(), "hookrelay.db")
	oldKey, newKey := testKey("kold", 1), testKey("knew", 2)
	st, err := openStoreWith(t.Context(), db, envOf(map[string]string{encryptionKeysEnv: oldKey}), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	sandbox := &hookrelay.Environment{ID: hookrelay.NewID(hookrelay.PrefixEnv), Name: "sandbox"}
	if err := st.CreateEnvironment(t.Context(), sandbox); err != nil {
		t.Fatal(err)
	}
	eps := []*hookrelay.Endpoint{createEndpoint(t, st, hookrelay.DefaultEnvironment), createEndpoint(t, st, sandbox.ID)}
	st.Close()

	env := envOf(map[string]string{encryptionKeysEnv: newKey + "," + oldKey})
	var out, errOut bytes.Buffer
	err = run(t.Context(), []string{"keys", "reseal", "--database-url", db, "--environments", "default, sandbox"}, env, &out, &errOut)
	if err != nil {
		t.Fatalf("reseal: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "resealed 2 of 2 endpoints") || !strings.Contains(out.String(), "knew") {
		t.Errorf("output %q", out.String())
	}
	for _, ep := range eps {
		if id, _ := sealed.SealedWith(rawSecret(t, db, ep)); id != "knew" {
			t.Errorf("endpoint %s sealed with %q after reseal", ep.ID, id)
		}
	}
	// The old key can go now.
	st, err = openStoreWith(t.Context(), db, envOf(map[string]string{encryptionKeysEnv: newKey}), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, ep := range eps {
		if got, err := st.GetEndpoint(t.Context(), ep.AppID, ep.ID); err != nil || got.Secret != ep.Secret {
			t.Fatalf("read with the new key alone: %+v, %v", got, err)
		}
	}

	err = run(t.Context(), []string{"keys", "reseal", "--database-url", db, "--environments", "nope"}, env, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), `no environment named "nope"`) {
		t.Errorf("unknown environment: %v", err)
	}
}
