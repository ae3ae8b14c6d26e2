package traces

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// Keys of the header and trailer maps.
const (
	keyRanges  = "ranges"
	keyHost    = "host"
	keyPaging  = "paging"
	keyPool    = "pool"
	keyMaxPhys = "maxphyaddr"
	keyNoPAE   = "nopae"
	keyMaps    = "mappings"
	keyDirtyPT = "dirtypt"
	keyMeta    = "meta"
	keyEvents  = "events"
	maxKeyLen  = 16 // longer than every key above
)

// encodeHeader writes the magic, the version and the header. h must have
// passed AppendHeader; c is its normalised configuration.
func encodeHeader(enc *msgpack.Encoder, h Header, c engine.Config, count uint64, countKnown bool, version int) error {
	n := 6
	if len(c.Mappings) > 0 {
		n++
	}
	if c.DirtyPT {
		n++
	}
	if len(h.Meta) > 0 {
		n++
	}
	if countKnown {
		n++
	}
	e := errWriter{enc: enc}
	e.str(binaryMagic[1:])
	e.uint(uint64(version))
	e.mapLen(n)
	e.str(keyRanges)
	e.arrayLen(len(c.Ranges))
	for _, r := range c.Ranges {
		e.arrayLen(4)
		e.uint(uint64(r.Type))
		e.uint(uint64(r.Start))
		e.uint(r.Size)
		e.str(r.Name)
	}
	e.str(keyHost)
	e.uint(uint64(c.Host))
	e.str(keyPaging)
	e.uint(uint64(c.Paging))
	e.str(keyPool)
	e.uint(uint64(c.PoolPages))
	e.str(keyMaxPhys)
	e.uint(uint64(c.MaxPhys))
	e.str(keyNoPAE)
	if e.err == nil {
		e.err = enc.EncodeBool(c.NoPAE)
	}
	if c.DirtyPT {
		e.str(keyDirtyPT)
		if e.err == nil {
			e.err = enc.EncodeBool(true)
		}
	}
	if len(c.Mappings) > 0 {
		e.str(keyMaps)
		e.arrayLen(len(c.Mappings))
		for _, m := range c.Mappings {
			e.arrayLen(2)
			e.str(m.Name)
			e.uint(m.Size)
		}
	}
	if len(h.Meta) > 0 {
		keys := make([]string, 0, len(h.Meta))
		for k := range h.Meta {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		e.str(keyMeta)
		e.mapLen(len(keys))
		for _, k := range keys {
			e.str(k)
			e.str(h.Meta[k])
		}
	}
	if countKnown {
		e.str(keyEvents)
		e.uint(count)
	}
	return e.err
}

// errWriter keeps the first error of a run of msgpack writes.
type errWriter struct {
	enc *msgpack.Encoder
	err error
}

func (e *errWriter) str(s string) {
	if e.err == nil {
		e.err = e.enc.EncodeString(s)
	}
}

func (e *errWriter) uint(v uint64) {
	if e.err == nil {
		e.err = e.enc.EncodeUint(v)
	}
}

func (e *errWriter) mapLen(n int) {
	if e.err == nil {
		e.err = e.enc.EncodeMapLen(n)
	}
}

func (e *errWriter) arrayLen(n int) {
	if e.err == nil {
		e.err = e.enc.EncodeArrayLen(n)
	}
}

// readHeader reads everything before the first block: magic, version and
// header. The configuration it returns is normalised and obeys every rule
// of the text form's header, so that it converts to text.
func (r *BinaryReader) readHeader() error {
	var magic [len(binaryMagic)]byte
	r.src.hashing, r.src.crc = true, 0
	n, err := io.ReadFull(r.src, magic[:])
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return err
	}
	if n == 0 || string(magic[:n]) != binaryMagic[:n] {
		return r.headerError(0, ErrNotBinary)
	}
	if n < len(binaryMagic) {
		return r.headerError(int64(n), fmt.Errorf("%w: the file ends inside the magic", ErrTruncated))
	}
	at := r.src.n
	v, err := r.uint()
	if err != nil {
		return r.headerError(at, fmt.Errorf("format version: %w", err))
	}
	if v != 1 && v != BinaryVersion {
		return r.headerError(at, fmt.Errorf("%w: binary format version %d (this reader knows versions 1 and %d)", ErrVersion, v, BinaryVersion))
	}
	r.version = int(v)
	if v == 1 {
		r.src.hashing = false // version 1 has no checksums
	}

	headerAt := r.src.n
	at = headerAt
	nkeys, err := r.mapLen(16)
	if err != nil {
		return r.headerError(at, fmt.Errorf("header: %w", err))
	}
	h := Header{Version: Version}
	c := &h.Config
	seen := map[string]int64{} // where each key's value starts
	for range nkeys {
		keyAt := r.src.n
		at = keyAt
		key, err := r.str(maxKeyLen)
		if err != nil {
			return r.headerError(at, fmt.Errorf("header key: %w", err))
		}
		if _, dup := seen[key]; dup {
			return r.headerError(at, corruptf("header key %q twice", key))
		}
		at = r.src.n
		seen[key] = at
		switch key {
		case keyRanges:
			err = r.readRanges(c)
		case keyHost:
			err = small(r, &c.Host, 255)
		case keyPaging:
			err = small(r, &c.Paging, 255)
		case keyPool:
			var v uint64
			if v, err = r.uint(); err == nil {
				if v > engine.MaxPoolPages {
					err = fmt.Errorf("pool of %d pages outside %d..%d", v, engine.MinPoolPages, engine.MaxPoolPages)
				}
				c.PoolPages = int(v)
			}
		case keyMaxPhys:
			err = small(r, &c.MaxPhys, 255)
		case keyNoPAE:
			c.NoPAE, err = r.bool()
		case keyMaps:
			err = r.readMappings(c)
		case keyDirtyPT:
			c.DirtyPT, err = r.bool()
		case keyMeta:
			h.Meta, err = r.readMeta()
		case keyEvents:
			r.count, err = r.uint()
			r.countKnown = true
		default:
			// Not "header KEY:" below: the key is not one we know, and
			// may hold any bytes.
			return r.headerError(keyAt, corruptf("unknown header key %q", key))
		}
		if err != nil {
			return r.headerError(at, fmt.Errorf("header %s: %w", key, err))
		}
	}
	if r.version >= 2 {
		if err := r.checkHeaderSum(headerAt); err != nil {
			return err
		}
	}
	// The ranges were read before maxphyaddr perhaps: check them now,
	// in order, as the text form does. Errors name where the header's
	// map starts, or the value they are about when there is one.
	cfg, err := c.Normalized()
	if err != nil {
		return r.headerError(culprit(seen, h, headerAt, func(h Header) error {
			_, err := h.Config.Normalized()
			return err
		}), fmt.Errorf("header: %w", err))
	}
	rangesAt, ok := seen[keyRanges]
	if !ok {
		rangesAt = headerAt
	}
	for i, rg := range cfg.Ranges {
		if _, ok := rangeKeyword(rg.Type); !ok {
			return r.headerError(rangesAt, fmt.Errorf("header: range %d: a %v range has no text form (want RAM, ROM or MMIO)", i, rg.Type))
		}
		if err := checkRange(cfg.Ranges[:i], rg, cfg.MaxPhys); err != nil {
			return r.headerError(rangesAt, fmt.Errorf("header: range %d: %w", i, err))
		}
	}
	h.Config = cfg
	if err := checkTextable(h); err != nil {
		return r.headerError(culprit(seen, h, headerAt, func(h Header) error {
			c, err := h.Config.Normalized()
			if err == nil {
				h.Config = c
				err = checkTextable(h)
			}
			return err
		}), fmt.Errorf("header: %w", err))
	}
	r.hdr = h
	r.ranges = newRangeSet(cfg.Ranges)
	return nil
}

