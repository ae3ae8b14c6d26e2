package x86

import (
	"fmt"
	"strings"
)

// Dump renders the walk as text for logs, info commands and golden files:
// a line with the (truncated) linear address, one line per level visited
// (level, index, where the entry was, its raw value, its flags and the
// rights accumulated so far), then one line with the outcome (for a
// protection fault, the rule that refused the access). The level
// that stopped a not-present or reserved-bit walk shows "-" for rights:
// it granted nothing. The output is stable: tests compare it byte for
// byte.
func (w *Walk) Dump() string {
	var b strings.Builder
	fmt.Fprintf(&b, "va %#x\n", uint64(w.VA))
	for i := 0; i < w.N; i++ {
		s := &w.Steps[i]
		digits := 16
		if s.size == 4 {
			digits = 8
		}
		where := fmt.Sprintf("@%#x", uint64(s.EntryAddr))
		if s.Register {
			where += " (register)"
		}
		rights := s.Rights.String()
		if i == w.N-1 && (w.Fault.Kind == NotPresent || w.Fault.Kind == ReservedBit) {
			rights = "-"
		}
		fmt.Fprintf(&b, "  %-4s [%3d] %s = %#0*x %s %s", s.Level, s.Index, where, digits, uint64(s.Entry), s.Entry.FlagString(), rights)
		if s.Big { // only a leaf that passed its checks is marked big
			fmt.Fprintf(&b, " (%s page)", sizeName(w.PageShift))
		}
		b.WriteByte('\n')
	}
	switch {
	case w.Fault.Kind == Protection:
		// Which rule refused the access (SMEP, SMAP, a key, or the
		// entries' own rights) is what a reader of a protection fault asks.
		fmt.Fprintf(&b, "=> %v at %v: %s\n", w.Fault, w.Steps[w.Fault.Level].Level, w.Fault.Reason())
	case w.Fault.Kind != NoFault && w.Fault.IsPF():
		fmt.Fprintf(&b, "=> %v at %v\n", w.Fault, w.Steps[w.Fault.Level].Level)
	case w.Fault.Kind != NoFault:
		fmt.Fprintf(&b, "=> %v\n", w.Fault)
	case w.N == 0:
		fmt.Fprintf(&b, "=> %#x, %s (no paging)\n", uint64(w.GPA), w.Rights)
	default:
		fmt.Fprintf(&b, "=> %#x, %s page, %s\n", uint64(w.GPA), sizeName(w.PageShift), w.Rights)
	}
	return b.String()
}

// sizeName writes a page size of 1<<shift bytes as 4K, 2M, 4M or 1G.
func sizeName(shift uint8) string {
	switch {
	case shift >= 30:
		return fmt.Sprintf("%dG", 1<<(shift-30))
	case shift >= 20:
		return fmt.Sprintf("%dM", 1<<(shift-20))
	}
	return fmt.Sprintf("%dK", 1<<(shift-10))
}
