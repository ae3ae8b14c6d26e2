package traces

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/pgm-explorer/pgm-explorer/engine"
)

// MaxFileEvents bounds how many events ReadTextFile keeps in memory
// (about 40 bytes each, plus label texts). Longer traces are meant to be
// streamed with a TextReader.
const MaxFileEvents = 1 << 20

// ReadTextFile reads a whole text trace into memory, for tests and small
// tools. A trace with more than MaxFileEvents events is an error matching
// ErrTooManyEvents.
func ReadTextFile(path string) (Header, []engine.Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return Header{}, nil, err
	}
	defer f.Close()
	return readAll(f, path, MaxFileEvents)
}

// readAll reads a whole trace, keeping at most max events.
func readAll(r io.Reader, name string, max int) (Header, []engine.Event, error) {
	tr, err := NewTextReader(r, name)
	if err != nil {
		return Header{}, nil, err
	}
	var evs []engine.Event
	for {
		ev, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return tr.Header(), evs, nil
		}
		if err != nil {
			return tr.Header(), evs, err
		}
		if len(evs) == max {
			return tr.Header(), evs, &SyntaxError{Name: name, Line: tr.Line(),
				Err: fmt.Errorf("%w: more than %d", ErrTooManyEvents, max)}
		}
		evs = append(evs, ev)
	}
}

// Encode writes a whole trace to w in form f (FormText or FormBinary;
// a binary trace announces its event count). It checks the header and
// every event as the writers do, naming the index of a refused event.
// To write a user's file, go through a temporary file renamed into place
// (the explorer's internal/safeout), so that a failure leaves no half
// trace.
func Encode(w io.Writer, f Form, h Header, events []engine.Event) error {
	var tw Writer
	var err error
	switch f {
	case FormText:
		t := NewTextWriter(w)
		tw, err = t, t.WriteHeader(h)
	case FormBinary:
		b := NewBinaryWriter(w)
		tw, err = b, b.WriteHeaderCount(h, uint64(len(events)))
	default:
		return fmt.Errorf("cannot encode a trace in the %v form", f)
	}
	if err != nil {
		return err
	}
	for i, ev := range events {
		if err := tw.WriteEvent(ev); err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
	}
	return tw.Close()
}
