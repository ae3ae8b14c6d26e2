package traces

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// TextWriter writes a trace in the canonical text form. It refuses a
// header or an event the reader would refuse, so that reading what it
// wrote gives back exactly the header and events it was given.
type TextWriter struct {
	w      *bufio.Writer
	ranges rangeSet
	header bool  // WriteHeader succeeded
	err    error // sticky write error
	buf    []byte
}

// NewTextWriter writes to w, buffered: call Flush at the end.
func NewTextWriter(w io.Writer) *TextWriter {
	return &TextWriter{w: bufio.NewWriterSize(w, 64<<10)}
}

var errNoHeader = errors.New("traces: WriteEvent before WriteHeader")

// WriteHeader writes h, once, before any event. Its configuration is
// normalised first, so defaults are written out: `pgmtrace 1`, then
// `maxphyaddr` if not the default, `host`, `paging`, `pool`, `meta`
// lines sorted by key, and the ranges in their order.
func (tw *TextWriter) WriteHeader(h Header) error {
	if tw.err != nil {
		return tw.err
	}
	if tw.header {
		return &SyntaxError{Name: "header", Err: errors.New("a second header")}
	}
	b, err := AppendHeader(tw.buf[:0], h)
	if err != nil {
		return err
	}
	tw.buf = b
	tw.ranges = newRangeSet(h.Config.Ranges)
	tw.header = true
	return tw.write(b)
}

// AppendHeader appends the canonical text of h (see WriteHeader), or
// returns a *SyntaxError naming what the reader would refuse.
func AppendHeader(dst []byte, h Header) ([]byte, error) {
	fail := func(err error) ([]byte, error) {
		return dst, &SyntaxError{Name: "header", Err: err}
	}
	if h.Version != 0 && h.Version != Version {
		return fail(fmt.Errorf("%w %d (this writer writes version %d)", ErrVersion, h.Version, Version))
	}
	c, err := h.Config.Normalized()
	if err != nil {
		return fail(err)
	}
	dst = append(dst, "pgmtrace "...)
	dst = strconv.AppendInt(dst, Version, 10)
	dst = append(dst, '\n')
	if c.MaxPhys != x86.DefaultMaxPhys {
		dst = append(dst, "maxphyaddr "...)
		dst = strconv.AppendUint(dst, uint64(c.MaxPhys), 10)
		dst = append(dst, '\n')
	}
	if c.NoPAE {
		dst = append(dst, "cpu no-pae\n"...)
	}
	if c.DirtyPT {
		dst = append(dst, "option dirty-pt\n"...)
	}
	for _, m := range c.Mappings {
		dst = append(dst, "mapping "...)
		dst = append(dst, m.Name...)
		dst = append(dst, ' ')
		dst = append(dst, phys.FormatSize(m.Size)...)
		dst = append(dst, '\n')
	}
	dst = append(dst, "host "...)
	dst = append(dst, c.Host.TraceName()...)
	dst = append(dst, "\npaging "...)
	dst = append(dst, c.Paging.String()...)
	dst = append(dst, "\npool "...)
	dst = strconv.AppendInt(dst, int64(c.PoolPages), 10)
	dst = append(dst, '\n')

	keys := make([]string, 0, len(h.Meta))
	for k := range h.Meta {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		v := h.Meta[k]
		if err := checkMeta(k, v, i); err != nil {
			return fail(err)
		}
		dst = append(dst, "meta "...)
		dst = append(dst, k...)
		if v != "" {
			dst = append(dst, ' ')
			dst = append(dst, v...)
		}
		dst = append(dst, '\n')
	}

	for i, r := range c.Ranges {
		kw, ok := rangeKeyword(r.Type)
		if !ok {
			return fail(fmt.Errorf("range %d: a %v range has no text form (want RAM, ROM or MMIO)", i, r.Type))
		}
		if err := checkRange(c.Ranges[:i], r, c.MaxPhys); err != nil {
			return fail(fmt.Errorf("range %d: %w", i, err))
		}
		dst = append(dst, kw...)
		dst = append(dst, ' ')
		dst = appendHex(dst, uint64(r.Start))
		dst = append(dst, ' ')
		dst = appendSize(dst, r.Size)
		if r.Name != "" {
			dst = append(dst, ' ')
			dst = append(dst, r.Name...)
		}
		dst = append(dst, '\n')
	}
	return dst, nil
}

