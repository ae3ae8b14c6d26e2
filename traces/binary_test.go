package traces

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
)

// encodeBinary renders a trace in the binary form.
func encodeBinary(t testing.TB, h Header, evs []engine.Event) []byte {
	t.Helper()
	return encodeBinaryVersion(t, h, evs, BinaryVersion)
}

// encodeBinaryVersion is encodeBinary in a given format version: 1 makes
// the files of earlier programs, without checksums.
func encodeBinaryVersion(t testing.TB, h Header, evs []engine.Event, version int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewBinaryWriter(&buf)
	w.version = version
	if err := w.WriteHeader(h); err != nil {
		t.Fatal(err)
	}
	for i, ev := range evs {
		if err := w.WriteEvent(ev); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// decodeBinary reads a binary trace, keeping at most max events. On an
// error it returns the events read before it.
func decodeBinary(data []byte, name string, max int) (Header, []engine.Event, error) {
	r, err := NewBinaryReader(bytes.NewReader(data), name)
	if err != nil {
		return Header{}, nil, err
	}
	var evs []engine.Event
	for len(evs) < max {
		ev, err := r.Next()
		if err == io.EOF {
			return r.Header(), evs, nil
		}
		if err != nil {
			return r.Header(), evs, err
		}
		if r.Index() != int64(len(evs)) {
			return r.Header(), evs, errors.New("Index does not count events")
		}
		evs = append(evs, ev)
	}
	return r.Header(), evs, ErrTooManyEvents
}

// corpus is every valid text trace of the project.
func corpus(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"testdata/*.txt", "samples/*.txt", "../engine/testdata/ref/*.txt"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 5 {
		t.Fatalf("only %d traces in the corpus", len(files))
	}
	return files
}

// TestBinaryRoundTrip: text -> binary -> text gives the canonical text,
// and binary -> text -> binary the same bytes, for every trace of the
// project.
func TestBinaryRoundTrip(t *testing.T) {
	for _, file := range corpus(t) {
		t.Run(file, func(t *testing.T) {
			h, evs, err := ReadTextFile(file)
			if err != nil {
				t.Fatal(err)
			}
			bin := encodeBinary(t, h, evs)
			h2, evs2, err := decodeBinary(bin, "bin", MaxFileEvents)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(h2, h) {
				t.Errorf("header changed\n got %+v\nwant %+v", h2, h)
			}
			if !reflect.DeepEqual(evs2, evs) {
				t.Errorf("events changed")
			}
			if got, want := render(t, h2, evs2), render(t, h, evs); got != want {
				t.Errorf("text -> binary -> text differs from the canonical text:\n%s", got)
			}
			h3, evs3, err := readString(render(t, h2, evs2))
			if err != nil {
				t.Fatal(err)
			}
			if again := encodeBinary(t, h3, evs3); !bytes.Equal(again, bin) {
				t.Errorf("binary -> text -> binary changed the bytes")
			}
			t.Logf("%d events, %d bytes binary (%.2f bytes/event), %d bytes text",
				len(evs), len(bin), float64(len(bin))/float64(max(len(evs), 1)), len(render(t, h, evs)))
		})
	}
}

// TestBinaryGolden pins the bytes of the binary form: each testdata/*.txt
// encodes to the .pgmt file beside it (go test -update rewrites them),
// which decodes to the same trace.
func TestBinaryGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			h, evs, err := ReadTextFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got := encodeBinary(t, h, evs)
			golden := strings.TrimSuffix(file, ".txt") + BinaryExt
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s encodes differently from %s: the format changed? (go test -update rewrites it, and BinaryVersion must change)", file, golden)
			}
			h2, evs2, err := decodeBinary(want, golden, MaxFileEvents)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(h2, h) || !reflect.DeepEqual(evs2, evs) {
				t.Errorf("%s reads back differently from %s", golden, file)
			}
		})
	}
}

