//go:build js

package cputime

import "syscall/js"

// Process is Node's process.cpuUsage() (user and system, in
// microseconds) in nanoseconds, so that WebAssembly and native figures
// measured on a loaded machine compare the same thing.
func Process() (int64, bool) {
	p := js.Global().Get("process")
	if p.IsUndefined() || p.Get("cpuUsage").IsUndefined() {
		return 0, false
	}
	u := p.Call("cpuUsage")
	return int64(u.Get("user").Float()+u.Get("system").Float()) * 1000, true
}
