package delivery

import (
	"fmt"
	"net/netip"
	"syscall"

	"code.dny.dev/ssrf"
)

// RefusedError is the reason a dial was refused by the SSRF guard. It is
// checked on the resolved address of every connection, so a name that
// resolves (or rebinds) to a private address is refused too.
type RefusedError struct {
	Addr   netip.Addr
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("destination %s refused: %s", e.Addr, e.Reason)
}

// guard decides which resolved addresses may be dialled.
type guard struct {
	allow    []netip.Prefix
	guardian *ssrf.Guardian
}

func newGuard(allow []netip.Prefix) *guard {
	return &guard{
		allow: allow,
		// Webhook endpoints listen on any port; only the address matters.
		guardian: ssrf.New(ssrf.WithAnyPort()),
	}
}

// control is a net.Dialer Control hook.
func (g *guard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("destination %q refused: %w", address, err)
	}
	return g.check(ap.Addr())
}

// check returns nil when addr may be dialled, or a *RefusedError.
func (g *guard) check(addr netip.Addr) error {
	addr = addr.WithZone("")
	plain := addr.Unmap()
	for _, p := range g.allow {
		if p.Contains(addr) || p.Contains(plain) {
			return nil
		}
	}
	// An IPv4-mapped IPv6 address reaches the IPv4 address it maps, so it
	// is judged as that address.
	if err := g.guardian.SafeAddr(plain); err != nil {
		return &RefusedError{Addr: plain, Reason: classify(plain)}
	}
	return nil
}

var (
	cgnat     = netip.MustParsePrefix("100.64.0.0/10")
	thisNet   = netip.MustParsePrefix("0.0.0.0/8")
	ula       = netip.MustParsePrefix("fc00::/7")
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	broadcast = netip.MustParseAddr("255.255.255.255")
	metadata  = netip.MustParseAddr("169.254.169.254")
)

// classify names why an address the guardian refused is special.
func classify(a netip.Addr) string {
	switch {
	case a == metadata:
		return "link-local address (cloud metadata service)"
	case a.IsUnspecified() || thisNet.Contains(a):
		return "unspecified address"
	case a.IsLoopback():
		return "loopback address"
	case a == broadcast:
		return "broadcast address"
	case a.IsMulticast():
		return "multicast address"
	case a.IsLinkLocalUnicast():
		return "link-local address"
	case ula.Contains(a) || a.IsPrivate():
		return "private address"
	case cgnat.Contains(a):
		return "shared (CGNAT) address"
	case nat64.Contains(a):
		return "NAT64 address"
	case a.Is6() && !ssrf.IPv6GlobalUnicast.Contains(a):
		return "non-global IPv6 address"
	default:
		return "reserved or special-purpose address"
	}
}
