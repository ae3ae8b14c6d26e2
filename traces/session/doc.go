// Package session is the one way the explorer replays a guest: the
// command line (replay, info, render, analyze, diff, export), the desktop
// window and the browser all step through a Session.
//
// A Session joins a Source of events (a trace file of either form or a
// core through traces.Open, trace bytes, an embedded sample, a live
// workload, a list computed up front such as an x86 recording, or a list
// that grows while the guest runs) to an engine built from the source's
// header with the caller's Overrides applied over it. Overrides.Apply is
// the only place where a header's configuration is changed by a user's
// choice.
//
// What callers may rely on:
//
//   - Determinism. Stepping a session through n events leaves the engine
//     exactly where engine.Apply of the same n events on a new engine of
//     the same configuration leaves it; the session adds no events and
//     applies none twice.
//   - Errors. Step returns io.EOF once the source has ended (the end is
//     permanent until Seek or Reset), ErrNoEvents when a growing source has
//     nothing more yet (ask again later: the session is unchanged), and a
//     *StepError when the engine refuses an event, naming the source
//     position and the event. A refused event leaves the engine as it was.
//   - Peek. Peek reads the next event without applying it; the following
//     Step applies that same event.
//   - Seeking. Seek(n) brings the engine to the state after events
//     0..n-1. A file opened with OpenFile and Options.Seek set seeks
//     through checkpoints (traces.Seeker); every other source replays from
//     the start when it must go back. After a seek through a checkpoint the
//     engine is a new one (Engine returns it) whose counters count from
//     that checkpoint (StatsFrom); the guest-visible state is the one a
//     plain replay reaches.
//   - Totals. Total reports the number of events once it is known: a
//     checkpointed file's length from the start, any other finite source's
//     once its end has been read. A growing source has no total until it
//     ends.
//   - Concurrency. A Session is used from one goroutine. Growing is the
//     exception among sources: its Append and End may be called from
//     another goroutine while the session reads it.
//
// The package builds for js/wasm; it imports the engine and the trace
// packages only.
package session
