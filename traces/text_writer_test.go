package traces

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
)

func TestAppendEvent(t *testing.T) {
	tests := []struct {
		ev   engine.Event
		want string
	}{
		{engine.Event{Kind: engine.EvCR0, Value: 0x80000011}, "cr0 0x80000011"},
		{engine.Event{Kind: engine.EvCR3}, "cr3 0x0"},
		{engine.Event{Kind: engine.EvCR4, Value: 0x30}, "cr4 0x30"},
		{engine.Event{Kind: engine.EvEFER, Value: 0x900}, "efer 0x900"},
		{engine.Event{Kind: engine.EvCPL, Value: 3}, "cpl 3"},
		{engine.Event{Kind: engine.EvPhysWrite, Size: 8, Addr: 0x1000, Value: 0x2003}, "pw8 0x1000 0x2003"},
		{engine.Event{Kind: engine.EvPhysRead, Size: 2, Addr: 0x3000}, "pr2 0x3000"},
		{engine.Event{Kind: engine.EvRead, Size: 4, Addr: 0x400000}, "r4 0x400000"},
		{engine.Event{Kind: engine.EvWrite, Size: 4, Addr: 0x400000, Value: 0xdeadbeef}, "w4 0x400000 0xdeadbeef"},
		{engine.Event{Kind: engine.EvExec, Addr: 0xffffffffffffffff}, "x 0xffffffffffffffff"},
		{engine.Event{Kind: engine.EvInvlpg, Addr: 0x10000}, "invlpg 0x10000"},
		{engine.Event{Kind: engine.EvLabel, Text: "process 3 forks"}, "label process 3 forks"},
		{engine.Event{Kind: engine.EvAC, Value: 1}, "ac 1"},
		{engine.Event{Kind: engine.EvPKRU, Value: 0xc}, "pkru 0xc"},
		{engine.Event{Kind: engine.EvInvpcid, Value: 7, Addr: 0x1000}, "invpcid 0 7 0x1000"},
		{engine.Event{Kind: engine.EvInvpcid}, "invpcid 0 0 0x0"},
		{engine.Event{Kind: engine.EvInvpcid, Size: 1, Value: 4095}, "invpcid 1 4095"},
		{engine.Event{Kind: engine.EvInvpcid, Size: 3, Addr: 0x2000}, "invpcid 3 0 0x2000"},
		{engine.Event{Kind: 99}, "EventKind(99)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := string(AppendEvent([]byte("> "), tt.ev)); got != "> "+tt.want {
				t.Errorf("AppendEvent = %q, want %q", got, "> "+tt.want)
			}
		})
	}
}

