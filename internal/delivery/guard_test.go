package delivery

import (
	"context"
	"errors"
	"testing"
)

// TestGuardSpecialForms adds to TestGuard the disguised forms of special
// addresses: IPv4-mapped, IPv4-compatible, 6to4, NAT64, zones.
func TestGuardSpecialForms(t *testing.T) {
	tests := []struct {
		addr, refused, reason string
	}{
		{"::ffff:169.254.169.254", "169.254.169.254", "link-local address (cloud metadata service)"},
		{"::ffff:a9fe:a9fe", "169.254.169.254", "link-local address (cloud metadata service)"},
		{"::ffff:100.64.0.1", "100.64.0.1", "shared (CGNAT) address"},
		{"::ffff:224.0.0.251", "224.0.0.251", "multicast address"},
		{"::ffff:0.0.0.0", "0.0.0.0", "unspecified address"},
		{"::ffff:192.168.0.1", "192.168.0.1", "private address"},
		{"::127.0.0.1", "::7f00:1", "non-global IPv6 address"},
		{"2002:7f00:1::1", "2002:7f00:1::1", "reserved or special-purpose address"},
		{"64:ff9b::a9fe:a9fe", "64:ff9b::a9fe:a9fe", "NAT64 address"},
		{"fd00:ec2::254", "fd00:ec2::254", "private address"},
		{"fe80::1%eth0", "fe80::1", "link-local address"},
		{"fec0::1", "fec0::1", "non-global IPv6 address"},
		{"100.127.255.255", "100.127.255.255", "shared (CGNAT) address"},
		{"239.255.255.250", "239.255.255.250", "multicast address"},
	}
	g := newGuard(nil)
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			err := g.checkHost(context.Background(), nil, tt.addr)
			var refused *RefusedError
			if !errors.As(err, &refused) {
				t.Fatalf("checkHost(%s) = %v, want a *RefusedError", tt.addr, err)
			}
			if want := "destination " + tt.refused + " refused: " + tt.reason; err.Error() != want {
				t.Fatalf("err = %q, want %q", err, want)
			}
		})
	}
}
