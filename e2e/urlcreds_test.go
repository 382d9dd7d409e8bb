package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestURLCredentials: an endpoint URL with credentials, through the real
// server on each database. The receiver gets them as Basic authentication;
// no API answer, attempt, log line or database row holds the password.
func TestURLCredentials(t *testing.T) {
	forEachDatabase(t, testURLCredentials)
}

func testURLCredentials(t *testing.T, db string) {
	const password = "pw-e2e-6b0d21f7"
	var env []string
	if db != "" {
		// PostgreSQL has no generated key: without one nothing is sealed.
		env = append(env, "HOOKRELAY_ENCRYPTION_KEYS=k1:"+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	}
	srv := startServer(t, serverOptions{DB: db, Env: env})
	rcv := newReceiver(t)
	shown := rcv.URL + "/hook"
	withCreds := strings.Replace(shown, "http://", "http://relay:"+password+"@", 1)

	call := func(method, path, body string, want int) []byte {
		t.Helper()
		status, b := srv.do(method, path, srv.Token, body)
		if status != want {
			t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, b)
		}
		if bytes.Contains(b, []byte(password)) {
			t.Fatalf("%s %s shows the password: %s", method, path, b)
		}
		return b
	}
	var app, ep, msg struct{ ID, URL string }
	_ = json.Unmarshal(call("POST", "/api/v1/app", `{"name":"creds"}`, 201), &app)
	_ = json.Unmarshal(call("POST", "/api/v1/app/"+app.ID+"/endpoint", `{"url":"`+withCreds+`"}`, 201), &ep)
	if ep.URL != shown {
		t.Fatalf("create answers url %q, want %q", ep.URL, shown)
	}
	var got struct{ URL string }
	_ = json.Unmarshal(call("GET", "/api/v1/app/"+app.ID+"/endpoint/"+ep.ID, "", 200), &got)
	if got.URL != shown {
		t.Fatalf("get answers url %q, want %q", got.URL, shown)
	}
	call("GET", "/api/v1/app/"+app.ID+"/endpoint", "", 200)

	_ = json.Unmarshal(call("POST", "/api/v1/app/"+app.ID+"/msg", `{"eventType":"a.b","payload":{"n":1}}`, 202), &msg)
	waitFor(t, 10*time.Second, "the delivery", func() bool { return len(rcv.requests()) == 1 })
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("relay:"+password))
	if a := rcv.requests()[0].Header.Get("Authorization"); a != wantAuth {
		t.Fatalf("Authorization %q, want %q", a, wantAuth)
	}
	var attempts struct{ Data []struct{ URL string } }
	waitFor(t, 10*time.Second, "the attempt", func() bool {
		_ = json.Unmarshal(call("GET", "/api/v1/app/"+app.ID+"/attempt/endpoint/"+ep.ID, "", 200), &attempts)
		return len(attempts.Data) == 1
	})
	if attempts.Data[0].URL != shown {
		t.Fatalf("attempt url %q, want %q", attempts.Data[0].URL, shown)
	}
	call("GET", "/api/v1/app/"+app.ID+"/attempt/msg/"+msg.ID, "", 200)
	call("GET", "/api/v1/app/"+app.ID+"/msg/"+msg.ID+"/endpoint", "", 200)

	if srv.logs.contains(password) {
		t.Fatalf("the server log holds the password:\n%s", srv.logs.String())
	}
	if db == "" {
		for _, f := range []string{srv.DB, srv.DB + "-wal"} {
			b, err := os.ReadFile(f)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte(password)) {
				t.Fatalf("%s holds the password", f)
			}
		}
		return
	}
	conn, err := pgx.Connect(ctxT(t), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctxT(t))
	rows, err := conn.Query(ctxT(t), `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) == 0 {
		t.Fatalf("tables %v, %v", tables, err)
	}
	for _, table := range tables {
		var n int
		q := `SELECT count(*) FROM ` + pgx.Identifier{table}.Sanitize() + ` t WHERE t::text LIKE '%' || $1 || '%'`
		if err := conn.QueryRow(ctxT(t), q, password).Scan(&n); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if n != 0 {
			t.Fatalf("table %s: %d rows hold the password", table, n)
		}
	}
}
