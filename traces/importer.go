package traces

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"

	"github.com/pgm-explorer/pgm-explorer/engine"
)

// Importer turns a file of another format into a trace as it is opened:
// a QEMU guest-memory core (package traces/qemu registers one) reads as
// the trace that rebuilds its address space. Every command that opens a
// trace through Open, NewReader or OpenSeeker then accepts such a file.
type Importer struct {
	Name  string // what the format is, for messages ("QEMU ELF core")
	Magic []byte // the first bytes of every such file; must not start a text or binary trace
	// Open reads the file (random access: a core is read where its page
	// tables are, never whole) and returns the trace. name is for
	// messages.
	Open func(r io.ReaderAt, size int64, name string) (Reader, error)
}

var (
	importersMu sync.RWMutex
	importers   []Importer
)

// RegisterImporter adds an importer. Packages call it from init; the
// program that wants the format imports the package (the browser build
// does not, so it carries no importer it does not need).
func RegisterImporter(im Importer) {
	importersMu.Lock()
	defer importersMu.Unlock()
	importers = append(importers, im)
}

// ErrNeedsFile is matched by the error for a foreign file read from a
// stream (a pipe, say) that an importer can only read with random access.
var ErrNeedsFile = errors.New("needs random access (a file, not a stream)")

// importerFor returns the importer whose magic starts head.
func importerFor(head []byte) (Importer, bool) {
	importersMu.RLock()
	defer importersMu.RUnlock()
	for _, im := range importers {
		if len(im.Magic) > 0 && bytes.HasPrefix(head, im.Magic) {
			return im, true
		}
	}
	return Importer{}, false
}

// openImported runs im on r, which must give random access and its size
// (an *os.File does, and so does a *bytes.Reader).
func openImported(im Importer, r io.Reader, name string) (Reader, error) {
	ra, ok := r.(io.ReaderAt)
	if !ok {
		return nil, fmt.Errorf("%s: a %s %w", name, im.Name, ErrNeedsFile)
	}
	var size int64
	switch s := r.(type) {
	case interface{ Stat() (fs.FileInfo, error) }:
		st, err := s.Stat()
		if err != nil {
			return nil, err
		}
		size = st.Size()
	case interface{ Size() int64 }:
		size = s.Size()
	default:
		return nil, fmt.Errorf("%s: a %s %w", name, im.Name, ErrNeedsFile)
	}
	rd, err := im.Open(ra, size, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return rd, nil
}

// EventsReader is a Reader over events held in memory, for importers.
type EventsReader struct {
	h    Header
	ev   []engine.Event
	i    int
	name string
}

// NewEventsReader returns a Reader of h and events; name is for Position.
// The header goes through the text form and back, so that it obeys
// every rule a trace file's header does and reads normalised.
func NewEventsReader(name string, h Header, events []engine.Event) (*EventsReader, error) {
	text, err := AppendHeader(nil, h)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	tr, err := NewTextReader(bytes.NewReader(text), name)
	if err != nil {
		return nil, err
	}
	return &EventsReader{h: tr.Header(), ev: events, name: name}, nil
}

func (r *EventsReader) Header() Header { return r.h }

func (r *EventsReader) Next() (engine.Event, error) {
	if r.i >= len(r.ev) {
		return engine.Event{}, io.EOF
	}
	e := r.ev[r.i]
	r.i++
	if err := e.Validate(); err != nil {
		return engine.Event{}, fmt.Errorf("%s: %w", r.Position(), err)
	}
	return e, nil
}

// Position is "NAME: event N" for the event Next last returned.
func (r *EventsReader) Position() string { return fmt.Sprintf("%s: event %d", r.name, max(r.i-1, 0)) }

// Len is the number of events.
func (r *EventsReader) Len() int { return len(r.ev) }