// TestBinaryLayout pins the start of a file byte by byte: magic, version,
// header map, one block with a shape definition, the end marker.
func TestBinaryLayout(t *testing.T) {
	h := Header{Config: engine.Config{Ranges: []phys.RangeSpec{{Type: phys.TypeRAM, Size: 1 << 20}}}}
	got := encodeBinary(t, h, []engine.Event{
		{Kind: engine.EvRead, Size: 4, Addr: 0x1000},
		{Kind: engine.EvRead, Size: 4, Addr: 0x1004},
	})
	header := "\xa8pgmtrace\x02\x86" +
		"\xa6ranges\x91\x94\x00\x00\xce\x00\x10\x00\x00\xa0" +
		"\xa4host\x09\xa6paging\x00\xa4pool\xcd\x04\x00\xaamaxphyaddr\x28\xa5nopae\xc2"
	events := "\x00\x02" + // first event 0, 2 events
		"\xff\x08\x04\x01\x80\x40" + // define shape 0: r4, address against register 0; delta +0x1000
		"\x00\x08" // shape 0, delta +4
	want := []byte(header)
	want = append(want, 0xce) // the header's CRC-32C, a msgpack uint32
	want = binary.BigEndian.AppendUint32(want, crc32.Checksum([]byte(header), castagnoli))
	want = append(want, 0xc4, 0x0e) // a block of 14 bytes: its CRC-32C (little-endian), then the events
	want = binary.LittleEndian.AppendUint32(want, crc32.Checksum([]byte(events), castagnoli))
	want = append(want, events...)
	want = append(want, "\x81\xa6events\x02"...) // the end marker
	if !bytes.Equal(got, want) {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	// Version 1, as earlier programs wrote it: no checksums.
	got = encodeBinaryVersion(t, h, []engine.Event{
		{Kind: engine.EvRead, Size: 4, Addr: 0x1000},
		{Kind: engine.EvRead, Size: 4, Addr: 0x1004},
	}, 1)
	want = []byte("\xa8pgmtrace\x01" + header[10:] + "\xc4\x0a" + events + "\x81\xa6events\x02")
	if !bytes.Equal(got, want) {
		t.Errorf("version 1: got\n%q\nwant\n%q", got, want)
	}
}

// TestBinaryVersion1 reads the files an earlier program wrote (format
// version 1, without checksums, in testdata/v1): they still read to the
// same traces, and say that they are unchecked.
func TestBinaryVersion1(t *testing.T) {
	files, err := filepath.Glob("testdata/v1/*" + BinaryExt)
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			h, evs, err := ReadTextFile(filepath.Join("testdata", strings.TrimSuffix(filepath.Base(file), BinaryExt)+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(encodeBinaryVersion(t, h, evs, 1), data) {
				t.Errorf("version 1 is no longer written the same way")
			}
			r, err := NewBinaryReader(bytes.NewReader(data), file)
			if err != nil {
				t.Fatal(err)
			}
			if r.Version() != 1 || r.Checked() {
				t.Errorf("version %d, checked %v; want 1, unchecked", r.Version(), r.Checked())
			}
			h2, evs2, err := decodeBinary(data, file, MaxFileEvents)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(h2, h) || !reflect.DeepEqual(evs2, evs) {
				t.Errorf("%s reads back differently", file)
			}
		})
	}
}

// TestBinaryEveryKind: events of every kind the engine knows, with any
// fields, survive the binary form, which needs no change when a kind is
// added. Events the text form would refuse are refused by the binary
// writer too.
func TestBinaryEveryKind(t *testing.T) {
	var evs []engine.Event
	for k := engine.EventKind(1); k.Valid(); k++ {
		for _, ev := range []engine.Event{
			{Kind: k}, {Kind: k, Size: 8, Addr: 0x1008, Value: 1 << 63}, {Kind: k, Size: 1, Addr: 0xff, Value: 0x7f},
			{Kind: k, Size: 2, Addr: 0x7fe, Value: 0x1234}, {Kind: k, Size: 4, Addr: 0x2000, Value: 3},
			{Kind: k, Size: 3, Addr: 0x3000, Value: 0x2000, Text: "name"}, {Kind: k, Text: "some text"},
		} {
			if checkCanonical(ev) == nil && checkEvent(ev, newRangeSet(head16M())) == nil {
				evs = append(evs, ev)
			}
		}
	}
	h := Header{Config: engine.Config{Ranges: head16M()}}
	bin := encodeBinary(t, h, evs)
	_, got, err := decodeBinary(bin, "every", len(evs)+1)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, evs) {
		t.Fatalf("events changed:\n got %+v\nwant %+v", got, evs)
	}
	// Both writers refuse the same events.
	for _, ev := range []engine.Event{
		{Kind: 99}, {Kind: engine.EvRead, Size: 3}, {Kind: engine.EvLabel}, {Kind: engine.EvCR3, Addr: 1},
		{Kind: engine.EvWrite, Size: 1, Value: 0x100}, {Kind: engine.EvPhysRead, Size: 8, Addr: 16 << 20},
	} {
		w := NewBinaryWriter(io.Discard)
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		var se *SyntaxError
		if err := w.WriteEvent(ev); !errors.As(err, &se) {
			t.Errorf("%+v: binary writer says %v, want a *SyntaxError", ev, err)
		}
		tw := NewTextWriter(io.Discard)
		tw.WriteHeader(h)
		if tw.WriteEvent(ev) == nil {
			t.Errorf("%+v: the text writer accepts it", ev)
		}
	}
}

