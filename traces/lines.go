package traces

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MaxLineBytes bounds the length of one line (without its line ending).
// A longer line is an error, so a binary file or a runaway generator costs
// at most this much memory.
const MaxLineBytes = 64 << 10

// lines yields the meaningful lines of a text trace: comments stripped,
// blanks trimmed, blank lines skipped, with their line numbers.
type lines struct {
	sc   *bufio.Scanner
	name string
	n    int // number of the line last scanned
}

func newLines(r io.Reader, name string) *lines {
	sc := bufio.NewScanner(r)
	// Room for the longest accepted line plus "\r\n": anything that does
	// not fit is reported as too long instead of being split.
	sc.Buffer(make([]byte, 0, 4096), MaxLineBytes+2)
	return &lines{sc: sc, name: name}
}

// next returns the next non-blank line without comment and surrounding
// blanks. The bytes are valid until the following call. It returns io.EOF
// at the end, a *SyntaxError for a line that is too long, or the reader's
// own error wrapped with the line number.
func (l *lines) next() ([]byte, error) {
	for l.sc.Scan() {
		l.n++
		b := l.sc.Bytes()
		if len(b) > MaxLineBytes {
			return nil, l.tooLong()
		}
		if i := bytes.IndexByte(b, '#'); i >= 0 {
			b = b[:i]
		}
		if b = trimBlanks(b); len(b) > 0 {
			return b, nil
		}
	}
	switch err := l.sc.Err(); {
	case err == nil:
		return nil, io.EOF
	case errors.Is(err, bufio.ErrTooLong):
		l.n++
		return nil, l.tooLong()
	default:
		return nil, fmt.Errorf("%s: reading line %d: %w", l.name, l.n+1, err)
	}
}

func (l *lines) tooLong() error {
	return &SyntaxError{Name: l.name, Line: l.n,
		Err: fmt.Errorf("%w: more than %d bytes", ErrLineTooLong, MaxLineBytes)}
}

// errorf builds the error for the line last returned.
func (l *lines) errorf(text []byte, err error) error {
	return &SyntaxError{Name: l.name, Line: l.n, Text: shown(text), Err: err}
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

func trimBlanks(b []byte) []byte {
	for len(b) > 0 && isBlank(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isBlank(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// cutToken splits off the first token of b; rest starts right after it.
func cutToken(b []byte) (tok, rest []byte) {
	for len(b) > 0 && isBlank(b[0]) {
		b = b[1:]
	}
	i := 0
	for i < len(b) && !isBlank(b[i]) {
		i++
	}
	return b[:i], b[i:]
}

// operands splits b into exactly len(dst) tokens; ok is false when there
// are fewer or more.
func operands(b []byte, dst [][]byte) (ok bool) {
	for i := range dst {
		dst[i], b = cutToken(b)
		if len(dst[i]) == 0 {
			return false
		}
	}
	return len(trimBlanks(b)) == 0
}
