package traces

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// BinaryReader reads a binary trace as a stream: the header when it is
// made, then one event per call to Next. It holds one block at a time
// (at most MaxBlockBytes), so its memory does not depend on the length of
// the trace, nor on what the header claims.
type BinaryReader struct {
	name   string
	src    *countingReader
	dec    *msgpack.Decoder
	hdr    Header
	ranges rangeSet

	count      uint64 // events the header announces, if countKnown
	countKnown bool
	version    int   // the file's format version: 1, or 2 with checksums
	blocks     int64 // blocks read so far; -1 when resumed (index unknown)

	buf     []byte // the current block's bytes as read
	block   []byte // its events' part, perhaps cut short (buf less the checksum)
	pos     int    // next byte of block to decode
	blockAt int64  // offset of block[0] in the input
	// blockStart and blockFirst are where the current block's msgpack
	// value starts and the index of its first event (see Block); -1
	// before the first block.
	blockStart, blockFirst int64
	partial                bool   // the input ends inside this block
	left                   uint64 // events of the block not yet decoded
	shapes                 [maxShapes]shape
	nshapes                int
	prev                   [numRegs]uint64 // address registers

	next int64 // index of the next event
	err  error // sticky: once failed, always failed (io.EOF at the end)
}

// shape is what a block's tag byte stands for.
type shape struct {
	kind  engine.EventKind
	size  uint8
	flags uint8
}

// countingReader counts the bytes consumed through it: the msgpack
// decoder reads through it byte by byte (it does no buffering of its own
// when given an io.ByteScanner), so the count is the input offset. While
// hashing, it also keeps the CRC-32C of the bytes consumed (the header's
// checksum); the last byte read is folded in only once the next read
// shows that it was not given back (UnreadByte).
type countingReader struct {
	r       *bufio.Reader
	n       int64
	hashing bool
	crc     uint32
	pend    [1]byte
	pending bool
}

func (c *countingReader) fold() {
	if c.pending {
		c.crc = crc32.Update(c.crc, castagnoli, c.pend[:])
		c.pending = false
	}
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.hashing {
		c.fold()
		c.crc = crc32.Update(c.crc, castagnoli, p[:n])
	}
	return n, err
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
		if c.hashing {
			c.fold()
			c.pend[0], c.pending = b, true
		}
	}
	return b, err
}

func (c *countingReader) UnreadByte() error {
	err := c.r.UnreadByte()
	if err == nil {
		c.n--
		c.pending = false
	}
	return err
}

// sum stops hashing and returns the CRC-32C of the bytes consumed since
// hashing started.
func (c *countingReader) sum() uint32 {
	c.fold()
	c.hashing = false
	return c.crc
}

// NewBinaryReader reads and checks the magic, the version and the header
// of a binary trace from r. name is used in error messages (usually the
// file name). A problem is returned as a *FormatError matching
// ErrNotBinary, ErrVersion, ErrTruncated or ErrCorrupt, or as r's own
// error.
func NewBinaryReader(r io.Reader, name string) (*BinaryReader, error) {
	if name == "" {
		name = "trace"
	}
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	src := &countingReader{r: br}
	rd := &BinaryReader{name: name, src: src, dec: msgpack.NewDecoder(src), blockStart: -1, blockFirst: -1}
	if err := rd.readHeader(); err != nil {
		return nil, err
	}
	return rd, nil
}

// ResumeAt returns a reader of the same trace as r that starts at a block
// boundary instead of the first block: src delivers the input from byte
// offset off on, where a block whose first event has index first starts
// (what Block reported for it, on this reader or an earlier one of the
// same file). The header, and so the checks of every event, are r's; r
// itself is not changed and src is read only through the new reader.
// Offsets in errors still count from the start of the input. A wrong off
// or first is not detected here but by the first Next, as an error
// matching ErrCorrupt (or ErrTruncated at the end of the input).
func (r *BinaryReader) ResumeAt(src io.Reader, off, first int64) *BinaryReader {
	br, ok := src.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(src, 64<<10)
	}
	c := &countingReader{r: br, n: off}
	return &BinaryReader{name: r.name, src: c, dec: msgpack.NewDecoder(c), hdr: r.hdr, ranges: r.ranges,
		count: r.count, countKnown: r.countKnown, version: r.version, blocks: -1,
		next: first, blockStart: -1, blockFirst: -1}
}

