package traces

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// BinaryWriter writes a trace in the binary form. Like TextWriter, it
// refuses a header or an event the readers would refuse, so that what it
// writes reads back, in either form, to exactly what it was given.
//
// Events are gathered into a block in memory and written when the block
// reaches BlockTargetBytes, on Flush and on Close. Close writes the end
// marker: a trace whose writer was not closed reads as truncated.
type BinaryWriter struct {
	w      *bufio.Writer
	enc    *msgpack.Encoder
	ranges rangeSet
	header bool
	closed bool
	err    error // sticky

	version    int    // BinaryVersion; 1 only in tests of old files
	target     int    // BlockTargetBytes; smaller in tests that want many blocks
	count      uint64 // announced in the header, if countKnown
	countKnown bool
	written    uint64

	body    []byte // events of the open block
	first   uint64 // index of its first event
	inBlock uint64
	shapes  map[shape]uint8
	prev    [numRegs]uint64 // address registers
	used    [numRegs]uint64 // when each register was last used (bw.written)
	prefix  [blockSumBytes + 2*10]byte
}

// NewBinaryWriter writes to w, buffered. Call Close at the end; it does
// not close w.
func NewBinaryWriter(w io.Writer) *BinaryWriter {
	bw := bufio.NewWriterSize(w, 64<<10)
	return &BinaryWriter{
		version: BinaryVersion,
		target:  BlockTargetBytes,
		w:       bw,
		enc:     msgpack.NewEncoder(bw),
		body:    make([]byte, 0, BlockTargetBytes+1024),
		shapes:  make(map[shape]uint8, 64),
	}
}

// WriteHeader writes the magic, the version and h, once, before any
// event. h's configuration is normalised first, so defaults are written
// out. It returns a *SyntaxError for a header the text form could not
// hold (see AppendHeader).
func (bw *BinaryWriter) WriteHeader(h Header) error {
	return bw.writeHeader(h, 0, false)
}

// WriteHeaderCount is WriteHeader for a trace that will hold exactly n
// events: the header says so (see BinaryReader.EventCount), and Close
// fails if a different number was written.
func (bw *BinaryWriter) WriteHeaderCount(h Header, n uint64) error {
	return bw.writeHeader(h, n, true)
}

func (bw *BinaryWriter) writeHeader(h Header, n uint64, known bool) error {
	if bw.err != nil {
		return bw.err
	}
	if bw.header {
		return &SyntaxError{Name: "header", Err: errors.New("a second header")}
	}
	c, err := h.Config.Normalized()
	if err != nil {
		return &SyntaxError{Name: "header", Err: err}
	}
	if len(c.Ranges) == 0 {
		c.Ranges = nil
	}
	if len(c.Mappings) == 0 {
		c.Mappings = nil
	}
	norm := Header{Version: Version, Config: c, Meta: h.Meta}
	if len(h.Meta) == 0 {
		norm.Meta = nil
	}
	if h.Version != 0 {
		norm.Version = h.Version // AppendHeader refuses a wrong one
	}
	if err := checkTextable(norm); err != nil {
		var se *SyntaxError
		if !errors.As(err, &se) {
			err = &SyntaxError{Name: "header", Err: err}
		}
		return err
	}
	bw.ranges = newRangeSet(c.Ranges)
	bw.count, bw.countKnown = n, known
	bw.header = true
	if bw.version < 2 {
		bw.err = encodeHeader(bw.enc, h, c, n, known, 1)
		return bw.err
	}
	// The header is encoded aside to be checksummed, then followed by
	// its CRC-32C as a msgpack uint32 (always five bytes).
	var buf bytes.Buffer
	if bw.err = encodeHeader(msgpack.NewEncoder(&buf), h, c, n, known, bw.version); bw.err != nil {
		return bw.err
	}
	sum := crc32.Checksum(buf.Bytes(), castagnoli)
	buf.Write([]byte{msgpcode.Uint32, byte(sum >> 24), byte(sum >> 16), byte(sum >> 8), byte(sum)})
	_, bw.err = bw.w.Write(buf.Bytes())
	return bw.err
}

