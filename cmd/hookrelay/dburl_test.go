package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	tests := []struct {
		name    string
		url     string
		want    string
		secrets []string // none may appear in the redacted form
	}{
		{"userinfo password", "postgres://u:sekret@h:5432/db?sslmode=disable",
			"postgres://u:xxxxx@h:5432/db?sslmode=disable", []string{"sekret"}},
		{"postgresql scheme", "postgresql://u:sekret@h/db",
			"postgresql://u:xxxxx@h/db", []string{"sekret"}},
		{"escaped @ in the password", "postgres://u:sek%40ret@h/db",
			"postgres://u:xxxxx@h/db", []string{"sek", "ret"}},
		{"unescaped @ in the password", "postgres://u:sek@ret@h/db",
			"postgres://u:xxxxx@h/db", []string{"sek", "ret"}},
		{"unescaped / in the password", "postgres://u:12/sekret@h/db",
			"postgres://xxxxx@h/db", []string{"sekret"}},
		{"password query parameter", "postgres://u@h/db?sslmode=disable&password=sekret",
			"postgres://u@h/db?sslmode=disable&password=xxxxx", []string{"sekret"}},
		{"password query parameter without userinfo", "postgres://h/db?password=sekret&x=1",
			"postgres://h/db?password=xxxxx&x=1", []string{"sekret"}},
		{"encoded query key", "postgres://h/db?pass%77ord=sekret",
			"postgres://h/db?pass%77ord=xxxxx", []string{"sekret"}},
		{"sslpassword query parameter", "postgres://h/db?sslpassword=sekret",
			"postgres://h/db?sslpassword=xxxxx", []string{"sekret"}},
		{"both", "postgres://u:sekret1@h/db?password=sekret2",
			"postgres://u:xxxxx@h/db?password=xxxxx", []string{"sekret1", "sekret2"}},
		{"no password", "postgres://u@h/db", "postgres://u@h/db", nil},
		{"key=value", "host=h password=sekret dbname=db",
			"host=h password=xxxxx dbname=db", []string{"sekret"}},
		{"key=value quoted", `host=h password = 'sek ret\'s' dbname=db`,
			"host=h password=xxxxx dbname=db", []string{"sek", "ret"}},
		{"key=value sslpassword", "sslpassword=sekret host=h",
			"sslpassword=xxxxx host=h", []string{"sekret"}},
		{"sqlite path", "sqlite:/var/lib/hookrelay.db", "sqlite:/var/lib/hookrelay.db", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := redactURL(tt.url)
			if got != tt.want {
				t.Errorf("redactURL(%q) = %q, want %q", tt.url, got, tt.want)
			}
			for _, s := range tt.secrets {
				if strings.Contains(got, s) {
					t.Errorf("redactURL(%q) = %q shows %q", tt.url, got, s)
				}
			}
		})
	}
}

// TestDatabaseURLErrorsHidePasswords opens unreachable or malformed
// PostgreSQL URLs: the errors name the database without any part of the
// password, whichever way it is written.
func TestDatabaseURLErrorsHidePasswords(t *testing.T) {
	tests := []struct {
		name, url string
	}{
		{"query parameter", "postgres://nobody@127.0.0.1:1/none?connect_timeout=1&password=QzkWvx"},
		{"unescaped @", "postgres://nobody:Qzk@Wvx@127.0.0.1:1/none?connect_timeout=1"},
		{"unescaped / then @", "postgres://nobody:12/QzkWvx@127.0.0.1:1/none?connect_timeout=1"},
		{"escaped @", "postgres://nobody:Qzk%40Wvx@127.0.0.1:1/none?connect_timeout=1"},
	}
	env := func(string) string { return "" }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(t.Context(), []string{"migrate", "--database-url", tt.url}, env, &out, &out)
			if err == nil {
				t.Fatal("migrate against an unreachable database succeeded")
			}
			text := err.Error() + out.String()
			for _, s := range []string{"Qzk", "Wvx"} {
				if strings.Contains(text, s) {
					t.Errorf("the error shows %q of the password:\n%s", s, text)
				}
			}
		})
	}
}
