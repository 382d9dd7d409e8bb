package store

import "github.com/hookrelay/hookrelay"

// Every store keeps the capabilities of a portal token or session in two
// columns: capabilities, their names (hookrelay.PortalCapabilities.String),
// and read_only, the flag that nodes of earlier versions read
// (LegacyReadOnly).

// DecodeCapabilities returns the capabilities of a stored row: its
// capabilities column, or when that is NULL (a row written by a node of
// an earlier version) those its read_only flag stands for.
func DecodeCapabilities(stored *string, readOnly bool) hookrelay.PortalCapabilities {
	if stored == nil {
		return hookrelay.LegacyPortalCapabilities(readOnly)
	}
	return hookrelay.ParsePortalCapabilities(*stored)
}
