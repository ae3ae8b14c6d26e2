package traces

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

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
	name, err := tempBeside(path)
	if err != nil {
		return err
	}
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

// tempBeside creates a new empty file beside path, with the permissions
// of the file at path if there is one, else those a new file gets (0666
// less the umask, unlike os.CreateTemp's 0600), and returns its name.
func tempBeside(path string) (string, error) {
	dir, base := filepath.Split(path)
	for range 100 {
		name := filepath.Join(dir, "."+base+".tmp"+strconv.FormatUint(rand.Uint64()%1e9, 10))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		if st, serr := os.Stat(path); serr == nil && st.Mode().IsRegular() {
			err = f.Chmod(st.Mode().Perm())
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(name)
			return "", err
		}
		return name, nil
	}
	return "", fmt.Errorf("%s: no free temporary name beside it", path)
}
