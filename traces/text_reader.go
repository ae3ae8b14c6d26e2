package traces

import (
	"fmt"
	"io"

	"github.com/pgm-explorer/pgm-explorer/engine"
)

// TextReader reads a text trace as a stream: the header when it is made,
// then one event per call to Next. It holds one line at a time, so its
// memory does not grow with the trace.
type TextReader struct {
	lines  *lines
	hdr    Header
	ranges rangeSet

	// The first event line ends the header, so NewTextReader has already
	// parsed it: Next hands it out first.
	pending     bool
	pendingEv   engine.Event
	pendingLine int

	line int   // line of the event last returned
	err  error // sticky: once failed, always failed
}

// NewTextReader reads and validates the header of a text trace from r:
// everything up to and including the first event line. name is used in
// error messages (usually the file name). Any problem in that part is
// returned here, as a *SyntaxError (matching ErrNotTrace or ErrVersion
// when the first line is wrong) or as r's own error.
func NewTextReader(r io.Reader, name string) (*TextReader, error) {
	if name == "" {
		name = "trace"
	}
	tr := &TextReader{lines: newLines(r, name)}
	first, err := tr.lines.next()
	if err == io.EOF {
		return nil, &SyntaxError{Name: name, Err: fmt.Errorf("%w: no line before the end of the input", ErrNotTrace)}
	}
	if err != nil {
		return nil, err
	}
	if err := checkMagic(first); err != nil {
		return nil, tr.lines.errorf(first, err)
	}
	hb := newHeaderBuilder()
	for {
		b, err := tr.lines.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		kw, rest := cutToken(b)
		if headerKeywords[string(kw)] {
			if err := hb.line(string(kw), rest); err != nil {
				return nil, tr.lines.errorf(b, err)
			}
			continue
		}
		// Ranges must be known to check a pw or pr, so the header is
		// finished before the first event is parsed.
		if tr.hdr, err = hb.finish(); err != nil {
			return nil, tr.lines.errorf(b, err)
		}
		tr.ranges = newRangeSet(tr.hdr.Config.Ranges)
		ev, err := tr.parseEvent(b)
		if err != nil {
			return nil, tr.lines.errorf(b, err)
		}
		tr.pending, tr.pendingEv, tr.pendingLine = true, ev, tr.lines.n
		return tr, nil
	}
	if tr.hdr, err = hb.finish(); err != nil {
		return nil, &SyntaxError{Name: name, Line: tr.lines.n, Err: err}
	}
	tr.err = io.EOF
	return tr, nil
}

// checkMagic checks the first meaningful line: `pgmtrace 1`.
func checkMagic(b []byte) error {
	var tok [2][]byte
	kw, _ := cutToken(b)
	if string(kw) != "pgmtrace" {
		return ErrNotTrace
	}
	if !operands(b, tok[:]) {
		return fmt.Errorf("%w: want `pgmtrace %d`", ErrNotTrace, Version)
	}
	v, err := parseUint(tok[1])
	if err != nil {
		return fmt.Errorf("%w %s: %v", ErrVersion, shown(tok[1]), err)
	}
	if v != Version {
		return fmt.Errorf("%w %d (this reader knows version %d)", ErrVersion, v, Version)
	}
	return nil
}

// Header is the trace's header, normalised. The reader keeps no use for
// its slices and map after NewTextReader: changing them does not affect
// the events that follow.
func (tr *TextReader) Header() Header { return tr.hdr }

// Next returns the next event, io.EOF after the last one, or an error
// (a *SyntaxError naming the line, or the underlying reader's error).
// After an error every call returns the same error. Every event returned
// passes engine.Event.Validate, carries no field its kind does not use,
// and a pw or pr event lies entirely inside the declared ranges.
func (tr *TextReader) Next() (engine.Event, error) {
	if tr.pending {
		tr.pending = false
		tr.line = tr.pendingLine
		return tr.pendingEv, nil
	}
	if tr.err != nil {
		return engine.Event{}, tr.err
	}
	b, err := tr.lines.next()
	if err != nil {
		tr.err = err
		return engine.Event{}, err
	}
	ev, err := tr.parseEvent(b)
	if err != nil {
		tr.err = tr.lines.errorf(b, err)
		return engine.Event{}, tr.err
	}
	tr.line = tr.lines.n
	return ev, nil
}

// Line is the line number of the event Next last returned (0 before the
// first).
func (tr *TextReader) Line() int { return tr.line }