// WriteEvent adds one event to the trace. It returns a *SyntaxError for an
// event the readers would refuse or change (see TextWriter.WriteEvent).
func (bw *BinaryWriter) WriteEvent(e engine.Event) error {
	if bw.err != nil {
		return bw.err
	}
	if !bw.header {
		return errNoHeader
	}
	if bw.closed {
		return errClosed
	}
	if err := checkCanonical(e); err != nil {
		return &SyntaxError{Name: "event", Text: shown(AppendEvent(nil, e)), Err: err}
	}
	if err := checkEvent(e, bw.ranges); err != nil {
		return &SyntaxError{Name: "event", Text: shown(AppendEvent(nil, e)), Err: err}
	}

	s := shape{kind: e.Kind, size: e.Size}
	reg := 0
	if e.Addr != 0 {
		reg = bw.pickReg(e.Addr)
		s.flags |= flagAddr | uint8(reg)<<flagRegShift
	}
	if e.Value != 0 {
		mode := uint8(valueVarint)
		if n := rawLen(e.Size); n < uvarintLen(e.Value) && (n == 8 || e.Value>>(8*n) == 0) {
			mode = valueRaw
		}
		s.flags |= mode << flagValueShift
	}
	if e.Text != "" {
		s.flags |= flagText
	}
	id, ok := bw.shapes[s]
	if !ok {
		if len(bw.shapes) == maxShapes {
			if err := bw.flushBlock(); err != nil {
				return err
			}
		}
		id = uint8(len(bw.shapes))
		bw.shapes[s] = id
		bw.body = append(bw.body, tagDefine, uint8(s.kind), s.size, s.flags)
	} else {
		bw.body = append(bw.body, id)
	}
	b := bw.body
	if s.flags&flagAddr != 0 {
		b = appendUvarint(b, zigzag(e.Addr-bw.prev[reg]))
		bw.prev[reg] = e.Addr
		bw.used[reg] = bw.written + 1
	}
	switch (s.flags & flagValueMask) >> flagValueShift {
	case valueVarint:
		b = appendUvarint(b, e.Value)
	case valueRaw:
		for i, v := 0, e.Value; i < rawLen(e.Size); i, v = i+1, v>>8 {
			b = append(b, byte(v))
		}
	}
	if s.flags&flagText != 0 {
		b = appendUvarint(b, uint64(len(e.Text)))
		b = append(b, e.Text...)
	}
	bw.body = b
	bw.inBlock++
	bw.written++
	if len(bw.body) >= bw.target {
		return bw.flushBlock()
	}
	return nil
}

// pickReg chooses the address register an address is delta-coded
// against: the nearest one if it is near (within 8 KiB: a delta of at
// most 2 bytes), otherwise the one least recently used, which the address
// then replaces. The registers so follow the few regions a guest works in
// at a time (code, stack, heap, kernel, page tables), whatever the kinds
// of the events. The choice is stored in each event's shape, so changing
// this policy changes sizes, never meanings.
func (bw *BinaryWriter) pickReg(addr uint64) int {
	best, bestLen := 0, 11
	for i, p := range bw.prev {
		if n := uvarintLen(zigzag(addr - p)); n < bestLen {
			best, bestLen = i, n
		}
	}
	if bestLen <= 2 {
		return best
	}
	lru := 0
	for i, u := range bw.used {
		if u < bw.used[lru] {
			lru = i
		}
	}
	return lru
}

var errClosed = errors.New("traces: write to a closed writer")

// flushBlock writes the open block, if it holds any event.
func (bw *BinaryWriter) flushBlock() error {
	if bw.inBlock == 0 || bw.err != nil {
		return bw.err
	}
	p := bw.prefix[:0]
	if bw.version >= 2 {
		p = p[:blockSumBytes] // the checksum, once the rest is known
	}
	sumAt := len(p)
	p = appendUvarint(p, bw.first)
	p = appendUvarint(p, bw.inBlock)
	if bw.version >= 2 {
		sum := crc32.Update(crc32.Checksum(p[sumAt:], castagnoli), castagnoli, bw.body)
		binary.LittleEndian.PutUint32(p, sum)
	}
	if err := bw.enc.EncodeBytesLen(len(p) + len(bw.body)); err != nil {
		bw.err = err
		return err
	}
	if _, err := bw.w.Write(p); err != nil {
		bw.err = err
		return err
	}
	if _, err := bw.w.Write(bw.body); err != nil {
		bw.err = err
		return err
	}
	bw.body = bw.body[:0]
	bw.first = bw.written
	bw.inBlock = 0
	clear(bw.shapes)
	bw.prev = [numRegs]uint64{}
	bw.used = [numRegs]uint64{}
	return nil
}

// Flush writes the open block and everything buffered to the underlying
// writer. The trace is not complete until Close.
func (bw *BinaryWriter) Flush() error {
	if err := bw.flushBlock(); err != nil {
		return err
	}
	if bw.err = bw.w.Flush(); bw.err != nil {
		return bw.err
	}
	return nil
}

// Close writes the open block and the end marker, and flushes. It does
// not close the underlying writer. With WriteHeaderCount, it reports a
// number of events different from the one announced (after writing the
// trace as it is, which then reads with an error at its end).
func (bw *BinaryWriter) Close() error {
	if bw.closed {
		return bw.err
	}
	if !bw.header {
		return errNoHeader
	}
	bw.closed = true
	if err := bw.flushBlock(); err != nil {
		return err
	}
	e := errWriter{enc: bw.enc}
	e.mapLen(1)
	e.str(keyEvents)
	e.uint(bw.written)
	if e.err == nil {
		e.err = bw.w.Flush()
	}
	if bw.err = e.err; bw.err != nil {
		return bw.err
	}
	if bw.countKnown && bw.count != bw.written {
		return fmt.Errorf("traces: the header announces %d events, %d were written", bw.count, bw.written)
	}
	return nil
}
