// Package cputime reads the CPU time the process has used, for
// benchmarks that report events per second of the process's own work:
// on a shared machine wall time measures the load, and WebAssembly under
// Node and native code are compared the same way. It lives outside engine
// so that the engine's tree imports neither syscall/js nor syscall.
package cputime
