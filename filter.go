package hookrelay

import "strings"

// MatchesEventType reports whether an endpoint with the given filterTypes
// receives an event of type eventType. A nil or empty filter matches every
// type. An entry matches when it equals eventType, or when it ends in ".*"
// and eventType starts with the entry's prefix including the dot
// ("contact.*" matches "contact.created" and "contact.note.added", not
// "contact" nor "contacts.created"). A lone "*" matches everything.
func MatchesEventType(filterTypes []string, eventType string) bool {
	if len(filterTypes) == 0 {
		return true
	}
	for _, f := range filterTypes {
		if f == eventType || f == "*" {
			return true
		}
		if prefix, ok := strings.CutSuffix(f, "*"); ok && strings.HasSuffix(prefix, ".") &&
			len(eventType) > len(prefix) && strings.HasPrefix(eventType, prefix) {
			return true
		}
	}
	return false
}

// MatchesChannels reports whether an endpoint subscribed to endpointChannels
// receives a message published to msgChannels, as Svix defines it: an
// endpoint without channels receives every message; an endpoint with
// channels receives only messages that share at least one channel with it.
func MatchesChannels(endpointChannels, msgChannels []string) bool {
	if len(endpointChannels) == 0 {
		return true
	}
	for _, ec := range endpointChannels {
		for _, mc := range msgChannels {
			if ec == mc {
				return true
			}
		}
	}
	return false
}

// Receives reports whether the endpoint gets the message: it is enabled and
// both its event type filter and its channels match.
func (e *Endpoint) Receives(eventType string, channels []string) bool {
	return !e.Disabled && MatchesEventType(e.FilterTypes, eventType) && MatchesChannels(e.Channels, channels)
}