// Version is the trace's format version: BinaryVersion, or 1 for a file
// written before checksums.
func (r *BinaryReader) Version() int { return r.version }

// Checked reports whether the trace carries checksums (version 2 on):
// then a damaged header or block is an error matching ErrChecksum before
// anything in it is used. A version 1 trace is unchecked: a changed byte
// may go unnoticed, or change what the trace says.
func (r *BinaryReader) Checked() bool { return r.version >= 2 }

// Block says where the block holding the event Next last returned
// starts: the byte offset of its msgpack value in the input, and the
// index of its first event. Both are -1 before the first event. A reader
// made by ResumeAt(src, off, first) reads that event again from there.
func (r *BinaryReader) Block() (off, first int64) { return r.blockStart, r.blockFirst }

// Header is the trace's header, normalised.
func (r *BinaryReader) Header() Header { return r.hdr }

// EventCount is the number of events the header announces, when the
// writer knew it. It is a claim, not a promise: the reader allocates
// nothing from it, and a trace that holds a different number of events
// ends with an error matching ErrCorrupt.
func (r *BinaryReader) EventCount() (n uint64, known bool) { return r.count, r.countKnown }

// Index is the index of the event Next last returned, counting from 0
// (-1 before the first).
func (r *BinaryReader) Index() int64 { return r.next - 1 }

// Offset is the number of bytes of the input consumed so far, whole
// blocks at a time.
func (r *BinaryReader) Offset() int64 { return r.src.n }

// Position names the event Next last returned: "FILE: event N".
func (r *BinaryReader) Position() string {
	return r.name + ": event " + strconv.FormatInt(r.next-1, 10)
}

// Next returns the next event, io.EOF after the last one, or an error: a
// *FormatError naming the event index and the byte offset, or the
// underlying reader's error. After an error every call returns the same
// error. A truncated input yields every complete event and then an error
// matching ErrTruncated. Every event returned passes the checks the text
// reader makes (see TextReader.Next).
func (r *BinaryReader) Next() (engine.Event, error) {
	if r.left == 0 {
		if err := r.nextBlock(); err != nil {
			return engine.Event{}, err
		}
	}
	start := r.pos
	ev, err := r.decode()
	if err == nil {
		if err = checkCanonical(ev); err == nil {
			err = checkEvent(ev, r.ranges)
		}
		if err != nil {
			err = fmt.Errorf("%s: %w", shown(AppendEvent(nil, ev)), err)
		}
	}
	if err != nil {
		r.err = &FormatError{Name: r.name, Offset: r.blockAt + int64(start), Event: r.next, Err: err}
		r.left = 0
		return engine.Event{}, r.err
	}
	r.left--
	r.next++
	return ev, nil
}

// errShort is decode's report that the block ends inside an event.
var errShort = errors.New("the block ends inside the event")

