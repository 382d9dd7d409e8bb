package portal

import (
	"strings"
	"testing"
	"time"
)

func TestRedactHeaders(t *testing.T) {
	tests := []struct {
		name      string
		headers   map[string]string
		sensitive []string
		want      []shownHeader
	}{
		{
			name:    "plain headers are shown",
			headers: map[string]string{"X-Team": "blue", "accept": "*/*"},
			want:    []shownHeader{{"accept", "*/*", false}, {"X-Team", "blue", false}},
		},
		{
			name:    "bearer keeps its scheme only",
			headers: map[string]string{"Authorization": "Bearer sk_live_123"},
			want:    []shownHeader{{"Authorization", "Bearer " + redacted, true}},
		},
		{
			name:    "basic keeps its scheme only",
			headers: map[string]string{"authorization": "Basic dXNlcjpwYXNz"},
			want:    []shownHeader{{"authorization", "Basic " + redacted, true}},
		},
		{
			name:    "a bare token is masked whole",
			headers: map[string]string{"Authorization": "sk_live_123"},
			want:    []shownHeader{{"Authorization", redacted, true}},
		},
		{
			name:    "signature keeps its versions",
			headers: map[string]string{"webhook-signature": "v1,abc= v1,def="},
			want:    []shownHeader{{"webhook-signature", "v1," + redacted + " v1," + redacted, true}},
		},
		{
			name: "names that hold a credential",
			headers: map[string]string{
				"X-WEBHOOK-TOKEN": "t0k", "X-Api-Key": "k", "X-Client-Secret": "s", "X-Hub-Signature-256": "sha256=abc",
				"Cookie": "a=b", "X-Session-Id": "s1",
			},
			want: []shownHeader{
				{"Cookie", redacted, true}, {"X-Api-Key", redacted, true}, {"X-Client-Secret", redacted, true},
				{"X-Hub-Signature-256", redacted, true}, {"X-Session-Id", redacted, true}, {"X-WEBHOOK-TOKEN", redacted, true},
			},
		},
		{
			name:      "the API's sensitive list: names only, or a value given anyway",
			headers:   map[string]string{"X-Custom": "visible?", "X-Other": "fine"},
			sensitive: []string{"x-custom", "X-Private"},
			want: []shownHeader{
				{"X-Custom", redacted, true}, {"X-Other", "fine", false}, {"X-Private", redacted, true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := redactHeaders(tt.headers, tt.sensitive)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("header %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
			for i, h := range got {
				for n, v := range tt.headers {
					if h.Redacted && strings.EqualFold(n, h.Name) && len(v) > 3 && strings.Contains(h.Value, v[len(v)-3:]) {
						t.Errorf("header %d shows part of its secret: %+v", i, h)
					}
				}
			}
		})
	}
}

func TestSentHeaders(t *testing.T) {
	at := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	got := sentHeaders("msg_1", at, map[string]string{"X-Team": "blue"}, []string{"Authorization"})
	want := []shownHeader{
		{"Authorization", redacted, true},
		{"Content-Type", "application/json", false},
		{"Webhook-Id", "msg_1", false},
		{"Webhook-Signature", "v1," + redacted, true},
		{"Webhook-Timestamp", "1796601600", false},
		{"X-Team", "blue", false},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("header %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
