//go:build !unix && !js

package engine_test

// processCPU is not available here: wall time only.
func processCPU() (int64, bool) { return 0, false }
