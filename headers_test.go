package hookrelay

import "testing"

func TestReservedHeader(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"Host", true}, {"content-length", true}, {"Content-Type", true}, {"User-Agent", true},
		{"Transfer-Encoding", true}, {"Connection", true}, {"TE", true}, {"Trailer", true},
		{"Upgrade", true}, {"Keep-Alive", true}, {"webhook-id", true}, {"Webhook-Signature", true},
		{"svix-id", true}, {"SVIX-anything", true},
		{"Authorization", false}, {"X-Webhook-Token", false}, {"Webhooks-Id", false}, {"X-Svix-Id", false},
		{"Tee", false},
	}
	for _, tt := range tests {
		if got := ReservedHeader(tt.name); got != tt.want {
			t.Errorf("ReservedHeader(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