// culprit finds where the header value that check refuses starts: the
// values are added to an empty header in the order of the file, and the
// first whose addition makes check fail is named. A rule that two values
// break together names the later one; when even the empty header fails,
// or none does, the header's start (at) is named.
func culprit(seen map[string]int64, full Header, at int64, check func(Header) error) int64 {
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return int(seen[a] - seen[b]) })
	h := Header{Version: full.Version}
	if check(h) != nil {
		return at
	}
	for _, k := range keys {
		c, f := &h.Config, &full.Config
		switch k {
		case keyRanges:
			c.Ranges = f.Ranges
		case keyHost:
			c.Host = f.Host
		case keyPaging:
			c.Paging = f.Paging
		case keyPool:
			c.PoolPages = f.PoolPages
		case keyMaxPhys:
			c.MaxPhys = f.MaxPhys
		case keyNoPAE:
			c.NoPAE = f.NoPAE
		case keyMaps:
			c.Mappings = f.Mappings
		case keyDirtyPT:
			c.DirtyPT = f.DirtyPT
		case keyMeta:
			h.Meta = full.Meta
		}
		if check(h) != nil {
			return seen[k]
		}
	}
	return at
}

// checkHeaderSum reads the checksum that follows a version 2 header, a
// msgpack uint32, and compares it with that of the bytes before it.
func (r *BinaryReader) checkHeaderSum(headerAt int64) error {
	sum := r.src.sum()
	at := r.src.n
	var b [5]byte
	if _, err := io.ReadFull(r.src, b[:]); err != nil {
		return r.headerError(at, fmt.Errorf("header checksum: %w", r.ioError(err)))
	}
	if b[0] != msgpcode.Uint32 {
		return r.headerError(at, corruptf("header checksum: want a msgpack uint32, found code %#x", b[0]))
	}
	if stored := binary.BigEndian.Uint32(b[1:]); stored != sum {
		return r.headerError(headerAt, fmt.Errorf("%w: %w: the header (bytes 0 to %d) fails its check (stored %#08x, computed %#08x): the file was damaged",
			ErrCorrupt, ErrChecksum, at, stored, sum))
	}
	return nil
}

