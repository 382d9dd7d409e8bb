//go:build !unix

package main

// openFileLimit returns 0: the limit is not known here, and the delivery
// defaults do not depend on it.
func openFileLimit() uint64 { return 0 }
