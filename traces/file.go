package traces

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

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

// WriteFile writes a whole trace to path, in the form FormOf(path)
// names, through a temporary file beside it that is renamed into place:
// path never holds a half-written trace, and what it held stays until
// the new trace is complete. A binary trace announces its event count.
func WriteFile(path string, h Header, events []engine.Event) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	name := tmp.Name()
	tmp.Close()
	defer func() {
		if err != nil {
			os.Remove(name)
		}
	}()
	// The form follows path's name, not the temporary file's.
	w, err := createForm(name, FormOf(path), h, uint64(len(events)), true)
	if err != nil {
		return err
	}
	for i, ev := range events {
		if err := w.WriteEvent(ev); err != nil {
			w.Close()
			return fmt.Errorf("%s: event %d: %w", path, i, err)
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	return os.Rename(name, path)
}