// WriteEvent writes one event line. It returns a *SyntaxError for an
// event the reader would refuse or change: an invalid kind or size, a
// value that does not fit the access, a field the kind does not use, a
// pw or pr outside the header's ranges, a label that is empty, has
// surrounding blanks, or contains '#', a line break or a control
// character.
func (tw *TextWriter) WriteEvent(e engine.Event) error {
	if tw.err != nil {
		return tw.err
	}
	if !tw.header {
		return errNoHeader
	}
	if err := checkCanonical(e); err != nil {
		return &SyntaxError{Name: "event", Text: shown(AppendEvent(nil, e)), Err: err}
	}
	if err := checkEvent(e, tw.ranges); err != nil {
		return &SyntaxError{Name: "event", Text: shown(AppendEvent(nil, e)), Err: err}
	}
	tw.buf = append(AppendEvent(tw.buf[:0], e), '\n')
	return tw.write(tw.buf)
}

func (tw *TextWriter) write(b []byte) error {
	if _, err := tw.w.Write(b); err != nil {
		tw.err = err
	}
	return tw.err
}

// Flush writes any buffered data to the underlying writer.
func (tw *TextWriter) Flush() error {
	if tw.err != nil {
		return tw.err
	}
	tw.err = tw.w.Flush()
	return tw.err
}

// AppendEvent appends the canonical text of e, without a line ending:
// hexadecimal for addresses and values, decimal for cpl, e.g.
// `w4 0x400000 0xdeadbeef`, `cpl 3`, `label process 3 forks`. It does not
// validate e (WriteEvent does): an invalid event still renders as
// something readable for an error message.
func AppendEvent(dst []byte, e engine.Event) []byte {
	dst = append(dst, e.Kind.String()...)
	if e.Kind.Sized() {
		dst = strconv.AppendUint(dst, uint64(e.Size), 10)
	}
	switch e.Kind {
	case engine.EvCR0, engine.EvCR3, engine.EvCR4, engine.EvEFER:
		dst = append(dst, ' ')
		dst = appendHex(dst, e.Value)
	case engine.EvCPL, engine.EvAC:
		dst = append(dst, ' ')
		dst = strconv.AppendUint(dst, e.Value, 10)
	case engine.EvPKRU:
		dst = append(dst, ' ')
		dst = appendHex(dst, e.Value)
	case engine.EvInvpcid:
		// The address is written for type 0, and for the other types
		// when the trace gave one (ignored there, kept for round trips).
		dst = append(dst, ' ')
		dst = strconv.AppendUint(dst, uint64(e.Size), 10)
		dst = append(dst, ' ')
		dst = strconv.AppendUint(dst, e.Value, 10)
		if e.Size == 0 || e.Addr != 0 {
			dst = append(dst, ' ')
			dst = appendHex(dst, e.Addr)
		}
	case engine.EvPhysWrite, engine.EvWrite:
		dst = append(dst, ' ')
		dst = appendHex(dst, e.Addr)
		dst = append(dst, ' ')
		dst = appendHex(dst, e.Value)
	case engine.EvPhysRead, engine.EvRead, engine.EvExec, engine.EvInvlpg:
		dst = append(dst, ' ')
		dst = appendHex(dst, e.Addr)
	case engine.EvLabel:
		dst = append(dst, ' ')
		dst = append(dst, e.Text...)
	case engine.EvPhysHandler, engine.EvVirtHandler:
		dst = append(dst, ' ')
		if e.Kind == engine.EvPhysHandler {
			dst = append(dst, engine.PhysHandlerType(e.Size).String()...)
		} else {
			dst = append(dst, engine.VirtHandlerType(e.Size).String()...)
		}
		dst = append(dst, ' ')
		dst = appendHex(dst, e.Addr)
		dst = append(dst, ' ')
		dst = appendHex(dst, e.Value)
		if e.Text != "" {
			dst = append(dst, ' ')
			dst = append(dst, e.Text...)
		}
	case engine.EvPhysUnhandler, engine.EvPhysHandlerReset, engine.EvBalloon, engine.EvDeflate, engine.EvVirtUnhandler:
		dst = append(dst, ' ')
		dst = appendHex(dst, e.Addr)
	case engine.EvPhysHandlerOff:
		dst = append(dst, ' ')
		dst = appendHex(dst, e.Addr)
		dst = append(dst, ' ')
		dst = appendHex(dst, e.Value)
	case engine.EvSave, engine.EvRestore:
		dst = append(dst, ' ')
		dst = append(dst, e.Text...)
	case engine.EvMappingsFix:
		dst = append(dst, ' ')
		dst = appendHex(dst, e.Addr)
		dst = append(dst, ' ')
		dst = appendHex(dst, e.Value)
	}
	return dst
}
