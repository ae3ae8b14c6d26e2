// Package traces reads and writes PGM Explorer traces in two forms: the
// text form (version 1), one header line or event per line, as the
// project's trace text contract specifies, and a compact binary form
// (msgpack blocks of delta-coded events). Open and Create choose the form
// (by content when reading, by name when writing); the two convert into
// each other without loss. Package traces/workload generates traces from
// live guest models, traces/samples holds the committed sample corpus.
//
// The engine keeps its values plain and this package encodes them: the
// outcome lines of `replay --outcomes=jsonl` (AppendOutcomeJSON) and
// saved machine states (EncodeState, DecodeState, and SaveState and
// LoadState for an engine), so that the engine depends on the standard
// library alone.
//
// What callers may rely on (the binary reader gives the same guarantees,
// with errors that name the event index and byte offset):
//
//   - Streaming. A TextReader holds one line at a time; its memory does
//     not grow with the number of events. Header text is bounded too
//     (MaxLineBytes per line, phys.MaxRanges ranges, MaxNameBytes per
//     range name, MaxMetaEntries meta lines of at most MaxMetaBytes).
//   - Validation. The header returned is normalised (engine defaults
//     filled in), its ranges pass phys.CheckRange in declaration order,
//     and every event passes engine.Event.Validate, uses only the fields
//     its kind needs, writes a value that fits its access size, and, for
//     pw and pr, lies entirely inside the declared ranges. An engine can
//     apply what a reader hands it without checking it again.
//   - Errors. Bad input never panics. It yields a *SyntaxError that
//     names the input, the line and the offending text, e.g.
//     "trace.txt:12: w3 0x1000 5: access size 3 is not 1, 2, 4 or 8".
//     Expected conditions are sentinels matched with errors.Is:
//     ErrNotTrace, ErrVersion, ErrLineTooLong, ErrTooManyEvents, and
//     engine.ErrOutsideRAM for a pw or pr outside every range. Nothing is
//     guessed: an unknown line is an error, never skipped.
//   - Round trip. A TextWriter writes the canonical form and refuses
//     whatever the reader would refuse or alter, so reading what it wrote
//     yields exactly the header and events it was given (after the
//     header's normalisation). Canonical means: hexadecimal addresses and
//     values, decimal cpl and pool, range sizes in the largest exact unit
//     of K, M or G, single spaces, no comments.
//
// Additions to the contract: the hypervisor-side events and header lines
// listed in the README (handlers, balloon, share, reset, save and
// restore, mappings, `paging ept`, `cpu no-pae`), and these two:
//
//   - `maxphyaddr N` sets MAXPHYADDR (x86.MinMaxPhys..x86.MaxMaxPhys,
//     default x86.DefaultMaxPhys). It must precede every range line, as
//     ranges are checked against it.
//   - `meta KEY VALUE` carries free-form metadata into Header.Meta. KEY is
//     letters, digits, '.', '_', '-' and '/'; VALUE is the rest of the
//     line (possibly empty). Each key appears at most once.
//
// Where the contract is silent, this package decides: a decimal number
// may not have a leading zero (0755 is an error, not octal); K, M and G
// are accepted on the start and size of range lines and nowhere else; `host`, `paging`, `pool` and
// `maxphyaddr` appear at most once; free text (range names, meta values,
// labels) must be valid UTF-8 without control characters other than tab.
package traces