func TestWriteHeader(t *testing.T) {
	h := Header{
		Meta: map[string]string{"tool": "gen 0.1", "a": "", "z/y": "last"},
		Config: engine.Config{
			MaxPhys: 48, Host: engine.HostPAE, Paging: engine.PagingNested, PoolPages: 100,
			Ranges: []phys.RangeSpec{
				{Type: phys.TypeRAM, Start: 0x100000, Size: 15 << 20, Name: "main memory"},
				{Type: phys.TypeROM, Start: 0xf0000, Size: 64 << 10, Name: "bios"},
				{Type: phys.TypeMMIO, Start: 0xfee00000, Size: 0x1000},
				{Type: phys.TypeRAM, Start: 0, Size: 0xa0000},
			},
		},
	}
	want := `pgmtrace 1
maxphyaddr 48
host pae
paging nested
pool 100
meta a
meta tool gen 0.1
meta z/y last
ram 0x100000 15M main memory
rom 0xf0000 64K bios
mmio 0xfee00000 4K
ram 0x0 640K
`
	var buf bytes.Buffer
	w := NewTextWriter(&buf)
	if err := w.WriteHeader(h); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if buf.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", buf.String(), want)
	}

	buf.Reset()
	w = NewTextWriter(&buf)
	if err := w.WriteHeader(Header{}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if want := "pgmtrace 1\nhost amd64-nx\npaging shadow\npool 1024\n"; buf.String() != want {
		t.Fatalf("default header\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestWriteHeaderErrors(t *testing.T) {
	cfg := func(r ...phys.RangeSpec) engine.Config { return engine.Config{Ranges: r} }
	tests := []struct {
		name string
		h    Header
		msg  string
	}{
		{"version 2", Header{Version: 2}, "unsupported trace version 2"},
		{"bad pool", Header{Config: engine.Config{PoolPages: 1}}, "pool of 1 pages"},
		{"bad host", Header{Config: engine.Config{Host: 200}}, "host paging mode 200 unknown"},
		{"mmio2 range", Header{Config: cfg(phys.RangeSpec{Type: phys.TypeMMIO2, Size: 4096})}, "MMIO2 range has no text form"},
		{"overlap", Header{Config: cfg(phys.RangeSpec{Size: 8192}, phys.RangeSpec{Type: phys.TypeROM, Start: 4096, Size: 4096})}, "range 1: ROM range"},
		{"unaligned", Header{Config: cfg(phys.RangeSpec{Size: 100})}, "not page aligned"},
		{"name with hash", Header{Config: cfg(phys.RangeSpec{Size: 4096, Name: "a#b"})}, "contains '#'"},
		{"name with blank", Header{Config: cfg(phys.RangeSpec{Size: 4096, Name: " a"})}, "starts or ends with a blank"},
		{"name with newline", Header{Config: cfg(phys.RangeSpec{Size: 4096, Name: "a\nb"})}, "not valid UTF-8 without control"},
		{"meta key blank", Header{Meta: map[string]string{"a b": "1"}}, "meta key"},
		{"meta key empty", Header{Meta: map[string]string{"": "1"}}, "meta key of 0 bytes"},
		{"meta value newline", Header{Meta: map[string]string{"k": "1\n2"}}, "meta value"},
		{"meta value trailing blank", Header{Meta: map[string]string{"k": "1 "}}, "starts or ends with a blank"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := NewTextWriter(&bytes.Buffer{}).WriteHeader(tt.h)
			checkErr(t, err, tt.msg)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("%T is not a *SyntaxError", err)
			}
		})
	}
}

func TestWriteEventErrors(t *testing.T) {
	tests := []struct {
		name string
		ev   engine.Event
		msg  string
	}{
		{"invalid kind", engine.Event{}, "unknown event kind 0"},
		{"bad size", engine.Event{Kind: engine.EvRead, Size: 3}, "access size 3 is not 1, 2, 4 or 8"},
		{"value too wide", engine.Event{Kind: engine.EvWrite, Size: 1, Value: 0x1ff}, "w1 0x0 0x1ff: value 0x1ff does not fit in 1 byte"},
		{"cpl 4", engine.Event{Kind: engine.EvCPL, Value: 4}, "cpl 4 is not 0..3"},
		{"size on x", engine.Event{Kind: engine.EvExec, Size: 4}, "x event carries an access size 4"},
		{"addr on cr3", engine.Event{Kind: engine.EvCR3, Addr: 1}, "cr3 event carries an address 0x1"},
		{"value on read", engine.Event{Kind: engine.EvRead, Size: 4, Value: 1}, "r event carries a value 0x1"},
		{"text on read", engine.Event{Kind: engine.EvRead, Size: 4, Text: "t"}, "r event carries a text"},
		{"empty label", engine.Event{Kind: engine.EvLabel}, "label event with an empty text"},
		{"label with hash", engine.Event{Kind: engine.EvLabel, Text: "a # b"}, "contains '#'"},
		{"label with newline", engine.Event{Kind: engine.EvLabel, Text: "a\nb"}, "not valid UTF-8 without control characters"},
		{"label with cr", engine.Event{Kind: engine.EvLabel, Text: "a\r"}, "not valid UTF-8 without control characters"},
		{"label with blank", engine.Event{Kind: engine.EvLabel, Text: "a\t"}, "starts or ends with a blank"},
		{"pw outside", engine.Event{Kind: engine.EvPhysWrite, Size: 4, Addr: 0x10000}, "outside every range"},
		{"pr straddles", engine.Event{Kind: engine.EvPhysRead, Size: 8, Addr: 0xffc}, "outside every range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewTextWriter(&bytes.Buffer{})
			h := Header{Config: engine.Config{Ranges: []phys.RangeSpec{{Size: 4096}}}}
			if err := w.WriteHeader(h); err != nil {
				t.Fatal(err)
			}
			checkErr(t, w.WriteEvent(tt.ev), tt.msg)
		})
	}
	t.Run("before header", func(t *testing.T) {
		checkErr(t, NewTextWriter(&bytes.Buffer{}).WriteEvent(engine.Event{Kind: engine.EvExec}), "before WriteHeader")
	})
	t.Run("second header", func(t *testing.T) {
		w := NewTextWriter(&bytes.Buffer{})
		w.WriteHeader(Header{})
		checkErr(t, w.WriteHeader(Header{}), "a second header")
	})
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriterStickyError(t *testing.T) {
	w := NewTextWriter(failingWriter{})
	w.WriteHeader(Header{})
	for range 5000 { // enough to overflow the buffer
		w.WriteEvent(engine.Event{Kind: engine.EvLabel, Text: strings.Repeat("x", 100)})
	}
	checkErr(t, w.Flush(), "disk full")
	checkErr(t, w.WriteEvent(engine.Event{Kind: engine.EvExec}), "disk full")
}

