// Package workload holds live guest models: programs that play the part
// of a guest operating system and produce a stream of engine events,
// reacting to the outcome of each one. A guest page fault makes the
// model do what a kernel would (map the page, copy a shared page, kill
// the process) and retry, so a workload can only run live, one event at
// a time, against an engine.
//
// What callers may rely on:
//
//   - Determinism. A workload's events depend only on its name, seed and
//     parameters (and on the outcomes it is shown, which are themselves
//     determined by the events for every engine that behaves like the
//     reference CPU). Models use math/rand/v2 with a PCG source seeded
//     from the seed and never let map iteration order decide anything.
//   - Well-behaved guests. After changing a present page-table entry a
//     model invalidates it (invlpg for a leaf, a CR3 reload for a
//     directory entry); global pages are identical in every address
//     space and never change; control registers are written in an order
//     the processor accepts. Under such a guest every engine
//     configuration must give the outcomes and final memory the
//     reference CPU gives; the tests check it for every workload.
//   - Self-description. Header returns the machine the workload needs
//     (RAM layout, engine defaults) and metadata naming the workload, its
//     seed and every parameter (defaults included) under "workload",
//     "seed" and "param.NAME"; NewFromMeta rebuilds the same workload
//     from that metadata.
//   - A registry. Names, Describe and New list, document and build the
//     workloads; unknown names, unknown parameters and bad values are
//     errors that say what is accepted. A new workload is one file that
//     calls register from an init function.
package workload