// small reads an unsigned number into a small integer type.
func small[T ~uint8](r *BinaryReader, dst *T, max uint64) error {
	v, err := r.uint()
	if err == nil && v > max {
		err = fmt.Errorf("%d out of range", v)
	}
	*dst = T(v)
	return err
}

func (r *BinaryReader) readRanges(c *engine.Config) error {
	n, err := r.arrayLen(phys.MaxRanges)
	if err != nil {
		return err
	}
	c.Ranges = nil
	for i := range n {
		if m, err := r.arrayLen(4); err != nil || m != 4 {
			if err == nil {
				err = corruptf("%d fields, want 4", m)
			}
			return fmt.Errorf("range %d: %w", i, err)
		}
		var typ, start, size uint64
		var spec phys.RangeSpec
		if typ, err = r.uint(); err == nil && typ > 255 {
			err = fmt.Errorf("page type %d out of range", typ)
		}
		if err == nil {
			start, err = r.uint()
		}
		if err == nil {
			size, err = r.uint()
		}
		if err == nil {
			spec.Name, err = r.str(MaxNameBytes)
		}
		if err != nil {
			return fmt.Errorf("range %d: %w", i, err)
		}
		spec.Type, spec.Start, spec.Size = phys.PageType(typ), x86.GPA(start), size
		c.Ranges = append(c.Ranges, spec)
	}
	return nil
}

// maxMappings caps the mappings a header may list; the text form's own
// rule (checked through checkTextable) is stricter.
const maxMappings = 256

func (r *BinaryReader) readMappings(c *engine.Config) error {
	n, err := r.arrayLen(maxMappings)
	if err != nil {
		return err
	}
	c.Mappings = nil
	for i := range n {
		var m engine.MappingSpec
		k, err := r.arrayLen(2)
		if err == nil && k != 2 {
			err = corruptf("%d fields, want 2", k)
		}
		if err == nil {
			m.Name, err = r.str(MaxNameBytes)
		}
		if err == nil {
			m.Size, err = r.uint()
		}
		if err != nil {
			return fmt.Errorf("mapping %d: %w", i, err)
		}
		c.Mappings = append(c.Mappings, m)
	}
	return nil
}

// checkTextable checks that h, normalised, survives the text form
// unchanged: the header is written as text and read back. This is what
// makes binary -> text lossless whatever the header holds, and it
// applies every rule of the text header (the mapping rules, for one)
// without repeating them here.
func checkTextable(h Header) error {
	text, err := AppendHeader(nil, h)
	if err != nil {
		return err
	}
	tr, err := NewTextReader(bytes.NewReader(text), "header")
	if err != nil {
		var se *SyntaxError
		if errors.As(err, &se) && se.Err != nil {
			return se.Err
		}
		return err
	}
	if got := tr.Header(); !reflect.DeepEqual(got, h) {
		return fmt.Errorf("the header would not survive the text form (it reads back as %+v)", got)
	}
	return nil
}

func (r *BinaryReader) readMeta() (map[string]string, error) {
	n, err := r.mapLen(MaxMetaEntries)
	if err != nil {
		return nil, err
	}
	var m map[string]string
	for i := range n {
		k, err := r.str(MaxNameBytes)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		v, err := r.str(MaxMetaBytes)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", k, err) // quoted: the key is not checked yet
		}
		if _, dup := m[k]; dup {
			return nil, corruptf("key %q twice", k)
		}
		if err := checkMeta(k, v, i); err != nil {
			return nil, err
		}
		if m == nil {
			m = make(map[string]string)
		}
		m[k] = v
	}
	return m, nil
}

