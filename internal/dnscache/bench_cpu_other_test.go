//go:build !unix

package dnscache_test

// processCPU is not measured here.
func processCPU() int64 { return -1 }
