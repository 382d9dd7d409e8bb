package portal

import (
	"errors"
	"reflect"
	"testing"
)

func TestHeaderInputBuild(t *testing.T) {
	tests := []struct {
		name      string
		in        headerInput
		wantName  string
		wantValue string
		wantOK    bool
		wantField string
	}{
		{"nothing", headerInput{}, "", "", false, ""},
		{"typed without preset", headerInput{Value: "x"}, "", "", false, "header_preset"},
		{"bearer", headerInput{Preset: presetBearer, Value: " abc.def "}, "Authorization", "Bearer abc.def", true, ""},
		{"bearer empty", headerInput{Preset: presetBearer}, "", "", false, "header_value"},
		{"basic", headerInput{Preset: presetBasic, User: "Aladdin", Password: "open sesame"},
			"Authorization", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", true, ""},
		{"basic without user", headerInput{Preset: presetBasic, Password: "p"}, "", "", false, "header_user"},
		{"basic user with colon", headerInput{Preset: presetBasic, User: "a:b"}, "", "", false, "header_user"},
		{"token default name", headerInput{Preset: presetToken, Value: "s3cr3t"}, "X-WEBHOOK-TOKEN", "s3cr3t", true, ""},
		{"token own name", headerInput{Preset: presetToken, Name: "X-Acme-Token", Value: "s3cr3t"}, "X-Acme-Token", "s3cr3t", true, ""},
		{"token empty", headerInput{Preset: presetToken}, "", "", false, "header_value"},
		{"custom", headerInput{Preset: presetCustom, Name: "X-Tenant", Value: "42"}, "X-Tenant", "42", true, ""},
		{"custom without name", headerInput{Preset: presetCustom, Value: "42"}, "", "", false, "header_name"},
		{"unknown preset", headerInput{Preset: "magic"}, "", "", false, "header_preset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, value, ok, err := tt.in.build()
			var fe *fieldError
			if tt.wantField != "" {
				if !errors.As(err, &fe) || fe.Field != tt.wantField {
					t.Fatalf("err = %v, want one on %s", err, tt.wantField)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if name != tt.wantName || value != tt.wantValue || ok != tt.wantOK {
				t.Errorf("build() = %q, %q, %v; want %q, %q, %v", name, value, ok, tt.wantName, tt.wantValue, tt.wantOK)
			}
		})
	}
}

func TestParseRetrySchedule(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"", nil, false},
		{"  ", nil, false},
		{"none", []int{}, false},
		{"5, 300,3600", []int{5, 300, 3600}, false},
		{"5s 5m 2h 1h30m 1d 1d12h", []int{5, 300, 7200, 5400, 86400, 129600}, false},
		{"5s;10s", []int{5, 10}, false},
		{"soon", nil, true},
		{"1.5s", nil, true},
		{"xd", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseRetrySchedule(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseRetrySchedule(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestFormatRetrySchedule(t *testing.T) {
	tests := []struct {
		in   []float64
		want string
	}{
		{nil, ""},
		{[]float64{}, "none"},
		{[]float64{5, 300, 5400, 86400, 129600}, "5s, 5m, 1h30m, 1d, 1d12h"},
	}
	for _, tt := range tests {
		got := formatRetrySchedule(tt.in)
		if got != tt.want {
			t.Errorf("formatRetrySchedule(%v) = %q, want %q", tt.in, got, tt.want)
		}
		if back, err := parseRetrySchedule(got); err != nil || len(back) != len(tt.in) {
			t.Errorf("parseRetrySchedule(%q) = %v, %v: does not read back", got, back, err)
		}
	}
}

func TestURLRules(t *testing.T) {
	if got := urlRules(false, nil); len(got) != 3 {
		t.Errorf("urlRules(false) = %q, want 3 rules without https-only", got)
	}
	got := urlRules(true, []string{"localhost", "127.0.0.1"})
	want := "This server delivers only to https:// URLs; plain http:// is allowed only for localhost, 127.0.0.1."
	if len(got) != 4 || got[1] != want {
		t.Errorf("urlRules(true) = %q, want second rule %q", got, want)
	}
}