// decode decodes the event at r.pos; on success r.pos moves past it.
func (r *BinaryReader) decode() (engine.Event, error) {
	b := r.block
	p := r.pos
	if p >= len(b) {
		return engine.Event{}, r.short()
	}
	t := b[p]
	p++
	var s shape
	switch {
	case int(t) < r.nshapes:
		s = r.shapes[t]
	case t == tagDefine:
		if len(b)-p < 3 {
			return engine.Event{}, r.short()
		}
		s = shape{kind: engine.EventKind(b[p]), size: b[p+1], flags: b[p+2]}
		p += 3
		switch {
		case r.nshapes == maxShapes:
			return engine.Event{}, corruptf("more than %d shapes in one block", maxShapes)
		case !s.kind.Valid():
			return engine.Event{}, fmt.Errorf("%w %d (a trace from a newer program?)", ErrUnknownKind, uint8(s.kind))
		case s.flags&flagReserved != 0, s.flags&flagValueMask == 3<<flagValueShift:
			return engine.Event{}, corruptf("shape flags %#x", s.flags)
		}
		r.shapes[r.nshapes] = s
		r.nshapes++
	default:
		return engine.Event{}, corruptf("tag %#x names no shape (%d defined in this block)", t, r.nshapes)
	}

	ev := engine.Event{Kind: s.kind, Size: s.size}
	if s.flags&flagAddr != 0 {
		d, n := uvarint(b[p:])
		if n <= 0 {
			return ev, r.varintError(n)
		}
		p += n
		reg := &r.prev[(s.flags&flagRegMask)>>flagRegShift]
		*reg += unzigzag(d)
		ev.Addr = *reg
	}
	switch (s.flags & flagValueMask) >> flagValueShift {
	case valueVarint:
		v, n := uvarint(b[p:])
		if n <= 0 {
			return ev, r.varintError(n)
		}
		p += n
		ev.Value = v
	case valueRaw:
		n := rawLen(s.size)
		if len(b)-p < n {
			return ev, r.short()
		}
		for i := n - 1; i >= 0; i-- {
			ev.Value = ev.Value<<8 | uint64(b[p+i])
		}
		p += n
	}
	if s.flags&flagText != 0 {
		l, n := uvarint(b[p:])
		if n <= 0 {
			return ev, r.varintError(n)
		}
		p += n
		if l > uint64(MaxLabelBytes) {
			return ev, corruptf("text of %d bytes, more than %d", l, MaxLabelBytes)
		}
		if uint64(len(b)-p) < l {
			return ev, r.short()
		}
		ev.Text = string(b[p : p+int(l)])
		p += int(l)
	}
	r.pos = p
	return ev, nil
}

func (r *BinaryReader) varintError(n int) error {
	if n == 0 {
		return r.short()
	}
	return corruptf("a number overflows 64 bits")
}

// short is the error for a block that ends inside an event: the input was
// cut, or the block is damaged.
func (r *BinaryReader) short() error {
	if r.partial {
		return fmt.Errorf("%w: the file ends at byte %d, inside this event (events before it are complete)",
			ErrTruncated, r.blockAt+int64(len(r.block)))
	}
	return fmt.Errorf("%w: %w", ErrCorrupt, errShort)
}

// nextBlock moves to the next block, or reads the end marker and returns
// io.EOF.
func (r *BinaryReader) nextBlock() error {
	if r.err != nil {
		return r.err
	}
	r.err = r.readBlock()
	return r.err
}

