package traces

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// head is a minimal header; events in tests follow it from line 3 on.
const head = "pgmtrace 1\nram 0 16M\n"

// readString reads a whole trace from a string.
func readString(s string) (Header, []engine.Event, error) {
	return readAll(strings.NewReader(s), "trace.txt", MaxFileEvents)
}

func TestReadEvents(t *testing.T) {
	tests := []struct {
		line string
		want engine.Event
	}{
		{"cr0 0x80000011", engine.Event{Kind: engine.EvCR0, Value: 0x80000011}},
		{"cr3 0x100000", engine.Event{Kind: engine.EvCR3, Value: 0x100000}},
		{"cr4 48", engine.Event{Kind: engine.EvCR4, Value: 0x30}},
		{"efer 0x900", engine.Event{Kind: engine.EvEFER, Value: 0x900}},
		{"cr0 0xffffffffffffffff", engine.Event{Kind: engine.EvCR0, Value: 1<<64 - 1}},
		{"cpl 0", engine.Event{Kind: engine.EvCPL, Value: 0}},
		{"cpl 3", engine.Event{Kind: engine.EvCPL, Value: 3}},
		{"pw1 0x1000 0xff", engine.Event{Kind: engine.EvPhysWrite, Size: 1, Addr: 0x1000, Value: 0xff}},
		{"pw2 0x1000 0xffff", engine.Event{Kind: engine.EvPhysWrite, Size: 2, Addr: 0x1000, Value: 0xffff}},
		{"pw4 0x1000 0xffffffff", engine.Event{Kind: engine.EvPhysWrite, Size: 4, Addr: 0x1000, Value: 0xffffffff}},
		{"pw8 0x1000 0x2003", engine.Event{Kind: engine.EvPhysWrite, Size: 8, Addr: 0x1000, Value: 0x2003}},
		{"pw8 0xfffff8 0xffffffffffffffff", engine.Event{Kind: engine.EvPhysWrite, Size: 8, Addr: 0xfffff8, Value: 1<<64 - 1}},
		{"pr1 0", engine.Event{Kind: engine.EvPhysRead, Size: 1}},
		{"pr8 0xfffff8", engine.Event{Kind: engine.EvPhysRead, Size: 8, Addr: 0xfffff8}},
		{"r1 0x400000", engine.Event{Kind: engine.EvRead, Size: 1, Addr: 0x400000}},
		{"r4 0x0000800000000000", engine.Event{Kind: engine.EvRead, Size: 4, Addr: 0x800000000000}},
		{"r8 0xffffffffffffffff", engine.Event{Kind: engine.EvRead, Size: 8, Addr: 1<<64 - 1}},
		{"w2 0x8000 0xbeef", engine.Event{Kind: engine.EvWrite, Size: 2, Addr: 0x8000, Value: 0xbeef}},
		{"w4 0x400000 0xdeadbeef", engine.Event{Kind: engine.EvWrite, Size: 4, Addr: 0x400000, Value: 0xdeadbeef}},
		{"x 0x7000", engine.Event{Kind: engine.EvExec, Addr: 0x7000}},
		{"invlpg 0x10000", engine.Event{Kind: engine.EvInvlpg, Addr: 0x10000}},
		{"label process 3 forks", engine.Event{Kind: engine.EvLabel, Text: "process 3 forks"}},
		{"label   spaced\tout   # comment", engine.Event{Kind: engine.EvLabel, Text: "spaced\tout"}},
		{"label déjà vu", engine.Event{Kind: engine.EvLabel, Text: "déjà vu"}},
		{"\t r4 \t 0x10 # tabs and spaces", engine.Event{Kind: engine.EvRead, Size: 4, Addr: 0x10}},
		{"r4 0x10\r", engine.Event{Kind: engine.EvRead, Size: 4, Addr: 0x10}},
		{"ac 1", engine.Event{Kind: engine.EvAC, Value: 1}},
		{"ac 0", engine.Event{Kind: engine.EvAC}},
		{"pkru 0x55555554", engine.Event{Kind: engine.EvPKRU, Value: 0x55555554}},
		{"pkru 4294967295", engine.Event{Kind: engine.EvPKRU, Value: 0xffffffff}},
		{"invpcid 0 5 0x400000", engine.Event{Kind: engine.EvInvpcid, Size: 0, Value: 5, Addr: 0x400000}},
		{"invpcid 0 0 0", engine.Event{Kind: engine.EvInvpcid}},
		{"invpcid 1 4095", engine.Event{Kind: engine.EvInvpcid, Size: 1, Value: 4095}},
		{"invpcid 0x2 0", engine.Event{Kind: engine.EvInvpcid, Size: 2}},
		{"invpcid 3 0 0x1000 # ignored address", engine.Event{Kind: engine.EvInvpcid, Size: 3, Addr: 0x1000}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			_, evs, err := readString(head + tt.line + "\n")
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 || evs[0] != tt.want {
				t.Fatalf("got %+v, want [%+v]", evs, tt.want)
			}
		})
	}
}

