package hookrelay

import "strings"

// PortalCapabilities is a set of Svix's app portal capabilities
// (AppPortalCapability): what a portal token, and a portal session opened
// from it, may do in its application. The zero value grants nothing.
//
// A set is stored as Names joined by commas (String), so the bits are
// free to change; ParsePortalCapabilities reads that form back.
type PortalCapabilities uint8

const (
	// CapViewBase reads the application's endpoints, messages, attempts,
	// statistics and the event type catalog, but not an endpoint's signing
	// secret. Every portal token has it.
	CapViewBase PortalCapabilities = 1 << iota
	// CapViewEndpointSecret reads an endpoint's signing secret.
	CapViewEndpointSecret
	// CapManageEndpointSecret rotates an endpoint's signing secret, and
	// reads it (Svix: "rotate and view").
	CapManageEndpointSecret
	// CapManageTransformations changes endpoint transformations. hookrelay
	// has none, so it grants nothing there.
	CapManageTransformations
	// CapCreateAttempts makes new delivery attempts of existing or
	// example messages: resend, recover, replay-missing, bulk-replay,
	// send-example and send-test.
	CapCreateAttempts
	// CapManageEndpoint creates, changes, disables and deletes endpoints,
	// with their headers and delivery options, and cancels their pending
	// messages; it also reads and rotates the signing secret, as
	// ViewEndpointSecret and ManageEndpointSecret do (Svix: "any field or
	// configuration of an endpoint (including secrets)").
	CapManageEndpoint

	// AllPortalCapabilities is every capability: a portal token made
	// without capabilities or readOnly.
	AllPortalCapabilities = CapViewBase | CapViewEndpointSecret | CapManageEndpointSecret |
		CapManageTransformations | CapCreateAttempts | CapManageEndpoint
	// ReadOnlyPortalCapabilities is what readOnly: true grants, and what a
	// token stored read-only before capabilities were stored has.
	ReadOnlyPortalCapabilities = CapViewBase | CapViewEndpointSecret
)

// capabilityNames are Svix's names, in bit order (and in the order of
// Svix's AppPortalCapability enum).
var capabilityNames = [...]string{
	"ViewBase", "ViewEndpointSecret", "ManageEndpointSecret",
	"ManageTransformations", "CreateAttempts", "ManageEndpoint",
}

// PortalCapabilityNames returns Svix's name of every capability, in
// Svix's order.
func PortalCapabilityNames() []string { return capabilityNames[:] }

// ParsePortalCapability returns the capability of a Svix name (exact,
// case-sensitive); false for any other text.
func ParsePortalCapability(name string) (PortalCapabilities, bool) {
	for i, n := range capabilityNames {
		if n == name {
			return 1 << i, true
		}
	}
	return 0, false
}

// Has reports whether c holds every capability of x, as granted (see
// Grants for what a capability also allows).
func (c PortalCapabilities) Has(x PortalCapabilities) bool { return c&x == x }

// Grants reports whether c allows what the capability x allows:
// ManageEndpoint also allows what ManageEndpointSecret does, and
// ManageEndpointSecret what ViewEndpointSecret does. Nothing else implies
// anything; ViewBase is needed for everything, and is checked as any
// other capability. The API and the portal both decide by Grants.
func (c PortalCapabilities) Grants(x PortalCapabilities) bool {
	if c.Has(CapManageEndpoint) {
		c |= CapManageEndpointSecret
	}
	if c.Has(CapManageEndpointSecret) {
		c |= CapViewEndpointSecret
	}
	return c.Has(x)
}

// Names returns the names of c's capabilities in Svix's order.
func (c PortalCapabilities) Names() []string {
	var out []string
	for i, n := range capabilityNames {
		if c&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// String returns Names joined by commas ("" for none): the stored form.
func (c PortalCapabilities) String() string { return strings.Join(c.Names(), ",") }

// ParsePortalCapabilities reads the stored form (String). A name it does
// not know (written by a later version) grants nothing.
func ParsePortalCapabilities(s string) PortalCapabilities {
	var c PortalCapabilities
	for _, n := range strings.Split(s, ",") {
		if x, ok := ParsePortalCapability(strings.TrimSpace(n)); ok {
			c |= x
		}
	}
	return c
}

// LegacyPortalCapabilities is the set of a token or session stored with
// only the read-only flag of earlier versions (a row from before the
// capabilities were stored, or written by a node of such a version):
// ReadOnlyPortalCapabilities when read-only, else every capability.
func LegacyPortalCapabilities(readOnly bool) PortalCapabilities {
	if readOnly {
		return ReadOnlyPortalCapabilities
	}
	return AllPortalCapabilities
}

// LegacyReadOnly is the read-only flag stored beside c for nodes of
// earlier versions, which know only that flag: set unless c is every
// capability, so that such a node refuses every write of a narrower
// token rather than allow one the token lacks.
func (c PortalCapabilities) LegacyReadOnly() bool { return c != AllPortalCapabilities }
