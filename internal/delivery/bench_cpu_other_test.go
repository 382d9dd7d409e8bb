//go:build !unix

package delivery

// processCPU is not measured here.
func processCPU() int64 { return -1 }