func TestReadHeader(t *testing.T) {
	ram := func(start, size uint64, name string) phys.RangeSpec {
		return phys.RangeSpec{Type: phys.TypeRAM, Start: x86.GPA(start), Size: size, Name: name}
	}
	def := engine.DefaultConfig()
	tests := []struct {
		name string
		text string
		want Header
	}{
		{"defaults", "pgmtrace 1\n", Header{Version: 1, Config: def}},
		{"comments and blanks first", "# a trace\n\n   \t\n  pgmtrace   1  # magic\n", Header{Version: 1, Config: def}},
		{"crlf", "pgmtrace 1\r\nram 0 4K\r\n", Header{Version: 1, Config: engine.Config{
			Ranges: []phys.RangeSpec{ram(0, 4096, "")}, Host: engine.DefaultHost, PoolPages: engine.DefaultPoolPages, MaxPhys: x86.DefaultMaxPhys}}},
		{"everything", `pgmtrace 1
maxphyaddr 52
host pae-nx
paging nested
pool 0x100
meta tool gen/0.1
meta empty
meta description a   tour  # not part of it
ram 0 0xa0000 low memory
rom 0xf0000 64K   bios
mmio 0xfee00000 4K
ram 1M 15M main memory
ram 0x4000000000 1G high
`, Header{Version: 1,
			Meta: map[string]string{"tool": "gen/0.1", "empty": "", "description": "a   tour"},
			Config: engine.Config{
				Ranges: []phys.RangeSpec{
					ram(0, 0xa0000, "low memory"),
					{Type: phys.TypeROM, Start: 0xf0000, Size: 64 << 10, Name: "bios"},
					{Type: phys.TypeMMIO, Start: 0xfee00000, Size: 4096},
					ram(1<<20, 15<<20, "main memory"),
					ram(0x4000000000, 1<<30, "high"),
				},
				Host: engine.HostPAENX, Paging: engine.PagingNested, PoolPages: 256, MaxPhys: 52,
			}}},
		{"every host mode", "pgmtrace 1\nhost 32bit\npaging shadow\n", Header{Version: 1, Config: engine.Config{
			Host: engine.Host32Bit, PoolPages: engine.DefaultPoolPages, MaxPhys: x86.DefaultMaxPhys}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := NewTextReader(strings.NewReader(tt.text), "h.txt")
			if err != nil {
				t.Fatal(err)
			}
			if got := tr.Header(); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("header\n got %+v\nwant %+v", got, tt.want)
			}
			if _, err := tr.Next(); err != io.EOF {
				t.Fatalf("Next = %v, want io.EOF", err)
			}
		})
	}
	for _, name := range engine.HostModeNames() {
		t.Run("host "+name, func(t *testing.T) {
			h, _, err := readString("pgmtrace 1\nhost " + name + "\n")
			if err != nil {
				t.Fatal(err)
			}
			if h.Config.Host.TraceName() != name {
				t.Fatalf("host %v, want %s", h.Config.Host, name)
			}
		})
	}
}

