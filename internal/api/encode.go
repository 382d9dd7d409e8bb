package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"
	"unicode/utf8"
)

// appendJSON appends m as writeJSON encodes it (encoding/json, HTML left
// unescaped, one trailing newline), without reflection: publishing answers
// with one on every request.
func (m messageOut) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, m.ID)
	if m.EventID != nil {
		b = append(b, `,"eventId":`...)
		b = appendJSONString(b, *m.EventID)
	}
	b = append(b, `,"eventType":`...)
	b = appendJSONString(b, m.EventType)
	b = append(b, `,"payload":`...)
	if m.Payload == nil {
		b = append(b, "null"...)
	} else {
		// encoding/json writes raw JSON compacted.
		buf := bytes.NewBuffer(b)
		if err := json.Compact(buf, m.Payload); err != nil {
			return nil, err
		}
		b = buf.Bytes()
	}
	for _, list := range []struct {
		name string
		v    []string
	}{{`,"channels":[`, m.Channels}, {`,"tags":[`, m.Tags}} {
		if len(list.v) == 0 {
			continue
		}
		b = append(b, list.name...)
		for i, s := range list.v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		b = append(b, ']')
	}
	b = append(b, `,"timestamp":"`...)
	b = time.Time(m.Timestamp).UTC().AppendFormat(b, time.RFC3339Nano)
	if m.DeliverAt != nil {
		b = append(b, `","deliverAt":"`...)
		b = time.Time(*m.DeliverAt).UTC().AppendFormat(b, time.RFC3339Nano)
	}
	return append(b, "\"}\n"...), nil
}

// appendJSONString appends s as a JSON string, as encoding/json writes it
// with HTML left unescaped.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '\\' || c == '"' {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(s) // a string always encodes
			return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// writeMessage answers with one message, as writeJSON would.
func writeMessage(w http.ResponseWriter, status int, m messageOut) {
	b, err := m.appendJSON(make([]byte, 0, 512+len(m.Payload)))
	if err != nil {
		writeJSON(w, status, m) // reports the encoding failure as writeJSON does
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(validUTF8(b))
}

// validUTF8 returns the JSON text b with every run of invalid UTF-8
// replaced by U+FFFD. encoding/json does that for strings but copies raw
// JSON (a stored payload) as it is, and a payload stored by an older
// version may hold invalid bytes; they can only sit inside strings, where
// U+FFFD keeps the JSON valid.
func validUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	return bytes.ToValidUTF8(b, []byte("\uFFFD"))
}
