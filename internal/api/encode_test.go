package api

import (
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
)

// writeMessage answers byte for byte as writeJSON does, whatever the
// message holds.
func TestWriteMessageMatchesWriteJSON(t *testing.T) {
	eventID := "evt-1"
	odd := "a\"b\\c\n\t\u0001<>&é\u2028\xff"
	at := time.Date(2026, 12, 6, 13, 4, 5, 123456000, time.FixedZone("x", 3600))
	for _, tt := range []struct {
		name        string
		m           hookrelay.Message
		withContent bool
	}{
		{"minimal", hookrelay.Message{ID: "msg_1", EventType: "call.completed", Payload: []byte(`{"a":1}`), CreatedAt: at}, true},
		{"without content", hookrelay.Message{ID: "msg_1", EventType: "call.completed", Payload: []byte(`{"a":1}`), CreatedAt: at}, false},
		{"expunged", hookrelay.Message{ID: "msg_1", EventType: "x", CreatedAt: at}, true},
		{"everything", hookrelay.Message{ID: "msg_2", EventID: &eventID, EventType: "contact.created",
			Payload:  []byte("{ \"z\" : [1, 2,\n3],\t\"a\": {\"s\": \"h\\u00e9 <b>\"} }"),
			Channels: []string{"agent-1", "agent-2"}, Tags: []string{"t"}, CreatedAt: at.Add(time.Nanosecond)}, true},
		{"odd strings", hookrelay.Message{ID: odd, EventID: &odd, EventType: odd, Payload: []byte(`{}`),
			Channels: []string{odd}, Tags: []string{"", odd}, CreatedAt: time.Unix(0, 0)}, true},
		{"whole seconds", hookrelay.Message{ID: "msg_3", EventType: "x", Payload: []byte(`{}`), CreatedAt: time.Unix(1700000000, 0)}, true},
		{"deliverAt", hookrelay.Message{ID: "msg_4", EventType: "x", Payload: []byte(`{}`), CreatedAt: at, DeliverAt: &at}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := toMessageOut(shapeCurrent, tt.m, tt.withContent)
			want := httptest.NewRecorder()
			writeJSON(want, 202, out)
			got := httptest.NewRecorder()
			writeMessage(got, 202, out)
			if got.Code != want.Code || got.Body.String() != want.Body.String() ||
				got.Header().Get("Content-Type") != want.Header().Get("Content-Type") {
				t.Errorf("writeMessage: %d %q %q\nwriteJSON:    %d %q %q", got.Code, got.Header().Get("Content-Type"), got.Body,
					want.Code, want.Header().Get("Content-Type"), want.Body)
			}
		})
	}
}

// The decoding shortcuts of opt give what json.Unmarshal gives.
func TestOptShortcutsMatchUnmarshal(t *testing.T) {
	for _, raw := range []string{
		`"plain"`, `""`, `"with \"escape\""`, `"caf\u00e9"`, "\"caf\xc3\xa9\"", "\"bad \xff utf8\"",
		`"tab\there"`, `"<>&"`, `"~ and space"`,
	} {
		var want string
		if err := json.Unmarshal([]byte(raw), &want); err != nil {
			t.Fatal(err)
		}
		var got opt[string]
		if err := json.Unmarshal([]byte(`{"v":`+raw+`}`), &struct {
			V *opt[string] `json:"v"`
		}{&got}); err != nil {
			t.Fatal(err)
		}
		if !got.Set || got.Null || got.V != want {
			t.Errorf("%s: got %+v, want %q", raw, got, want)
		}
	}
	body := []byte(`{"v": {"b" : [1, "x"]} }`)
	var got opt[json.RawMessage]
	if err := json.Unmarshal(body, &struct {
		V *opt[json.RawMessage] `json:"v"`
	}{&got}); err != nil {
		t.Fatal(err)
	}
	if string(got.V) != `{"b" : [1, "x"]}` {
		t.Errorf("raw = %q", got.V)
	}
	body[9] = 'X' // the decoded value must not share the body's bytes
	if strings.Contains(string(got.V), "X") {
		t.Error("raw value aliases the request body")
	}
}

// Every field of messageOut, set, comes out of writeMessage as writeJSON
// writes it: a field added to messageOut and forgotten by the hand-written
// encoder fails here.
func TestWriteMessageCoversEveryField(t *testing.T) {
	var m messageOut
	v := reflect.ValueOf(&m).Elem()
	for i := 0; i < v.NumField(); i++ {
		f, name := v.Field(i), v.Type().Field(i).Name
		switch p := f.Addr().Interface().(type) {
		case *string:
			*p = "s-" + name
		case **string:
			s := "p-" + name
			*p = &s
		case *[]string:
			*p = []string{"a-" + name, "b"}
		case *json.RawMessage:
			*p = json.RawMessage(`{"field":"` + name + `"}`)
		case *jsonTime:
			*p = jsonTime(time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC))
		case **jsonTime:
			jt := jsonTime(time.Date(2026, 2, 3, 4, 5, 6, 7000, time.UTC))
			*p = &jt
		default:
			t.Fatalf("messageOut.%s is a %s, which this test cannot fill: teach it, and appendJSON", name, f.Type())
		}
	}
	want := httptest.NewRecorder()
	writeJSON(want, 200, m)
	got := httptest.NewRecorder()
	writeMessage(got, 200, m)
	if got.Body.String() != want.Body.String() {
		t.Errorf("writeMessage wrote %s\nwriteJSON wrote    %s", got.Body, want.Body)
	}
}