func TestReadLineNumbers(t *testing.T) {
	text := "# lead\npgmtrace 1\n\nram 0 1M\nr4 0x10\n# c\n\nw1 0x20 1\nlabel end\n"
	tr, err := NewTextReader(strings.NewReader(text), "n.txt")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Line() != 0 {
		t.Errorf("Line before Next = %d, want 0", tr.Line())
	}
	for _, want := range []int{5, 8, 9} {
		if _, err := tr.Next(); err != nil {
			t.Fatal(err)
		}
		if tr.Line() != want {
			t.Errorf("Line = %d, want %d", tr.Line(), want)
		}
	}
	for range 2 {
		if _, err := tr.Next(); err != io.EOF {
			t.Fatalf("Next at end = %v, want io.EOF", err)
		}
	}
}

func TestReadErrors(t *testing.T) {
	long := strings.Repeat("a", MaxLineBytes+1)
	tests := []struct {
		name string
		text string
		line int    // expected line number in the error (0: none)
		msg  string // substring of the message
		is   error  // sentinel the error must match, if any
	}{
		// The first line.
		{"empty input", "", 0, "no line before the end", ErrNotTrace},
		{"only comments", "# nothing\n\n", 0, "no line before the end", ErrNotTrace},
		{"missing first line", "ram 0 16M\n", 1, "ram 0 16M: not a text trace", ErrNotTrace},
		{"first line not magic", "# c\nPGMTRACE 1\n", 2, "not a text trace", ErrNotTrace},
		{"magic without version", "pgmtrace\n", 1, "want `pgmtrace 1`", ErrNotTrace},
		{"magic with extra", "pgmtrace 1 2\n", 1, "want `pgmtrace 1`", ErrNotTrace},
		{"version 2", "pgmtrace 2\n", 1, "unsupported trace version 2 (this reader knows version 1)", ErrVersion},
		{"version 0", "pgmtrace 0\n", 1, "unsupported trace version 0", ErrVersion},
		{"version text", "pgmtrace one\n", 1, "unsupported trace version one", ErrVersion},
		{"binary", "\x93\xa8pgmtrace\x01\x00\n", 1, "not a text trace", ErrNotTrace},
		{"huge first line", long, 1, "line too long", ErrLineTooLong},

		// Header lines.
		{"second magic", "pgmtrace 1\npgmtrace 1\n", 2, "a second pgmtrace line", nil},
		{"unknown header word", "pgmtrace 1\nram 0 1M\nrma 0 1M\n", 3, `unknown line kind rma`, nil},
		{"upper-case keyword", "pgmtrace 1\nRAM 0 1M\n", 2, "keywords are lower case: ram", nil},
		{"range without size", "pgmtrace 1\nram 0\n", 2, "want `ram GPA SIZE [NAME]`", nil},
		{"range bad start", "pgmtrace 1\nram zero 1M\n", 2, "malformed number zero", nil},
		{"range unaligned start", "pgmtrace 1\nram 0x800 1M\n", 2, "not page aligned", nil},
		{"range unaligned size", "pgmtrace 1\nram 0 1000\n", 2, "not page aligned", nil},
		{"range size zero", "pgmtrace 1\nram 0 0\n", 2, "size 0", nil},
		{"range P suffix", "pgmtrace 1\nram 0 1P\n", 2, "unknown unit 'P'", nil},
		{"range 1 PiB", "pgmtrace 1\nram 0 1048576G\n", 2, "ends beyond MAXPHYADDR", nil},
		{"range 1 PiB maxphyaddr 52", "pgmtrace 1\nmaxphyaddr 52\nram 0 1048576G\n", 3, "RAM range of 1P brings guest physical memory to 1P, above the limit of 64G", nil},
		{"range above limit", "pgmtrace 1\nmaxphyaddr 52\nram 0 65G\n", 3, "above the limit of 64G", nil},
		{"range size overflow", "pgmtrace 1\nram 0 17179869184G\n", 2, "overflows 64 bits", nil},
		{"range wraps", "pgmtrace 1\nram 0xfffffffffffff000 8K\n", 2, "wraps around", nil},
		{"range beyond maxphyaddr", "pgmtrace 1\nmaxphyaddr 32\nram 0xfffff000 8K\n", 3, "ends beyond MAXPHYADDR (32 bits, 4G)", nil},
		{"overlapping ranges", "pgmtrace 1\nram 0 16M main\nrom 0xf0000 64K bios\n", 3, `overlaps RAM range "main"`, nil},
		{"range name with control", "pgmtrace 1\nram 0 4K a\x01b\n", 2, "range name", nil},
		{"range name too long", "pgmtrace 1\nram 0 4K " + strings.Repeat("n", MaxNameBytes+1) + "\n", 2, "range name of 257 bytes", nil},
		{"host unknown", "pgmtrace 1\nhost x86\n", 2, `unknown host paging mode "x86"`, nil},
		{"host twice", "pgmtrace 1\nhost pae\nhost pae\n", 3, "a second host line", nil},
		{"host missing", "pgmtrace 1\nhost\n", 2, "want `host MODE`", nil},
		{"paging unknown", "pgmtrace 1\npaging hardware\n", 2, "unknown paging hardware (want shadow, nested or ept)", nil},
		{"cpu unknown", "pgmtrace 1\ncpu no-sse\n", 2, "unknown cpu feature line", nil},
		{"cpu twice", "pgmtrace 1\ncpu no-pae\ncpu no-pae\n", 3, "cpu", nil},
		{"paging twice", "pgmtrace 1\npaging shadow\npaging nested\n", 3, "a second paging line", nil},
		{"pool too small", "pgmtrace 1\npool 15\n", 2, "pool of 15 pages outside 16..16383", nil},
		{"pool too big", "pgmtrace 1\npool 0x4000\n", 2, "outside 16..16383", nil},
		{"pool with unit", "pgmtrace 1\npool 1K\n", 2, "malformed number 1K", nil},
		{"pool twice", "pgmtrace 1\npool 64\npool 64\n", 3, "a second pool line", nil},
		{"pool extra", "pgmtrace 1\npool 64 pages\n", 2, "want `pool PAGES`", nil},
		{"maxphyaddr after range", "pgmtrace 1\nram 0 1M\nmaxphyaddr 48\n", 3, "maxphyaddr after a range line", nil},
		{"maxphyaddr low", "pgmtrace 1\nmaxphyaddr 31\n", 2, "maxphyaddr 31 outside 32..52", nil},
		{"maxphyaddr high", "pgmtrace 1\nmaxphyaddr 53\n", 2, "outside 32..52", nil},
		{"maxphyaddr twice", "pgmtrace 1\nmaxphyaddr 40\nmaxphyaddr 40\n", 3, "a second maxphyaddr line", nil},
		{"meta without key", "pgmtrace 1\nmeta\n", 2, "want `meta KEY VALUE`", nil},
		{"meta twice", "pgmtrace 1\nmeta a 1\nmeta a 2\n", 3, "a second meta a line", nil},
		{"meta bad key", "pgmtrace 1\nmeta a=b 1\n", 2, `meta key "a=b"`, nil},

		// Events.
		{"header after event", head + "r4 0\nram 16M 1M\n", 4, "ram 16M 1M: header line after the first event", nil},
		{"host after event", head + "r4 0\nhost pae\n", 4, "header line after the first event", nil},
		{"magic after event", head + "r4 0\npgmtrace 1\n", 4, "header line after the first event", nil},
		{"unknown event", head + "read 0x10\n", 3, "unknown line kind read", nil},
		{"upper-case event", head + "R4 0x10\n", 3, "keywords are lower case: r4", nil},
		{"size 3", head + "w3 0x1000 5\n", 3, "trace.txt:3: w3 0x1000 5: access size 3 is not 1, 2, 4 or 8", nil},
		{"size 16", head + "pr16 0x1000\n", 3, "access size 16 is not 1, 2, 4 or 8", nil},
		{"size missing", head + "pw 0x1000 1\n", 3, "pw needs an access size", nil},
		{"x with size", head + "x4 0x1000\n", 3, "unknown line kind x4", nil},
		{"missing operand", head + "r4\n", 3, "want `r4 GVA`", nil},
		{"extra operand", head + "r4 0x10 0x20\n", 3, "want `r4 GVA`", nil},
		{"write missing value", head + "w8 0x10\n", 3, "want `w8 GVA VALUE`", nil},
		{"pw missing value", head + "pw2 0x10\n", 3, "want `pw2 GPA VALUE`", nil},
		{"cr0 missing value", head + "cr0\n", 3, "want `cr0 VALUE`", nil},
		{"invlpg extra", head + "invlpg 1 2\n", 3, "want `invlpg GVA`", nil},
		{"malformed address", head + "r4 0xg\n", 3, "malformed number 0xg", nil},
		{"malformed value", head + "w4 0x10 x\n", 3, "malformed number x", nil},
		{"address overflow", head + "x 0x1ffffffffffffffff\n", 3, "overflows 64 bits", nil},
		{"value overflow", head + "cr3 18446744073709551616\n", 3, "number 18446744073709551616 overflows 64 bits", nil},
		{"value too wide w1", head + "w1 0x10 0x1ff\n", 3, "value 0x1ff does not fit in 1 byte", nil},
		{"value too wide pw2", head + "pw2 0x10 0x10000\n", 3, "value 0x10000 does not fit in 2 bytes", nil},
		{"value too wide w4", head + "w4 0x10 0x100000000\n", 3, "does not fit in 4 bytes", nil},
		{"size suffix on address", head + "r4 1M\n", 3, "malformed number 1M", nil},
		{"cpl 4", head + "cpl 4\n", 3, "cpl 4 is not 0..3", nil},
		{"ac 2", head + "ac 2\n", 3, "ac 2 is not 0 or 1", nil},
		{"ac without value", head + "ac\n", 3, "want `ac 0|1`", nil},
		{"pkru 33 bits", head + "pkru 0x100000000\n", 3, "does not fit in 32 bits", nil},
		{"invpcid type 4", head + "invpcid 4 0\n", 3, "#GP: type 4 is above 3", nil},
		{"invpcid PCID 4096", head + "invpcid 1 4096\n", 3, "#GP: PCID 0x1000 is above 0xfff", nil},
		{"invpcid type 0 without GVA", head + "invpcid 0 1\n", 3, "type 0 needs a GVA", nil},
		{"invpcid without PCID", head + "invpcid 1\n", 3, "want `invpcid TYPE PCID [GVA]`", nil},
		{"invpcid extra operand", head + "invpcid 0 1 0x1000 5\n", 3, "want `invpcid TYPE PCID [GVA]`", nil},
		{"invpcid bad type", head + "invpcid one 1\n", 3, "malformed number one", nil},
		{"label empty", head + "label   # nothing\n", 3, "want `label TEXT`: the text is missing", nil},
		{"label control", head + "label a\x7fb\n", 3, "label", nil},
		{"label bad utf8", head + "label a\xffb\n", 3, "not valid UTF-8", nil},
		{"pw outside", head + "pw4 0x1000000 1\n", 3, "[0x1000000, 0x1000004): physical access outside every range", engine.ErrOutsideRAM},
		{"pr straddles end", head + "pr8 0xfffffc\n", 3, "outside every range", engine.ErrOutsideRAM},
		{"pr wraps", head + "pr8 0xfffffffffffffffc\n", 3, "wraps around", engine.ErrOutsideRAM},
		{"pr without ranges", "pgmtrace 1\npr1 0\n", 2, "outside every range", engine.ErrOutsideRAM},
		{"pr in a gap", "pgmtrace 1\nram 0 4K\nram 8K 4K\npr1 0x1000\n", 4, "outside every range", engine.ErrOutsideRAM},
		{"huge event line", head + "r4 0x10\nlabel " + long + "\n", 4, "trace.txt:4: line too long", ErrLineTooLong},
		{"huge line at end", head + long, 3, "line too long", ErrLineTooLong},
		{"nul in line", head + "r4 0x10\x00\n", 3, `"r4 0x10\x00": malformed number`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readString(tt.text)
			if err == nil {
				t.Fatal("no error")
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T) is not a *SyntaxError", err, err)
			}
			if se.Line != tt.line {
				t.Errorf("line %d, want %d (%v)", se.Line, tt.line, err)
			}
			prefix := "trace.txt: "
			if tt.line > 0 {
				prefix = fmt.Sprintf("trace.txt:%d: ", tt.line)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, tt.msg) {
				t.Errorf("error %q, want prefix %q and %q", msg, prefix, tt.msg)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not match %v", err, tt.is)
			}
			if len(err.Error()) > 400 {
				t.Errorf("error message of %d bytes, want a short one", len(err.Error()))
			}
		})
	}
}