func TestRoundTrip(t *testing.T) {
	h := Header{
		Version: 1,
		Meta:    map[string]string{"k": "v  v"},
		Config: engine.Config{
			MaxPhys: 52, Host: engine.Host32BitGlobal, PoolPages: 16,
			Ranges: []phys.RangeSpec{
				{Type: phys.TypeRAM, Start: 0x10000000000, Size: 1 << 30, Name: "high"},
				{Type: phys.TypeRAM, Start: 0, Size: 4096},
				{Type: phys.TypeROM, Start: 4096, Size: 0x3000, Name: "tab\tname é"},
			},
		},
	}
	var evs []engine.Event
	for k := engine.EventKind(1); k.Valid(); k++ {
		switch {
		case k.Sized():
			for _, s := range []uint8{1, 2, 4, 8} {
				ev := engine.Event{Kind: k, Size: s, Addr: 0x4000 - uint64(s)}
				if k == engine.EvWrite || k == engine.EvPhysWrite {
					ev.Value = 1<<(8*uint(s)-1) | 1
				}
				if k == engine.EvRead || k == engine.EvWrite {
					ev.Addr = -uint64(s) // the last bytes of the address space
				}
				evs = append(evs, ev)
			}
		case k == engine.EvLabel:
			evs = append(evs, engine.Event{Kind: k, Text: "x\ty ü"})
		case k == engine.EvCPL:
			evs = append(evs, engine.Event{Kind: k, Value: 3})
		case k == engine.EvExec || k == engine.EvInvlpg:
			evs = append(evs, engine.Event{Kind: k, Addr: 1<<64 - 1})
		case k == engine.EvPhysHandler:
			evs = append(evs, engine.Event{Kind: k, Size: uint8(engine.PhysWrite), Addr: 0x3000, Value: 0x1000, Text: "frame buffer"})
			evs = append(evs, engine.Event{Kind: k, Size: uint8(engine.PhysMMIO), Addr: 0x2000, Value: 0x10})
		case k == engine.EvPhysUnhandler || k == engine.EvPhysHandlerReset || k == engine.EvBalloon || k == engine.EvDeflate:
			evs = append(evs, engine.Event{Kind: k, Addr: 0x3000})
		case k == engine.EvPhysHandlerOff:
			evs = append(evs, engine.Event{Kind: k, Addr: 0x3000, Value: 0x3000})
		case k == engine.EvMappingsFix:
			evs = append(evs, engine.Event{Kind: k, Addr: 0xa0000000, Value: 8 << 20})
		case k == engine.EvShare || k == engine.EvReset || k == engine.EvMappingsUnfix:
			evs = append(evs, engine.Event{Kind: k})
		case k == engine.EvVirtHandler:
			evs = append(evs, engine.Event{Kind: k, Size: uint8(engine.VirtWrite), Addr: 0xffffffff80000000, Value: 0x3000, Text: "idt"})
		case k == engine.EvVirtUnhandler:
			evs = append(evs, engine.Event{Kind: k, Addr: 0xffffffff80000000})
		case k == engine.EvSave || k == engine.EvRestore:
			evs = append(evs, engine.Event{Kind: k, Text: "before fork"})
		case k == engine.EvAC:
			evs = append(evs, engine.Event{Kind: k, Value: 1}, engine.Event{Kind: k})
		case k == engine.EvPKRU:
			evs = append(evs, engine.Event{Kind: k, Value: 0xffffffff}, engine.Event{Kind: k})
		case k == engine.EvInvpcid:
			for typ := uint8(0); typ < 4; typ++ {
				evs = append(evs, engine.Event{Kind: k, Size: typ, Value: 4095},
					engine.Event{Kind: k, Size: typ, Addr: 1<<64 - 1})
			}
		default:
			evs = append(evs, engine.Event{Kind: k, Value: 1<<64 - 1})
		}
	}
	text := render(t, h, evs)
	h2, evs2, err := readString(text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if !reflect.DeepEqual(h2, h) || !reflect.DeepEqual(evs2, evs) {
		t.Fatalf("round trip changed the trace\n%s\nheader %+v\nevents %+v", text, h2, evs2)
	}
}

// render writes a header and events with a TextWriter.
func render(t testing.TB, h Header, evs []engine.Event) string {
	t.Helper()
	var buf bytes.Buffer
	w := NewTextWriter(&buf)
	if err := w.WriteHeader(h); err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if err := w.WriteEvent(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestLongestLabel(t *testing.T) {
	ok := engine.Event{Kind: engine.EvLabel, Text: strings.Repeat("l", MaxLabelBytes)}
	text := render(t, Header{}, []engine.Event{ok})
	if _, evs, err := readString(text); err != nil || len(evs) != 1 || evs[0] != ok {
		t.Fatalf("longest label does not read back: %v", err)
	}
	tooLong := engine.Event{Kind: engine.EvLabel, Text: ok.Text + "l"}
	w := NewTextWriter(&bytes.Buffer{})
	w.WriteHeader(Header{})
	checkErr(t, w.WriteEvent(tooLong), "more than 65530")
}

func TestNoPAERoundTrip(t *testing.T) {
	h := Header{Version: Version, Config: engine.DefaultConfig()}
	h.Config.NoPAE = true
	var b strings.Builder
	w := NewTextWriter(&b)
	if err := w.WriteHeader(h); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if !strings.Contains(b.String(), "cpu no-pae\n") {
		t.Fatalf("header %q lacks cpu no-pae", b.String())
	}
	rd, err := NewTextReader(strings.NewReader(b.String()), "t")
	if err != nil {
		t.Fatal(err)
	}
	if !rd.Header().Config.NoPAE {
		t.Error("cpu no-pae did not survive the round trip")
	}
}

func TestDirtyPTOptionRoundTrip(t *testing.T) {
	h := Header{Version: Version, Config: engine.DefaultConfig()}
	h.Config.DirtyPT = true
	var b strings.Builder
	w := NewTextWriter(&b)
	if err := w.WriteHeader(h); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	rd, err := NewTextReader(strings.NewReader(b.String()), "t")
	if err != nil || !rd.Header().Config.DirtyPT || !strings.Contains(b.String(), "option dirty-pt\n") {
		t.Fatalf("option dirty-pt did not survive: %v\n%s", err, b.String())
	}
	if _, err := NewTextReader(strings.NewReader("pgmtrace 1\noption turbo\n"), "t"); err == nil || !strings.Contains(err.Error(), "unknown option") {
		t.Errorf("unknown option: %v", err)
	}
}
