package hookrelay

import "testing"

func TestMatchesEventType(t *testing.T) {
	tests := []struct {
		name      string
		filter    []string
		eventType string
		want      bool
	}{
		{"nil filter matches all", nil, "contact.created", true},
		{"empty filter matches all", []string{}, "x", true},
		{"exact", []string{"contact.created"}, "contact.created", true},
		{"exact other", []string{"contact.created"}, "contact.deleted", false},
		{"family", []string{"contact.*"}, "contact.created", true},
		{"family deep", []string{"email.*"}, "email.classification.classified", true},
		{"family needs the dot", []string{"contact.*"}, "contacts.created", false},
		{"family is not its own name", []string{"contact.*"}, "contact", false},
		{"family with nothing after the dot", []string{"contact.*"}, "contact.", false},
		{"inner family", []string{"communication.message.*"}, "communication.message.sent", true},
		{"inner family other branch", []string{"communication.message.*"}, "communication.call.sent", false},
		{"star alone", []string{"*"}, "anything.at.all", true},
		{"star inside is literal", []string{"con*"}, "contact.created", false},
		{"one of several", []string{"call.completed", "contact.*"}, "contact.merged", true},
		{"none of several", []string{"call.completed", "contact.*"}, "ticket.created", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MatchesEventType(tt.filter, tt.eventType); got != tt.want {
				t.Errorf("MatchesEventType(%q, %q) = %v, want %v", tt.filter, tt.eventType, got, tt.want)
			}
		})
	}
}

func TestMatchesChannels(t *testing.T) {
	tests := []struct {
		name     string
		endpoint []string
		msg      []string
		want     bool
	}{
		{"endpoint without channels gets everything", nil, []string{"agent-1"}, true},
		{"endpoint without channels gets channel-less messages", nil, nil, true},
		{"shared channel", []string{"agent-1", "agent-2"}, []string{"agent-2"}, true},
		{"no shared channel", []string{"agent-1"}, []string{"agent-2"}, false},
		{"endpoint with channels skips channel-less messages", []string{"agent-1"}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MatchesChannels(tt.endpoint, tt.msg); got != tt.want {
				t.Errorf("MatchesChannels(%q, %q) = %v, want %v", tt.endpoint, tt.msg, got, tt.want)
			}
		})
	}
}

func TestReceives(t *testing.T) {
	ep := &Endpoint{FilterTypes: []string{"call.*"}, Channels: []string{"agent-7"}}
	if !ep.Receives("call.completed", []string{"agent-7"}) {
		t.Error("matching type and channel: want received")
	}
	if ep.Receives("call.completed", []string{"agent-8"}) {
		t.Error("other channel: want not received")
	}
	ep.Disabled = true
	if ep.Receives("call.completed", []string{"agent-7"}) {
		t.Error("disabled endpoint: want not received")
	}
}

func FuzzMatchesEventType(f *testing.F) {
	f.Add("contact.*", "contact.created")
	f.Add("*", "x")
	f.Add(".*", ".a")
	f.Add("a.b", "a.b")
	f.Fuzz(func(t *testing.T, filter, eventType string) {
		got := MatchesEventType([]string{filter}, eventType)
		if filter == eventType && !got {
			t.Fatalf("exact %q does not match itself", filter)
		}
		// A family pattern never matches a type outside its prefix.
		if prefix, ok := cutFamily(filter); ok && got && filter != eventType && filter != "*" {
			if len(eventType) <= len(prefix) || eventType[:len(prefix)] != prefix {
				t.Fatalf("family %q matched %q outside its prefix", filter, eventType)
			}
		}
	})
}

func cutFamily(f string) (string, bool) {
	if len(f) >= 2 && f[len(f)-2:] == ".*" {
		return f[:len(f)-1], true
	}
	return "", false
}

// BenchmarkFanoutMatch matches one message against 100 endpoints with
// mixed exact, family and channel filters: the per-publish matching cost.
func BenchmarkFanoutMatch(b *testing.B) {
	eps := make([]Endpoint, 100)
	for i := range eps {
		switch i % 4 {
		case 0:
			eps[i].FilterTypes = []string{"contact.created", "contact.updated"}
		case 1:
			eps[i].FilterTypes = []string{"call.*", "email.classification.*"}
		case 2:
			eps[i].Channels = []string{"agent-1", "agent-2"}
		}
	}
	channels := []string{"agent-2"}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for i := range eps {
			if eps[i].Receives("email.classification.classified", channels) {
				n++
			}
		}
		if n == 0 {
			b.Fatal("nothing matched")
		}
	}
}
