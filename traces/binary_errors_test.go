package traces

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces/internal/synth"
)

// crafted is a binary trace put together by hand: the header of a 16 MiB
// guest, the given block payloads, and an end marker counting events.
func crafted(t *testing.T, events int, payloads ...[]byte) []byte {
	t.Helper()
	empty := encodeBinary(t, Header{Config: engine.Config{Ranges: head16M()}}, nil)
	const trailer = "\x81\xa6events\x00"
	if !strings.HasSuffix(string(empty), trailer) {
		t.Fatalf("unexpected end marker in %q", empty)
	}
	b := []byte(strings.TrimSuffix(string(empty), trailer))
	for _, p := range payloads {
		n := blockSumBytes + len(p)
		b = append(b, 0xc5, byte(n>>8), byte(n)) // bin16
		b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(p, castagnoli))
		b = append(b, p...)
	}
	return append(b, fmt.Sprintf("\x81\xa6events%c", byte(events))...)
}

// block is a payload starting at event first.
func block(first, n int, events ...string) []byte {
	return []byte(string([]byte{byte(first), byte(n)}) + strings.Join(events, ""))
}

// TestBinaryErrors: each damaged input is refused with a *FormatError
// that matches its sentinel and says where.
func TestBinaryErrors(t *testing.T) {
	good := crafted(t, 2, block(0, 2, "\xff\x08\x04\x03\x80\x40", "\x00\x08"))
	if _, evs, err := decodeBinary(good, "good", 10); err != nil || len(evs) != 2 {
		t.Fatalf("the crafted trace does not read: %v", err)
	}
	// The first block's events part starts after its bin16 header and
	// checksum; the block itself at binAt.
	hdrLen := int64(len(good) - 3 - 8 - 8)
	binAt := hdrLen - 3 - blockSumBytes
	damaged := bytes.Clone(good)
	damaged[hdrLen+3] ^= 0x10 // a bit of the first event's address
	patch := func(b []byte, off int, s string) []byte {
		c := bytes.Clone(b)
		copy(c[off:], s)
		return c
	}
	tests := []struct {
		name   string
		in     []byte
		events int   // read before the error
		is     error // sentinel
		want   []string
	}{
		{"empty", nil, 0, ErrNotBinary, []string{"t.pgmt: byte 0: not a binary trace"}},
		{"text", []byte("pgmtrace 1\n"), 0, ErrNotBinary, nil},
		{"version 3", patch(good, 9, "\x03"), 0, ErrVersion, []string{"byte 9:", "binary format version 3 (this reader knows versions 1 and 2)"}},
		{"header damaged", bytes.Replace(good, []byte("\xa4pool\xcd\x04\x00"), []byte("\xa4pool\xcd\x04\x01"), 1), 0, ErrChecksum, []string{"byte 10:", "the header (bytes 0 to", "fails its check"}},
		{"block damaged", damaged, 0, ErrChecksum, []string{fmt.Sprintf("event 0 at byte %d: corrupt trace: checksum mismatch: block 0 (at byte %d), events from 0 on, fails its check", binAt, binAt)}},
		{"version as a string", patch(good, 9, "\xa1"), 0, ErrCorrupt, []string{"byte 9:", "want an unsigned integer"}},
		{"unknown header key", bytes.Replace(good, []byte("\xa4host"), []byte("\xa4hose"), 1), 0, ErrCorrupt, []string{`unknown header key "hose"`}},
		{"huge range name", bytes.Replace(good, []byte("\x00\xa0\xa4host"), []byte("\x00\xdb\x7f\xff\xff\xff"), 1), 0, ErrCorrupt, []string{"string of 2147483647 bytes, more than 256"}},
		{"huge header map", patch(good, 10, "\xdf\xff\xff\xff\xff"), 0, ErrCorrupt, []string{"byte 10:", "map of 4294967295 entries"}},
		{"unknown kind", crafted(t, 1, block(0, 1, "\xff\xc8\x00\x00")), 0, ErrUnknownKind, []string{fmt.Sprintf("event 0 at byte %d: unknown event kind 200", hdrLen+2)}},
		{"undefined tag", crafted(t, 2, block(0, 2, "\xff\x08\x04\x03\x80\x40", "\x05\x08")), 1, ErrCorrupt, []string{"event 1 at byte", "tag 0x5 names no shape (1 defined"}},
		{"reserved flags", crafted(t, 1, block(0, 1, "\xff\x08\x04\xc3\x80\x40")), 0, ErrCorrupt, []string{"event 0 at", "shape flags 0xc3"}},
		{"bad access size", crafted(t, 1, block(0, 1, "\xff\x08\x03\x03\x80\x40")), 0, nil, []string{"event 0 at", "r3 0x1000: r: access size 3 is not 1, 2, 4 or 8"}},
		{"pw outside RAM", crafted(t, 1, block(0, 1, "\xff\x06\x08\x0d\x80\x80\x80\x10\x01")), 0, engine.ErrOutsideRAM, []string{"event 0 at", "pw8 0x1000000 0x1"}},
		{"value too wide", crafted(t, 1, block(0, 1, "\xff\x09\x01\x0b\x80\x40\x80\x02")), 0, nil, []string{"does not fit in 1 byte"}},
		{"field not used by the kind", crafted(t, 1, block(0, 1, "\xff\x02\x00\x05\x02\x01")), 0, nil, []string{"event 0 at", "cr3 event carries an address 0x1"}},
		{"huge label", crafted(t, 1, block(0, 1, "\xff\x0c\x00\x20\xff\xff\x7f")), 0, ErrCorrupt, []string{"text of 2097151 bytes, more than 65530"}},
		{"label past the block", crafted(t, 1, block(0, 1, "\xff\x0c\x00\x20\x10abc")), 0, ErrCorrupt, []string{"event 0 at", "the block ends inside the event"}},
		{"varint overflow", crafted(t, 1, block(0, 1, "\xff\x08\x04\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f")), 0, ErrCorrupt, []string{"overflows 64 bits"}},
		{"bytes after the last event", crafted(t, 1, block(0, 1, "\xff\x08\x04\x03\x80\x40", "\x00\x08")), 1, ErrCorrupt, []string{"event 1 at byte", "2 bytes after the last event of the block"}},
		{"block at the wrong index", crafted(t, 2, block(0, 1, "\xff\x08\x04\x03\x80\x40"), block(5, 1, "\xff\x0b\x00\x00")), 1, ErrCorrupt, []string{"event 1 at byte", "the block starts at event 5, want 1"}},
		{"block with no event", crafted(t, 0, block(0, 0)), 0, ErrCorrupt, []string{"block of 6 bytes claims 0 events"}},
		{"huge block", append(bytes.Clone(good[:binAt]), "\xc6\xff\xff\xff\xff"...), 0, ErrCorrupt, []string{"block of 4294967295 bytes (want 1..1048576)"}},
		{"not a block", append(bytes.Clone(good[:binAt]), "\x93"...), 0, ErrCorrupt, []string{"want a block or the end marker, found msgpack code 0x93"}},
		{"end marker miscounts", crafted(t, 3, block(0, 2, "\xff\x08\x04\x03\x80\x40", "\x00\x08")), 2, ErrCorrupt, []string{"event 2 at byte", "the end marker counts 3 events, the blocks hold 2"}},
		{"data after the end marker", append(bytes.Clone(good), 0), 2, ErrCorrupt, []string{fmt.Sprintf("event 2 at byte %d: corrupt trace: data after the end marker", len(good))}},
		{"no end marker", good[:len(good)-9], 2, ErrTruncated, []string{fmt.Sprintf("event 2 at byte %d: truncated trace: the file ends at byte %d without the end marker", len(good)-9, len(good)-9)}},
		{"cut end marker", good[:len(good)-1], 2, ErrTruncated, []string{fmt.Sprintf("event 2 at byte %d: end marker: truncated trace: the file ends at byte %d", len(good)-9, len(good)-1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, evs, err := decodeBinary(tc.in, "t.pgmt", 10)
			if err == nil {
				t.Fatalf("no error; events %+v", evs)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Errorf("%v: not a *FormatError", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("%v: does not match %v", err, tc.is)
			}
			if len(evs) != tc.events {
				t.Errorf("%d events before the error, want %d", len(evs), tc.events)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "t.pgmt: ") {
				t.Errorf("error %q does not start with the name", err)
			}
		})
	}
}

// eventEnds reads a whole binary trace and returns where its header
// ends, where each event ends and where each block starts.
func eventEnds(t *testing.T, data []byte) (header int64, ends, blocks []int64) {
	header, ends, blocks, _ = eventBlocks(t, data)
	return header, ends, blocks
}

// eventBlocks is eventEnds that also says in which block each event is.
func eventBlocks(t *testing.T, data []byte) (header int64, ends, blocks []int64, blockOf []int) {
	t.Helper()
	r, err := NewBinaryReader(bytes.NewReader(data), "ends")
	if err != nil {
		t.Fatal(err)
	}
	header = r.Offset()
	for {
		_, err := r.Next()
		if err == io.EOF {
			return header, ends, blocks, blockOf
		}
		if err != nil {
			t.Fatal(err)
		}
		if n := len(blocks); n == 0 || blocks[n-1] != r.blockAt {
			blocks = append(blocks, r.blockAt)
		}
		ends = append(ends, r.blockAt+int64(r.pos))
		blockOf = append(blockOf, len(blocks)-1)
	}
}

// TestBinaryTruncated cuts traces at many offsets: a cut in the header
// is an error from NewBinaryReader; after it, the reader returns every
// event it can vouch for, then an ErrTruncated naming the next event and
// the offset where the file ends. In version 2 those are the events of
// the blocks that are whole (a cut block cannot pass its check); in
// version 1, every event whose bytes are all there.
func TestBinaryTruncated(t *testing.T) {
	h, evs, err := ReadTextFile("testdata/allkinds.txt")
	if err != nil {
		t.Fatal(err)
	}
	long := synthEvents(50_000)
	for _, tc := range []struct {
		name    string
		data    []byte
		evs     []engine.Event
		version int
	}{
		{"allkinds", encodeBinary(t, h, evs), evs, 2},
		{"synthetic", encodeBinary(t, Header{Config: synth.Config()}, long), long, 2},
		{"allkinds v1", encodeBinaryVersion(t, h, evs, 1), evs, 1},
		{"synthetic v1", encodeBinaryVersion(t, Header{Config: synth.Config()}, long, 1), long, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.data
			hdr, ends, blocks, blockOf := eventBlocks(t, data)
			// whole is whether the bytes of event i that the reader
			// needs before returning it are all within the first c.
			need := slices.Clone(ends)
			if tc.version >= 2 {
				for i := len(need) - 2; i >= 0; i-- {
					if blockOf[i+1] == blockOf[i] {
						need[i] = need[i+1] // the end of its block
					}
				}
			}
			whole := func(i, c int) bool { return need[i] <= int64(c) }
			var cuts []int
			if len(data) < 4096 {
				for c := range len(data) {
					cuts = append(cuts, c)
				}
			} else {
				// Around each block's start (its bin header is just
				// before), at random, and in the end marker.
				rng := rand.New(rand.NewPCG(1, 2))
				for range 100 {
					cuts = append(cuts, rng.IntN(len(data)))
				}
				for _, b := range blocks {
					for d := -6; d <= 6; d++ {
						cuts = append(cuts, int(b)+d)
					}
				}
				for d := 1; d <= 10; d++ {
					cuts = append(cuts, len(data)-d)
				}
			}
			for _, c := range cuts {
				if c < 0 || c >= len(data) {
					continue
				}
				_, got, err := decodeBinary(data[:c], "cut.pgmt", len(ends)+1)
				if c == 0 {
					if !errors.Is(err, ErrNotBinary) {
						t.Errorf("cut at 0: %v, want ErrNotBinary", err)
					}
					continue
				}
				if !errors.Is(err, ErrTruncated) {
					t.Fatalf("cut at %d: %v, want ErrTruncated", c, err)
				}
				if int64(c) < hdr {
					if len(got) != 0 {
						t.Fatalf("cut at %d in the header: %d events", c, len(got))
					}
					continue
				}
				want := 0
				for want < len(ends) && whole(want, c) {
					want++
				}
				if !slices.Equal(got, tc.evs[:want]) {
					t.Fatalf("cut at %d: %d events, want the first %d (%v)", c, len(got), want, err)
				}
				var fe *FormatError
				if !errors.As(err, &fe) || fe.Event != int64(want) || fe.Offset < 0 || fe.Offset > int64(c) {
					t.Fatalf("cut at %d: %v does not name event %d and an offset up to %d", c, err, want, c)
				}
				if !strings.Contains(err.Error(), fmt.Sprintf("event %d at byte ", want)) ||
					!strings.Contains(err.Error(), fmt.Sprintf("the file ends at byte %d", c)) {
					t.Fatalf("cut at %d: message %q", c, err)
				}
			}
		})
	}
}

// TestBinaryHugeCount: a header that announces 2^60 events costs nothing:
// the reader allocates nothing from it, reads the events there are, and
// then says that the count was wrong.
func TestBinaryHugeCount(t *testing.T) {
	h := Header{Config: engine.Config{Ranges: head16M()}}
	var buf bytes.Buffer
	w := NewBinaryWriter(&buf)
	if err := w.WriteHeaderCount(h, 1<<60); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := w.WriteEvent(engine.Event{Kind: engine.EvRead, Size: 8, Addr: uint64(i) * 8}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "announces 1152921504606846976 events, 3 were written") {
		t.Errorf("Close: %v, want the count mismatch", err)
	}
	data := buf.Bytes()
	end := len(data) - 9 // the end marker
	for _, tc := range []struct {
		name string
		data []byte
		is   error
		want string
	}{
		{"complete", data, ErrCorrupt, fmt.Sprintf("event 3 at byte %d: corrupt trace: the header announces 1152921504606846976 events, the trace holds 3", end)},
		{"without end marker", data[:end], ErrTruncated, fmt.Sprintf("event 3 at byte %d: truncated trace", end)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			r, err := NewBinaryReader(bytes.NewReader(tc.data), "huge.pgmt")
			if err != nil {
				t.Fatal(err)
			}
			if n, known := r.EventCount(); n != 1<<60 || !known {
				t.Errorf("EventCount = %d, %v", n, known)
			}
			n := 0
			for {
				_, err = r.Next()
				if err != nil {
					break
				}
				n++
			}
			runtime.ReadMemStats(&after)
			if n != 3 || !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%d events, then %v; want 3 and %q", n, err, tc.want)
			}
			if d := after.TotalAlloc - before.TotalAlloc; d > 256<<10 {
				t.Errorf("reading allocated %d bytes", d)
			}
		})
	}
}

