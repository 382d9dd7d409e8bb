//go:build unix

package main

import "syscall"

// openFileLimit raises this process's soft limit on open files to its hard
// limit (the Go runtime does the same at start on most systems; doing it
// here does not depend on that) and returns the soft limit now in force, or
// 0 when it cannot be read.
func openFileLimit() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err == nil {
			lim = raised
		}
	}
	return uint64(lim.Cur)
}
