package hookrelay

import (
	"strings"
	"testing"
)

func TestPortalCapabilities(t *testing.T) {
	// Svix's names, in Svix's order, each its own bit.
	want := []string{"ViewBase", "ViewEndpointSecret", "ManageEndpointSecret",
		"ManageTransformations", "CreateAttempts", "ManageEndpoint"}
	if got := AllPortalCapabilities.Names(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("every capability's names: %v, want %v", got, want)
	}
	var seen PortalCapabilities
	for _, n := range want {
		c, ok := ParsePortalCapability(n)
		if !ok || c == 0 || seen&c != 0 {
			t.Fatalf("ParsePortalCapability(%q) = %v, %v", n, c, ok)
		}
		seen |= c
	}
	if seen != AllPortalCapabilities {
		t.Errorf("the names make %v, want every capability", seen)
	}
	for _, bad := range []string{"", "viewbase", "ViewBase ", "Everything"} {
		if _, ok := ParsePortalCapability(bad); ok {
			t.Errorf("ParsePortalCapability(%q) accepted", bad)
		}
	}

	// The stored form reads back; names it does not know grant nothing.
	for _, c := range []PortalCapabilities{0, CapViewBase, ReadOnlyPortalCapabilities, CapViewBase | CapManageEndpoint, AllPortalCapabilities} {
		if got := ParsePortalCapabilities(c.String()); got != c {
			t.Errorf("%q reads back as %v", c.String(), got)
		}
	}
	if got := ParsePortalCapabilities("ViewBase,ManageEverything,CreateAttempts"); got != CapViewBase|CapCreateAttempts {
		t.Errorf("a stored unknown name: %v", got)
	}
	if ReadOnlyPortalCapabilities.String() != "ViewBase,ViewEndpointSecret" {
		t.Errorf("read-only set stored as %q", ReadOnlyPortalCapabilities.String())
	}

	// Grants: ManageEndpointSecret reads the secret too, ManageEndpoint
	// reads and rotates it; nothing else implies anything.
	for _, tt := range []struct {
		have, x PortalCapabilities
		want    bool
	}{
		{CapViewBase, CapViewBase, true},
		{CapViewBase, CapViewEndpointSecret, false},
		{CapViewBase | CapManageEndpointSecret, CapViewEndpointSecret, true},
		{CapViewBase | CapViewEndpointSecret, CapManageEndpointSecret, false},
		{CapViewBase | CapManageEndpointSecret, CapManageEndpoint, false},
		{CapViewBase | CapManageEndpoint, CapViewEndpointSecret, true},
		{CapViewBase | CapManageEndpoint, CapManageEndpointSecret, true},
		{CapViewBase | CapManageEndpoint, CapCreateAttempts, false},
		{CapViewBase | CapManageEndpoint, CapManageTransformations, false},
		{CapViewBase | CapCreateAttempts, CapViewEndpointSecret, false},
		{CapViewBase | CapCreateAttempts, CapManageEndpointSecret, false},
		{CapManageEndpoint, CapViewBase, false},
		{AllPortalCapabilities, CapManageEndpoint, true},
	} {
		if got := tt.have.Grants(tt.x); got != tt.want {
			t.Errorf("%v grants %v: %v, want %v", tt.have, tt.x, got, tt.want)
		}
	}

	// What rows of earlier versions mean, and what those versions read.
	if LegacyPortalCapabilities(true) != ReadOnlyPortalCapabilities || LegacyPortalCapabilities(false) != AllPortalCapabilities {
		t.Error("legacy read-only flag maps wrong")
	}
	if AllPortalCapabilities.LegacyReadOnly() || !(CapViewBase | CapManageEndpoint).LegacyReadOnly() || !CapViewBase.LegacyReadOnly() {
		t.Error("LegacyReadOnly: only every capability is not read-only")
	}
}
