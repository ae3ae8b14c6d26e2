package traces

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Expected conditions a caller may want to tell apart, matched with
// errors.Is. They always arrive wrapped in a *SyntaxError that says where.
var (
	// ErrNotTrace: the first non-blank, non-comment line is not a
	// `pgmtrace` line (or there is no such line). A caller that accepts
	// several formats may try another one.
	ErrNotTrace = errors.New(`not a text trace (the first line must be "pgmtrace 1")`)
	// ErrVersion: a `pgmtrace` line with a version this reader does not know.
	ErrVersion = errors.New("unsupported trace version")
	// ErrLineTooLong: a line longer than MaxLineBytes.
	ErrLineTooLong = errors.New("line too long")
	// ErrTooManyEvents: ReadTextFile met more than MaxFileEvents events.
	ErrTooManyEvents = errors.New("too many events")
)

// SyntaxError is a trace the reader (or a header or event the writer)
// rejects, with where it happened.
type SyntaxError struct {
	Name string // the name given to NewTextReader, usually the file name
	Line int    // 1-based line number; 0 when no line is to blame (empty input, writer errors)
	Text string // the offending line without its comment, shortened; may be empty
	Err  error  // what is wrong
}

func (e *SyntaxError) Error() string {
	var b strings.Builder
	b.WriteString(e.Name)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Text != "" {
		b.WriteString(e.Text)
		b.WriteString(": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("syntax error")
	}
	return b.String()
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// maxShown bounds how much of an input line or token an error message
// repeats: messages must stay readable whatever the input.
const maxShown = 64

// shown renders input bytes for an error message: shortened, and quoted
// when they hold anything a terminal would not print as is.
func shown(b []byte) string {
	cut := len(b) > maxShown
	if cut {
		n := maxShown
		for n > 0 && !utf8.RuneStart(b[n]) {
			n--
		}
		b = b[:n]
	}
	s := string(b)
	if !printable(s) {
		s = strconv.QuoteToASCII(s)
	}
	if cut {
		s += "..."
	}
	return s
}

// printable reports whether s is valid UTF-8 without control characters
// other than tab. Bidirectional controls (U+202E RIGHT-TO-LEFT OVERRIDE
// and its kin) and the Unicode line and paragraph separators count as
// control characters: printed in a terminal they reorder or break what
// follows, so a label could make a listing or an error message say
// something other than what the trace holds.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if (r < 0x20 && r != '\t') || (r >= 0x7f && r < 0xa0) || r >= 0x61c && isFormatControl(r) {
			return false
		}
	}
	return true
}

// isFormatControl reports the bidirectional controls (ALM, LRM, RLM, the
// embeddings and overrides LRE..RLO, the isolates LRI..PDI) and U+2028,
// U+2029.
func isFormatControl(r rune) bool {
	switch {
	case r == 0x61c, r == 0x200e, r == 0x200f:
		return true
	case r >= 0x2028 && r <= 0x202e:
		return true
	case r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// Shown is s as it may be printed to a terminal: as it is when printable
// (see above), else quoted with Go's escapes. For labels and names from a
// trace, which the readers already refuse when not printable.
func Shown(s string) string {
	if printable(s) {
		return s
	}
	return strconv.QuoteToASCII(s)
}