// readTrailer reads the end marker whose first byte has been peeked, and
// checks that nothing follows it.
func (r *BinaryReader) readTrailer() error {
	at := r.src.n
	n, err := r.mapLen(1)
	if err != nil {
		return r.blockError(at, fmt.Errorf("end marker: %w", err))
	}
	total, seen := uint64(0), false
	for range n {
		key, err := r.str(maxKeyLen)
		if err == nil && key != keyEvents {
			err = corruptf("unknown key %q", key)
		}
		if err == nil {
			total, err = r.uint()
			seen = true
		}
		if err != nil {
			return r.blockError(at, fmt.Errorf("end marker: %w", err))
		}
	}
	switch {
	case !seen:
		return r.blockError(at, corruptf("end marker without an event count"))
	case total != uint64(r.next):
		return r.blockError(at, corruptf("the end marker counts %d events, the blocks hold %d", total, r.next))
	case r.countKnown && r.count != total:
		return r.blockError(at, corruptf("the header announces %d events, the trace holds %d", r.count, total))
	}
	if _, err := r.src.ReadByte(); err == nil {
		return r.blockError(r.src.n-1, corruptf("data after the end marker"))
	} else if !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// Strict msgpack reads: each checks the type code before decoding, so
// that a number is never taken for a length, and caps every length.

func (r *BinaryReader) code() (byte, error) {
	c, err := r.dec.PeekCode()
	return c, r.ioError(err)
}

func (r *BinaryReader) uint() (uint64, error) {
	c, err := r.code()
	if err != nil {
		return 0, err
	}
	if c > msgpcode.PosFixedNumHigh && c != msgpcode.Uint8 && c != msgpcode.Uint16 && c != msgpcode.Uint32 && c != msgpcode.Uint64 {
		return 0, corruptf("want an unsigned integer, found msgpack code %#x", c)
	}
	v, err := r.dec.DecodeUint64()
	return v, r.ioError(err)
}

func (r *BinaryReader) bool() (bool, error) {
	c, err := r.code()
	if err != nil {
		return false, err
	}
	if c != msgpcode.True && c != msgpcode.False {
		return false, corruptf("want a boolean, found msgpack code %#x", c)
	}
	v, err := r.dec.DecodeBool()
	return v, r.ioError(err)
}

func (r *BinaryReader) mapLen(max int) (int, error) {
	c, err := r.code()
	if err != nil {
		return 0, err
	}
	if !msgpcode.IsFixedMap(c) && c != msgpcode.Map16 && c != msgpcode.Map32 {
		return 0, corruptf("want a map, found msgpack code %#x", c)
	}
	n, err := r.dec.DecodeMapLen()
	if err == nil && n > max {
		err = corruptf("map of %d entries, more than %d", n, max)
	}
	return n, r.ioError(err)
}

func (r *BinaryReader) arrayLen(max int) (int, error) {
	c, err := r.code()
	if err != nil {
		return 0, err
	}
	if !msgpcode.IsFixedArray(c) && c != msgpcode.Array16 && c != msgpcode.Array32 {
		return 0, corruptf("want an array, found msgpack code %#x", c)
	}
	n, err := r.dec.DecodeArrayLen()
	if err == nil && n > max {
		err = corruptf("array of %d elements, more than %d", n, max)
	}
	return n, r.ioError(err)
}

// str reads a string of at most max bytes, allocating only once the
// length is known to be within the cap.
func (r *BinaryReader) str(max int) (string, error) {
	c, err := r.code()
	if err != nil {
		return "", err
	}
	if !msgpcode.IsString(c) {
		return "", corruptf("want a string, found msgpack code %#x", c)
	}
	n, err := r.dec.DecodeBytesLen()
	if err != nil {
		return "", r.ioError(err)
	}
	if n > max {
		return "", corruptf("string of %d bytes, more than %d", n, max)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r.src, b); err != nil {
		return "", r.ioError(err)
	}
	return string(b), nil
}

// ioError turns the end of the input into ErrTruncated.
func (r *BinaryReader) ioError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: the file ends at byte %d", ErrTruncated, r.src.n)
	}
	return err
}