func (r *BinaryReader) readBlock() error {
	if r.partial {
		return r.blockError(r.blockAt+int64(len(r.block)), fmt.Errorf(
			"%w: the file ends at byte %d, inside a block (events before it are complete)", ErrTruncated, r.blockAt+int64(len(r.block))))
	}
	if r.block != nil && r.pos != len(r.block) {
		return r.blockError(r.blockAt+int64(r.pos), corruptf("%d bytes after the last event of the block", len(r.block)-r.pos))
	}
	at := r.src.n
	c, err := r.dec.PeekCode()
	if errors.Is(err, io.EOF) {
		return r.blockError(at, fmt.Errorf("%w: the file ends at byte %d without the end marker (events before it are complete)", ErrTruncated, at))
	}
	if err != nil {
		return err
	}
	if msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32 {
		if err := r.readTrailer(); err != nil {
			return err
		}
		r.block = r.block[:0]
		r.pos = 0
		return io.EOF
	}
	if !msgpcode.IsBin(c) {
		return r.blockError(at, corruptf("want a block or the end marker, found msgpack code %#x", c))
	}
	n, err := r.dec.DecodeBytesLen()
	if err != nil {
		return r.blockError(at, fmt.Errorf("block header: %w", r.ioError(err)))
	}
	if n <= 0 || n > MaxBlockBytes {
		return r.blockError(at, corruptf("block of %d bytes (want 1..%d)", n, MaxBlockBytes))
	}
	if cap(r.buf) < n {
		// Grow geometrically: blocks differ a little in size, and a
		// trace should not cost one allocation per block.
		r.buf = make([]byte, n, min(max(n, 2*cap(r.buf)), MaxBlockBytes))
	}
	r.buf = r.buf[:n]
	r.blockAt = r.src.n
	got, err := io.ReadFull(r.src, r.buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return err
	}
	r.block = r.buf[:got]
	r.partial = got < n
	r.nshapes = 0
	r.prev = [numRegs]uint64{}
	index := r.blocks
	if r.blocks >= 0 {
		r.blocks++
	}
	if r.version >= 2 {
		if err := r.checkBlockSum(at, index, n); err != nil {
			return err
		}
	}

	first, k1 := uvarint(r.block)
	var count uint64
	k2 := 0
	if k1 > 0 {
		count, k2 = uvarint(r.block[k1:])
	}
	switch {
	case k1 < 0 || k2 < 0:
		return r.blockError(r.blockAt, corruptf("block header: a number overflows 64 bits"))
	case (k1 == 0 || k2 == 0) && r.partial:
		return r.blockError(r.blockAt, fmt.Errorf("%w: the file ends at byte %d, inside a block header (events before it are complete)",
			ErrTruncated, r.blockAt+int64(len(r.block))))
	case k1 == 0 || k2 == 0:
		return r.blockError(r.blockAt, corruptf("block of %d bytes too short for its header", n))
	case first != uint64(r.next):
		return r.blockError(r.blockAt, corruptf("the block starts at event %d, want %d", first, r.next))
	case count == 0 || count > uint64(n):
		return r.blockError(r.blockAt, corruptf("block of %d bytes claims %d events", n, count))
	}
	r.pos, r.left = k1+k2, count
	r.blockStart, r.blockFirst = at, int64(first)
	return nil
}

// checkBlockSum checks the CRC-32C that starts a version 2 block (at is
// where its msgpack value starts, index its number from 0 or -1 when not
// known, n its length) and leaves r.block on the events' part. A block
// cut short by the end of the file cannot be checked, so none of its
// events is used.
func (r *BinaryReader) checkBlockSum(at, index int64, n int) error {
	// Named only on the error paths: this runs once per block.
	which := func() string {
		if index >= 0 {
			return "block " + strconv.FormatInt(index, 10) + " (at byte " + strconv.FormatInt(at, 10) + ")"
		}
		return "the block at byte " + strconv.FormatInt(at, 10)
	}
	if r.partial {
		r.partial = false // reported here, not again by short()
		return r.blockError(at, fmt.Errorf("%w: the file ends at byte %d, inside %s (events before it are complete)",
			ErrTruncated, r.blockAt+int64(len(r.block)), which()))
	}
	if n < blockSumBytes {
		return r.blockError(at, corruptf("%s: %d bytes, too short for its checksum", which(), n))
	}
	stored := binary.LittleEndian.Uint32(r.block)
	if sum := crc32.Checksum(r.block[blockSumBytes:], castagnoli); sum != stored {
		return r.blockError(at, fmt.Errorf("%w: %w: %s, events from %d on, fails its check (stored %#08x, computed %#08x): "+
			"the file was damaged there, and nothing of that block was used", ErrCorrupt, ErrChecksum, which(), r.next, stored, sum))
	}
	r.block = r.block[blockSumBytes:]
	r.blockAt += blockSumBytes
	return nil
}

// blockError is an error about the block (or end marker) that starts the
// events from r.next on.
func (r *BinaryReader) blockError(at int64, err error) error {
	return &FormatError{Name: r.name, Offset: at, Event: r.next, Err: err}
}

func (r *BinaryReader) headerError(at int64, err error) error {
	return &FormatError{Name: r.name, Offset: at, Event: -1, Err: err}
}
