package traces

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine"
)

// Reader is what both forms' readers do: *TextReader and *BinaryReader.
type Reader interface {
	// Header is the trace's header, normalised.
	Header() Header
	// Next returns the next event, io.EOF after the last one, or an
	// error that says where (a *SyntaxError or a *FormatError).
	Next() (engine.Event, error)
	// Position names the event Next last returned, for messages:
	// "FILE:LINE" for a text trace, "FILE: event N" for a binary one.
	Position() string
}

// Writer is what both forms' writers do once the header is written:
// *TextWriter and *BinaryWriter, and the writers Create returns.
type Writer interface {
	// WriteEvent adds an event, or returns a *SyntaxError for one the
	// readers would refuse.
	WriteEvent(engine.Event) error
	// Close completes the trace (and closes the file, for Create's).
	Close() error
}

// Position is "NAME:LINE" for the event Next last returned.
func (tr *TextReader) Position() string {
	return tr.lines.name + ":" + strconv.Itoa(tr.line)
}

// Close flushes the writer; it does not close the underlying writer.
func (tw *TextWriter) Close() error { return tw.Flush() }

// Form is how a trace is stored.
type Form uint8

const (
	FormText     Form = 1
	FormBinary   Form = 2
	FormImported Form = 3 // another format read through an Importer (a QEMU core)
)

func (f Form) String() string {
	switch f {
	case FormText:
		return "text"
	case FormBinary:
		return "binary"
	case FormImported:
		return "imported"
	}
	return "Form(" + strconv.Itoa(int(f)) + ")"
}

// FormOf is the form Create writes for a file name: text for names ending
// in ".txt" (in any case), binary for every other name (BinaryExt,
// ".pgmt", is the convention).
func FormOf(path string) Form {
	if strings.EqualFold(filepath.Ext(path), ".txt") {
		return FormText
	}
	return FormBinary
}

// File is a trace file opened for reading: its Reader is a *TextReader
// or a *BinaryReader.
type File struct {
	Reader
	Form Form
	f    *os.File
}

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

// Open opens a trace file of either form, telling them apart by content
// (the binary magic), not by name, and reads its header. Errors are those
// of NewReader, or the file system's.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	rd, form, err := NewReader(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &File{Reader: rd, Form: form, f: f}, nil
}

// NewReader reads the header of a trace of either form from r, telling
// them apart by the first byte: the binary magic's (0xa8) cannot start a
// text trace, which is UTF-8. name is used in error messages. Errors are
// those of NewTextReader (ErrNotTrace when r is neither form) and
// NewBinaryReader.
func NewReader(r io.Reader, name string) (Reader, Form, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	if head, _ := br.Peek(16); len(head) > 0 {
		if im, ok := importerFor(head); ok {
			rd, err := openImported(im, r, name)
			return rd, FormImported, err
		}
	}
	if b, err := br.Peek(1); err == nil && b[0] == binaryMagic[0] {
		rd, err := NewBinaryReader(br, name)
		if err != nil {
			return nil, FormBinary, err
		}
		return rd, FormBinary, nil
	}
	rd, err := NewTextReader(br, name)
	if err != nil {
		return nil, FormText, err
	}
	return rd, FormText, nil
}

// fileWriter is a Writer that closes its file.
type fileWriter struct {
	Writer
	f *os.File
}

func (w *fileWriter) Close() error {
	err := w.Writer.Close()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Create creates (or truncates) the file at path and writes h to it, in
// the form FormOf(path) names. Close the Writer to complete the trace.
// A header the writers refuse is an error before the file is touched.
// (The explorer command writes through a temporary file renamed into
// place instead: see package internal/safeout.)
func Create(path string, h Header) (Writer, error) {
	return create(path, h, 0, false)
}

// CreateCount is Create for a trace that will hold exactly n events: a
// binary header announces them (see BinaryWriter.WriteHeaderCount); the
// text form has no place for the number and ignores it.
func CreateCount(path string, h Header, n uint64) (Writer, error) {
	return create(path, h, n, true)
}

func create(path string, h Header, n uint64, known bool) (Writer, error) {
	// Check the header before the file is touched: a header the writers
	// refuse must not cost the user a file that was there.
	if err := NewTextWriter(io.Discard).WriteHeader(h); err != nil {
		return nil, err
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	var w Writer
	switch FormOf(path) {
	case FormText:
		tw := NewTextWriter(f)
		err, w = tw.WriteHeader(h), tw
	default:
		bw := NewBinaryWriter(f)
		if known {
			err = bw.WriteHeaderCount(h, n)
		} else {
			err = bw.WriteHeader(h)
		}
		w = bw
	}
	if err != nil {
		f.Close()
		var se *SyntaxError
		if errors.As(err, &se) {
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &fileWriter{Writer: w, f: f}, nil
}