// TestBinaryOpen: Open tells the forms apart by content, whatever the
// name, and Position says where each is.
func TestBinaryOpen(t *testing.T) {
	h, evs, err := ReadTextFile("testdata/nested.txt")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	text, bin := dir+"/text.pgmt", dir+"/binary.txt" // names that lie
	if err := os.WriteFile(text, []byte(render(t, h, evs)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, encodeBinary(t, h, evs), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		form Form
		pos  string
	}{{text, FormText, text + ":%d"}, {bin, FormBinary, bin + ": event %d"}} {
		f, err := Open(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if f.Form != tc.form {
			t.Errorf("%s: form %v, want %v", tc.path, f.Form, tc.form)
		}
		if !reflect.DeepEqual(f.Header(), h) {
			t.Errorf("%s: header %+v", tc.path, f.Header())
		}
		var got []engine.Event
		for {
			ev, err := f.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ev)
		}
		if !reflect.DeepEqual(got, evs) {
			t.Errorf("%s: events differ", tc.path)
		}
		last := len(evs) - 1
		if tc.form == FormText {
			last = strings.Count(render(t, h, evs), "\n") // the last line
		}
		if want := fmt.Sprintf(tc.pos, last); f.Position() != want {
			t.Errorf("Position() = %q, want %q", f.Position(), want)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Open(dir + "/missing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestCreate: the name chooses the form; both writers complete their
// file on Close; a refused header leaves no file behind.
func TestCreate(t *testing.T) {
	h, evs, err := ReadTextFile("testdata/allkinds.txt")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"a.txt", "a.TXT", "a.pgmt", "a.trace", "a"} {
		path := dir + "/" + name
		w, err := CreateCount(path, h, uint64(len(evs)))
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if err := w.WriteEvent(ev); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if f.Form != FormOf(path) {
			t.Errorf("%s: written as %v", name, f.Form)
		}
		if br, ok := f.Reader.(*BinaryReader); ok {
			if n, known := br.EventCount(); !known || n != uint64(len(evs)) {
				t.Errorf("%s: count %d %v", name, n, known)
			}
		}
		f.Close()
	}
	bad := Header{Version: 7}
	if _, err := Create(dir+"/bad.pgmt", bad); !errors.Is(err, ErrVersion) {
		t.Errorf("bad header: %v", err)
	}
	if _, err := os.Stat(dir + "/bad.pgmt"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused header left a file: %v", err)
	}
	// A refused header costs no file that was there.
	mine := dir + "/mine.txt"
	if err := os.WriteFile(mine, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(mine, bad); !errors.Is(err, ErrVersion) {
		t.Errorf("bad header: %v", err)
	}
	if b, err := os.ReadFile(mine); err != nil || string(b) != "keep me" {
		t.Errorf("a refused header changed the file there: %q, %v", b, err)
	}
}

// TestBinaryHeaderErrorPlace: a header value the rules refuse is named
// where it is in the file, not where the header ends; a key or value with
// raw bytes is shown escaped. (Version 1 files, which have no checksum
// that would stop the reader first.)
func TestBinaryHeaderErrorPlace(t *testing.T) {
	h := Header{Config: engine.Config{Ranges: head16M()}, Meta: map[string]string{"k": "v"}}
	good := encodeBinaryVersion(t, h, nil, 1)
	at := func(s string) int64 { return int64(bytes.Index(good, []byte(s)) + len(s)) }
	for _, tc := range []struct {
		name     string
		from, to string
		offset   int64
		want     string
	}{
		{"maxphyaddr", "\xaamaxphyaddr\x28", "\xaamaxphyaddr\x14", at("\xaamaxphyaddr"), "maxphyaddr 20 outside"},
		{"host", "\xa4host\x09", "\xa4host\x63", at("\xa4host"), "host paging mode 99 unknown"},
		{"range", "\xce\x01\x00\x00\x00\xa0", "\xce\x01\x00\x00\x01\xa0", at("\xa6ranges"), "range 0"},
		{"meta key", "\xa1k\xa1v", "\xa1\xff\xa1v", at("\xa4meta"), `"\xff"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !bytes.Contains(good, []byte(tc.from)) {
				t.Fatalf("no %q in %q", tc.from, good)
			}
			_, _, err := decodeBinary(bytes.Replace(good, []byte(tc.from), []byte(tc.to), 1), "h.pgmt", 1)
			var fe *FormatError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v; want a *FormatError saying %q", err, tc.want)
			}
			if tc.name != "meta key" && fe.Offset != tc.offset {
				t.Errorf("%v: at byte %d, want %d (where the value is)", err, fe.Offset, tc.offset)
			}
			if !utf8.ValidString(err.Error()) || strings.ContainsFunc(err.Error(), func(r rune) bool { return r < 0x20 }) {
				t.Errorf("%q: raw bytes in the message", err)
			}
		})
	}
}

// TestBinaryHeaderMessagesPrintable: whatever byte replaces one of the
// header's, the error is printable text (raw bytes are escaped).
func TestBinaryHeaderMessagesPrintable(t *testing.T) {
	h := Header{Config: engine.Config{Ranges: head16M()}, Meta: map[string]string{"k": "v"}}
	good := encodeBinary(t, h, nil)
	for i := len(binaryMagic); i < len(good); i++ {
		for v := range 256 {
			d := bytes.Clone(good)
			d[i] = byte(v)
			_, _, err := decodeBinary(d, "h", 1)
			if err != nil && (!utf8.ValidString(err.Error()) || strings.ContainsFunc(err.Error(), func(r rune) bool { return r < 0x20 })) {
				t.Fatalf("byte %d = %#x: %q", i, v, err)
			}
		}
	}
}
