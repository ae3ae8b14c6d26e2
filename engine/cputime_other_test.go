//go:build !unix

package engine_test

// processCPU is not available here (WebAssembly): wall time only.
func processCPU() (int64, bool) { return 0, false }
