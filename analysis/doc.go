// Package analysis answers the questions an engineer brings to a long
// trace: which events match a filter, where faults and engine work
// concentrate (hot spots), how two engine configurations compare on the
// same events (with a cost model), what changed between two moments, and
// the trace as a Perfetto timeline.
//
// Everything here streams: it reads outcomes one at a time as a replay
// produces them, and keeps memory bounded by the number of distinct keys
// it counts (with a cap), never by the number of events. The package is
// pure Go, imports only engine and traces, and builds for js/wasm, so the
// window and the browser can use what the CLI uses.
//
// The filter language (see Parse) is the common currency: `explorer
// replay --where`, `explorer analyze --where` and the window's search all
// take the same expressions.
package analysis
