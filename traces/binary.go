package traces

// The binary form of a trace (format version 2), conventionally in a file
// ending in .pgmt. It holds exactly what the text form holds — a header
// and a stream of events — and converts to text and back without loss.
// Every part but the end marker carries a CRC-32C, so that a damaged file
// is an error naming the damaged part, never a different trace. Version
// 1 files (the same layout without the two checksums) are still read;
// BinaryReader.Checked tells them apart.
//
// The file is a sequence of MessagePack values, so a generic msgpack tool
// can walk it:
//
//	magic    str "pgmtrace"            a8 70 67 6d 74 72 61 63 65
//	version  uint 2                    02
//	header   map, string keys:
//	           "ranges"     array of [type uint, start uint, size uint, name str]
//	           "host"       uint (engine.HostMode)
//	           "paging"     uint (engine.Paging)
//	           "pool"       uint (pages)
//	           "maxphyaddr" uint
//	           "nopae"      bool
//	           "mappings"   array of [name str, size uint] (left out when empty)
//	           "meta"       map str -> str (left out when empty)
//	           "events"     uint: the number of events, when the writer knew
//	                        it in advance (left out otherwise)
//	checksum uint32 (always the five bytes ce xx xx xx xx): CRC-32C of
//	         every byte before it, from the magic on
//	blocks   zero or more bin values, each at most MaxBlockBytes long
//	trailer  map {"events": uint}: the number of events in the file
//
// The writer writes the keys in this order; a reader takes any order,
// refuses unknown and repeated keys, and caps every length (strings at the
// text form's limits, arrays and maps at the limits on ranges, mappings
// and meta entries). The header must obey every rule of the text form's
// header: it is checked by being written as text and read back.
// After the trailer the file ends. A file without a trailer is truncated.
// The trailer needs no checksum: its one number must equal the number of
// events the blocks hold, and no other bytes may follow it.
//
// A block's payload is not msgpack but a run of varints, cheaper to decode:
//
//	uint32   CRC-32C of the rest of the payload, little-endian; the
//	         reader checks it before it decodes any event of the block
//	uvarint  index of the block's first event (0 for the first block)
//	uvarint  number of events in the block (at least 1)
//	events
//
// Each event starts with a tag byte naming its shape: what kind it is,
// its Size field and which other fields follow and how. A block defines
// its shapes as it first uses them, so that the common case costs one
// byte, and nothing in the format depends on the list of event kinds:
//
//	tag < number of shapes defined so far in the block: that shape
//	tag 0xff: a new shape, numbered from 0 in order of definition (at
//	     most 255 per block), defined by three bytes that follow:
//	       kind   engine.EventKind
//	       size   the Event's Size field, stored as is
//	       flags  bit 0: an address follows
//	              bits 1-2: the address register it is delta-coded against (0..3)
//	              bits 3-4: the value: 0 absent (zero), 1 uvarint,
//	                        2 raw little-endian in rawLen(size) bytes
//	              bit 5: a text follows
//	              bits 6-7: zero
//	     then the event's fields, as for any use of the shape
//	other tags: an error
//
// Fields, in this order, each only if the shape says so:
//
//	address  zigzag uvarint of Addr minus the register's previous address
//	         (modulo 2^64); the register then holds Addr
//	value    uvarint, or raw little-endian bytes
//	text     uvarint length (at most MaxLabelBytes), then the UTF-8 bytes
//
// A field the shape leaves out is zero. Shapes and address registers start
// afresh (registers at 0) in every block, so each block decodes on its
// own. The writer codes each address against the nearest register, or
// when none is near, against the least recently used one, which the
// address then replaces: the registers follow the few regions a program
// works in at a time (code, stack, heap, kernel, page tables). A reader
// follows whatever register each shape names.
//
// Every event read passes the same checks as the text form's (see
// TextReader.Next): whatever one form accepts, the other can hold.

import (
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
)

// BinaryVersion is the binary form's format version the writer writes,
// after the magic. It changes when the layout above changes. Readers also
// take version 1, which has no checksums (see BinaryReader.Checked).
const BinaryVersion = 2

// BinaryExt is the file name extension of binary traces. Create writes
// the text form for names ending in ".txt" and the binary form for every
// other name.
const BinaryExt = ".pgmt"

// binaryMagic is the msgpack string "pgmtrace" that starts every binary
// trace. Its first byte (0xa8) cannot start a text trace, which is valid
// UTF-8.
const binaryMagic = "\xa8pgmtrace"

