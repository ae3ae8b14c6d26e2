// Package stats is the engine's statistics registry, modelled on the
// original hypervisor's STAM: a tree of named counters, profiles and gauges
// under paths such as "/PGM/RZ/Trap0e/Time2/SyncPT", each with a unit and a
// one-line description, shown by the CLI (--stats) and the UI.
//
// # Kinds
//
//   - A Counter counts occurrences.
//   - A Profile counts calls and, while timing is on, the time they take
//     (total, shortest and longest call, in nanoseconds).
//   - A gauge is a func() uint64 owned by another package (page counts,
//     pool sizes); it is sampled when the registry is read, never stored.
//   - A Family is a fixed-size array of counters named by a pattern such as
//     "/PGM/PDSyncPT/%04X"; only its non-zero members are listed.
//
// # What callers can rely on
//
// Registration happens once, when an engine is built. Names and family
// patterns are fixed strings in the source, so a malformed name, an
// unknown unit or a name registered twice is a programmer error and
// panics; nothing read from a trace or from the user ever reaches
// registration. A valid name starts with "/", has non-empty components
// separated by single slashes, no trailing slash, no "." or ".."
// component, and only printable ASCII other than space, at most 200 bytes.
//
// The hot-path methods (Counter.Inc and Add, Profile.Begin and End,
// Family.Inc and Add) never allocate and take no locks: a Registry and
// everything registered in it belong to one goroutine, like the engine
// that owns them.
//
// SetTiming(false) makes profiles count calls without reading the clock,
// so that a replay with timing off produces byte-identical statistics
// every time. Counters and families are always deterministic; gauges are
// as deterministic as the functions behind them.
//
// A nil *Registry is a registry with statistics compiled out: its
// registration methods return nil handles, and nil *Counter, *Profile and
// *Family handles accept every hot-path call and do nothing. An engine
// can therefore keep its Inc calls unconditional.
//
// Every reader (Each, Snapshot, Prefix, WriteTree, WriteCSV, WriteJSON)
// lists samples in path order: component by component, bytewise within a
// component, so that a subtree is always contiguous. Zero-padded family
// patterns keep the members in numeric order.
package stats
