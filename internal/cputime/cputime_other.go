//go:build !unix && !js

package cputime

// Process is not available here: wall time only.
func Process() (int64, bool) { return 0, false }
