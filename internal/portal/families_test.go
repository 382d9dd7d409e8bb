package portal

import (
	"reflect"
	"testing"
)

func TestEventFamilies(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		want  []eventFamily
	}{
		{"empty", nil, []eventFamily{}},
		{"grouped and sorted",
			[]string{"contact.updated", "call.completed", "contact.created", "contact.note.added", "call.completed"},
			[]eventFamily{
				{Name: "call", Pattern: "call.*", Types: []string{"call.completed"}},
				{Name: "contact", Pattern: "contact.*", Types: []string{"contact.created", "contact.note.added", "contact.updated"}},
			}},
		{"a name without a dot stands alone",
			[]string{"ping", "ping.sent"},
			[]eventFamily{
				{Name: "ping", Types: []string{"ping"}},
				{Name: "ping", Pattern: "ping.*", Types: []string{"ping.sent"}},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := eventFamilies(tt.names); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("eventFamilies(%q) = %#v, want %#v", tt.names, got, tt.want)
			}
		})
	}
}

func TestFilterTypesOf(t *testing.T) {
	tests := []struct {
		name    string
		all     bool
		picked  []string
		want    []string
		wantErr bool
	}{
		{"all", true, []string{"contact.created"}, nil, false},
		{"lone star is all", false, []string{"*"}, nil, false},
		{"none picked", false, nil, nil, true},
		{"blank picked", false, []string{" "}, nil, true},
		{"exact", false, []string{"call.completed", "contact.created"}, []string{"call.completed", "contact.created"}, false},
		{"family covers its types", false,
			[]string{"contact.created", "contact.*", "contact.note.added", "call.completed", "contact.*"},
			[]string{"call.completed", "contact.*"}, false},
		{"family does not cover a similar prefix", false,
			[]string{"contact.*", "contacts.created"}, []string{"contact.*", "contacts.created"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := filterTypesOf(tt.all, tt.picked)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("filterTypesOf(%v, %q) = %q, want %q", tt.all, tt.picked, got, tt.want)
			}
		})
	}
}

func TestSelectionOf(t *testing.T) {
	fams := eventFamilies([]string{"contact.created", "call.completed"})
	tests := []struct {
		name   string
		filter []string
		want   eventSelection
	}{
		{"nil is all", nil, eventSelection{All: true, Picked: map[string]bool{}}},
		{"star is all", []string{"*"}, eventSelection{All: true, Picked: map[string]bool{}}},
		{"picked and other", []string{"contact.*", "call.completed", "legacy.thing"},
			eventSelection{Picked: map[string]bool{"contact.*": true, "call.completed": true, "legacy.thing": true},
				Other: []string{"legacy.thing"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := selectionOf(tt.filter, fams); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("selectionOf(%q) = %#v, want %#v", tt.filter, got, tt.want)
			}
		})
	}
}