// Limits on what a binary trace may declare, so that a reader's memory is
// bounded whatever the input says.
const (
	// MaxBlockBytes bounds a block's payload. The writer closes blocks
	// near BlockTargetBytes, and one event is at most a label of
	// MaxLabelBytes and a few bytes, so its blocks stay well below this.
	MaxBlockBytes = 1 << 20
	// BlockTargetBytes is where the writer closes a block.
	BlockTargetBytes = 64 << 10
	// maxShapes is the number of shapes a block may define (tags 0..254).
	maxShapes = 255
	// blockSumBytes is the length of a version 2 block's checksum.
	blockSumBytes = 4
)

// Shape tag and flags, as described above.
const (
	tagDefine      = 0xff
	flagAddr       = 1 << 0
	flagRegShift   = 1
	flagRegMask    = 3 << flagRegShift
	flagValueShift = 3
	flagValueMask  = 3 << flagValueShift
	flagText       = 1 << 5
	flagReserved   = 3 << 6

	valueNone   = 0
	valueVarint = 1
	valueRaw    = 2

	numRegs = 4 // address registers
)

// rawLen is the number of bytes of a raw value for an event whose Size
// field is size: the access size when it is one, 8 otherwise.
func rawLen(size uint8) int {
	if size >= 1 && size <= 8 {
		return int(size)
	}
	return 8
}

// Expected conditions of binary traces, matched with errors.Is. They
// arrive wrapped in a *FormatError that says where. ErrVersion (shared
// with the text form) reports a format version this reader does not know.
var (
	// ErrNotBinary: the input does not start with the binary magic.
	ErrNotBinary = errors.New("not a binary trace (no pgmtrace magic)")
	// ErrTruncated: the input ends before the trace does. Every complete
	// event before the damage was returned.
	ErrTruncated = errors.New("truncated trace")
	// ErrCorrupt: the bytes cannot be a trace this writer made (bad
	// framing, an impossible field, counts that disagree).
	ErrCorrupt = errors.New("corrupt trace")
	// ErrUnknownKind: an event kind this program does not know, perhaps
	// from a trace written by a newer one.
	ErrUnknownKind = errors.New("unknown event kind")
	// ErrChecksum: the header or a block of a version 2 trace fails its
	// CRC-32C, so its bytes changed after they were written. It comes
	// with ErrCorrupt, and nothing of the damaged part was returned.
	ErrChecksum = errors.New("checksum mismatch")
)

// castagnoli is the CRC-32C table: the polynomial with hardware support
// on amd64 and arm64, and the better error detection of the two.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// FormatError is a binary trace the reader rejects, with where.
type FormatError struct {
	Name   string // the name given to NewBinaryReader, usually the file name
	Offset int64  // byte offset of the problem from the start of the input; -1 if none
	Event  int64  // index of the event concerned (counting from 0); -1 for the header
	Err    error  // what is wrong
}

func (e *FormatError) Error() string {
	var b strings.Builder
	b.WriteString(e.Name)
	b.WriteString(": ")
	switch {
	case e.Event >= 0 && e.Offset >= 0:
		b.WriteString("event " + strconv.FormatInt(e.Event, 10) + " at byte " + strconv.FormatInt(e.Offset, 10) + ": ")
	case e.Event >= 0:
		b.WriteString("event " + strconv.FormatInt(e.Event, 10) + ": ")
	case e.Offset >= 0:
		b.WriteString("byte " + strconv.FormatInt(e.Offset, 10) + ": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("format error")
	}
	return b.String()
}

func (e *FormatError) Unwrap() error { return e.Err }

// corruptf is an ErrCorrupt with details.
func corruptf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, a...))
}

// Varints, as encoding/binary writes them, inlined for the hot loops.

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// uvarint decodes b's first varint: n > 0 bytes, 0 if b ends first, -1 on
// overflow (more than 64 bits).
func uvarint(b []byte) (uint64, int) {
	if len(b) > 0 && b[0] < 0x80 {
		return uint64(b[0]), 1 // the common case, kept inlinable
	}
	return uvarintSlow(b)
}

func uvarintSlow(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < len(b); i++ {
		c := b[i]
		if i == 9 {
			if c > 1 {
				return 0, -1
			}
			return v | uint64(c)<<63, 10
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, i + 1
		}
	}
	return 0, 0
}

func zigzag(d uint64) uint64   { return d<<1 ^ uint64(int64(d)>>63) }
func unzigzag(z uint64) uint64 { return z>>1 ^ -(z & 1) }