func TestLinesAccepted(t *testing.T) {
	tests := []struct{ name, text string }{
		{"adjacent ranges straddled", "pgmtrace 1\nram 0 4K\nrom 4K 4K\npr8 0xffc\npw8 0xffc 0\n"},
		{"longest line", "pgmtrace 1\nlabel " + strings.Repeat("a", MaxLineBytes-len("label ")) + "\n"},
		{"longest line crlf", "pgmtrace 1\nlabel " + strings.Repeat("a", MaxLineBytes-len("label ")) + "\r\n"},
		{"no final newline", "pgmtrace 1\nx 0"},
		{"comment with hash in it", "pgmtrace 1 # version ## one\nx 0 #"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := readString(tt.text); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestStickyError(t *testing.T) {
	tr, err := NewTextReader(strings.NewReader(head+"r4 0\nbogus\nr4 0\n"), "s.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Next(); err != nil {
		t.Fatal(err)
	}
	_, err1 := tr.Next()
	_, err2 := tr.Next()
	if err1 == nil || err1 != err2 {
		t.Fatalf("errors %v then %v, want the same error twice", err1, err2)
	}
}

// failingReader returns some data, then an error.
type failingReader struct{ data string }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.data == "" {
		return 0, errors.New("disk on fire")
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestReaderError(t *testing.T) {
	_, _, err := readAll(&failingReader{head + "r4 0\n"}, "f.txt", 10)
	if err == nil || !strings.Contains(err.Error(), "f.txt: reading line 4: disk on fire") {
		t.Fatalf("error %v, want the reader's error with its line", err)
	}
}

func TestTooManyEvents(t *testing.T) {
	_, evs, err := readAll(strings.NewReader(head+"r4 0\nr4 0\nr4 0\n"), "m.txt", 2)
	if !errors.Is(err, ErrTooManyEvents) || len(evs) != 2 || !strings.HasPrefix(err.Error(), "m.txt:5:") {
		t.Fatalf("got %d events, error %v; want 2 and ErrTooManyEvents at line 5", len(evs), err)
	}
}

// TestBidiControlsRefused: a label, range name or meta value holding a
// bidirectional control (which would reorder a terminal's line) is
// refused by the reader with its line, and by both writers; joiners and
// other marks that only shape text are kept.
func TestBidiControlsRefused(t *testing.T) {
	for _, r := range []rune{0x202e, 0x202a, 0x202d, 0x2066, 0x2069, 0x200e, 0x200f, 0x061c, 0x2028, 0x2029} {
		for _, line := range []string{"label a" + string(r) + "b", "meta k a" + string(r) + "b"} {
			text := "pgmtrace 1\nram 0x0 16M\n" + line + "\n"
			_, _, err := readAll(strings.NewReader(text), "t.txt", 10)
			if err == nil || !strings.Contains(err.Error(), "t.txt:3: ") || !strings.Contains(err.Error(), fmt.Sprintf(`\u%04x`, r)) {
				t.Errorf("%q: %v; want an error at line 3 showing the control escaped", line, err)
			}
		}
		ev := engine.Event{Kind: engine.EvLabel, Text: "x" + string(r)}
		h := Header{Config: engine.Config{Ranges: head16M()}}
		bw := NewBinaryWriter(io.Discard)
		tw := NewTextWriter(io.Discard)
		if bw.WriteHeader(h) != nil || tw.WriteHeader(h) != nil {
			t.Fatal("header refused")
		}
		if bw.WriteEvent(ev) == nil || tw.WriteEvent(ev) == nil {
			t.Errorf("U+%04X: a writer takes the label", r)
		}
	}
	ok := "pgmtrace 1\nram 0x0 16M\nlabel family 👩\u200d👧 café\n"
	if _, evs, err := readAll(strings.NewReader(ok), "t.txt", 10); err != nil || len(evs) != 1 {
		t.Errorf("%v", err)
	}
	if got := Shown("a\u202eb"); got != `"a\u202eb"` {
		t.Errorf("Shown = %s", got)
	}
}