func head16M() []phys.RangeSpec {
	return []phys.RangeSpec{{Type: phys.TypeRAM, Size: 16 << 20}}
}

// TestBinaryBlocks: a long trace spans many blocks, each decodable alone
// (shapes and registers restart), including blocks closed because a
// block ran out of shapes.
func TestBinaryBlocks(t *testing.T) {
	h := Header{Config: engine.Config{Ranges: head16M()}}
	var evs []engine.Event
	for i := range 100_000 {
		ev := engine.Event{Kind: engine.EvRead, Size: 8, Addr: uint64(i) * 0x48}
		switch i % 7 {
		case 1:
			ev = engine.Event{Kind: engine.EvWrite, Size: 4, Addr: 0x7fff0000 - uint64(i)*4, Value: uint64(i)}
		case 3:
			ev = engine.Event{Kind: engine.EvExec, Addr: 0xffffffff80000000 + uint64(i%4096)}
		case 5:
			ev = engine.Event{Kind: engine.EvLabel, Text: strings.Repeat("x", 1+i%300)}
		}
		evs = append(evs, ev)
	}
	// 300 different labels... and as many shapes as kinds allow: a label
	// of each length is one shape, but the shape only names "has text";
	// force shape exhaustion with writes of every value width instead.
	for i := range 600 {
		evs = append(evs, engine.Event{Kind: engine.EvPhysWrite, Size: 8, Addr: uint64(i) * 8, Value: uint64(1) << (i % 64)})
		evs = append(evs, engine.Event{Kind: engine.EvCPL, Value: uint64(i % 4)})
	}
	bin := encodeBinary(t, h, evs)
	_, got, err := decodeBinary(bin, "blocks", len(evs)+1)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, evs) {
		t.Fatal("events changed")
	}
	r, err := NewBinaryReader(bytes.NewReader(bin), "blocks")
	if err != nil {
		t.Fatal(err)
	}
	blocks := 0
	for {
		if r.left == 0 && r.err == nil {
			blocks++
		}
		if _, err := r.Next(); err != nil {
			break
		}
		if len(r.block) > BlockTargetBytes+MaxLabelBytes+64 {
			t.Fatalf("block of %d bytes", len(r.block))
		}
	}
	if blocks < 5 {
		t.Errorf("%d blocks, want several", blocks)
	}
}

// TestBinaryHeaderFields: the binary header stores every field of the
// configuration. A field added to engine.Config (or to the specs it
// holds) fails here until the header stores it too.
func TestBinaryHeaderFields(t *testing.T) {
	for _, tc := range []struct {
		typ    reflect.Type
		stored string
	}{
		{reflect.TypeFor[engine.Config](), "Ranges Host Paging PoolPages MaxPhys NoPAE Mappings DirtyPT"},
		{reflect.TypeFor[phys.RangeSpec](), "Type Start Size Name"},
		{reflect.TypeFor[engine.MappingSpec](), "Name Size"},
		{reflect.TypeFor[Header](), "Version Config Meta"},
	} {
		stored := strings.Fields(tc.stored)
		var fields []string
		for i := range tc.typ.NumField() {
			fields = append(fields, tc.typ.Field(i).Name)
		}
		if !reflect.DeepEqual(fields, stored) {
			t.Errorf("%v has fields %v; the binary header stores %v (see encodeHeader and readHeader)", tc.typ, fields, stored)
		}
	}
}
