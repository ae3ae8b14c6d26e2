//go:build unix

package cputime

import "syscall"

// Process is the CPU time the process has used (user and system, every
// thread, the collector's included), in nanoseconds: on a shared machine
// it measures the replay's own work where wall time measures the load.
func Process() (int64, bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}
