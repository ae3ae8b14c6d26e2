package viz

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// renderBudget is what one view may take to lay out and rasterise,
// whatever the engine's state and however long its texts: the window and
// the browser draw on every change, so a slow case freezes them. It is
// generous (a frame is usually a few tens of milliseconds) so that a
// loaded machine does not fail the test.
const renderBudget = 2 * time.Second

// maxLabel is the longest label a trace may carry.
const maxLabel = 65530

// FuzzRender builds an engine from arbitrary events (page tables of
// garbage, paging turned on in an arbitrary mode, accesses, handlers,
// balloon, share, reset, snapshots, mappings), names its ranges, its
// labels, its title and its snapshots with an arbitrary string repeated
// up to the longest label a trace allows, then lays out every view at an
// arbitrary size (up to 2048x1280 device pixels) and device scale (1 to
// 2) and rasterises it: rasterising is most of an input's time, and the
// fuzzer's coverage instrumentation slows it tenfold, so larger frames
// would leave the fuzzer a few inputs a minute (TestRenderLargestFrame
// renders the largest frames once). No view may panic, put a
// primitive outside the frame, or take longer than renderBudget.
func FuzzRender(f *testing.F) {
	f.Add([]byte("\x00\x10\x00\x00\x07\x10\x00\x00\x03\x00\x00\x00"), "boot", uint8(0), uint16(1024), uint16(640), uint8(0), uint16(1))
	f.Add(make([]byte, 96), "a long label é中 ", uint8(3), uint16(1920), uint16(1080), uint8(4), uint16(4000))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x27, 0x30, 0, 0, 0xe7, 0, 0x40, 0x0c, 0x11, 0x13, 0x14, 0x15}, "\u202e\x00\xff", uint8(4), uint16(0), uint16(0), uint8(12), uint16(65535))
	f.Add([]byte("\x00\x00\x00\x10\x07\x00\x00\x00\x0c\x0c\x0c\x0c\x15\x15\x16\x13\x14\x11\x17\x19\x1a"), "x", uint8(0x85), uint16(3840), uint16(2160), uint8(3), uint16(2))
	f.Fuzz(func(t *testing.T, data []byte, label string, mode uint8, w, h uint16, scale uint8, repeat uint16) {
		if label == "" {
			label = "l"
		}
		long := strings.Repeat(label, min(int(repeat)+1, maxLabel/len(label)+1))
		if len(long) > maxLabel {
			long = long[:maxLabel]
		}
		e := newFuzzEngine(t, mode, long)
		m := &Model{Engine: e, Recent: NewRecent(64), Timeline: NewTimeline(256), History: NewStatsHistory(1024),
			Title: long, Counter: label, HideLabels: mode&8 != 0, HideFrom: uint64(repeat % 64),
			Width: int(w) % 2049, Height: int(h) % 1281, Scale: 1 + float64(scale%5)/4}
		for _, ev := range renderEvents(data, mode, long) {
			o, err := e.Apply(ev)
			if err != nil {
				continue // a refused event changes nothing
			}
			m.Recent.Add(o)
			m.Timeline.Add(&o)
			m.Timeline.SampleStats(e)
			m.History.Observe(e)
		}
		if len(data) > 0 && data[0]&1 != 0 {
			m.VA, m.HasVA = x86.GVA(binary.LittleEndian.Uint32(append(data, 0, 0, 0, 0))), true
		}
		renderAll(t, m, renderBudget)
	})
}

// renderAll lays out and rasterises every view of m within budget each,
// with every primitive inside the frame.
func renderAll(t *testing.T, m *Model, budget time.Duration) {
	t.Helper()
	var l List
	for v := range viewCount {
		m.View = v
		start := time.Now()
		Layout(m, &l)
		img := Rasterize(&l, l.Width, l.Height)
		if el := time.Since(start); el > budget {
			t.Fatalf("view %v at %dx%d scale %v: %v to lay out and rasterise (budget %v)", v, m.Width, m.Height, m.Scale, el, budget)
		}
		if img.Bounds().Dx() != l.Width || img.Bounds().Dy() != l.Height {
			t.Fatalf("view %v: a %v picture for a %dx%d list", v, img.Bounds(), l.Width, l.Height)
		}
		frame := Rect{0, 0, l.Width, l.Height}
		for i := range l.Prims {
			if p := &l.Prims[i]; !p.Rect().In(frame) {
				t.Fatalf("view %v at %dx%d: %v %q at %v outside the frame", v, l.Width, l.Height, p.Op, l.TextOf(p), p.Rect())
			}
		}
	}
}

// TestRenderLargestFrame: the largest frame a screen gives (8K, 7680x4320
// device pixels, at scale 4: the largest text) with labels, title and range names of
// the longest length a trace allows, in every view. An 8K frame has eight
// times the pixels of the fuzzer's largest and takes about a second on
// a loaded 2-core machine, so its budget is three times renderBudget: a
// cost that grows with the labels' length would still exceed it many
// times over.
func TestRenderLargestFrame(t *testing.T) {
	if testing.Short() {
		t.Skip("renders five 8K frames")
	}
	long := strings.Repeat("a long label é中 ‮ ", 4000)[:maxLabel]
	cfg := engine.Config{Ranges: []phys.RangeSpec{{Type: phys.TypeRAM, Size: 64 << 10, Name: long}}}
	e, err := engine.NewShadow(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := &Model{Engine: e, Recent: NewRecent(64), Timeline: NewTimeline(256), History: NewStatsHistory(1024), Title: long, Counter: long}
	for _, ev := range renderEvents(make([]byte, 600), 3, long) {
		if o, err := e.Apply(ev); err == nil {
			m.Recent.Add(o)
			m.Timeline.Add(&o)
		}
	}
	m.Width, m.Height, m.Scale = 7680, 4320, 4
	renderAll(t, m, 3*renderBudget)
}

// newFuzzEngine is an engine with a RAM range named name, in the host
// and paging modes mode picks.
func newFuzzEngine(t testing.TB, mode uint8, name string) *engine.Shadow {
	cfg := engine.Config{
		Ranges: []phys.RangeSpec{
			{Type: phys.TypeRAM, Size: 64 << 10, Name: name},
			{Type: phys.TypeMMIO, Start: 64 << 10, Size: 4 << 10, Name: name[:min(len(name), 40)]},
			{Type: phys.TypeROM, Start: 68 << 10, Size: 4 << 10},
		},
		Host:      engine.HostMode(1 + int(mode)%10),
		Paging:    engine.Paging(int(mode>>4) % 3),
		PoolPages: 16 + int(mode)%64,
	}
	e, err := engine.NewShadow(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// renderEvents turns fuzz bytes into a guest: the first bytes scattered
// over its memory (its page tables), paging turned on in the mode the
// mode byte picks, then one event of any kind per 12 bytes, with text
// as the label, handler and snapshot names.
func renderEvents(data []byte, mode uint8, text string) []engine.Event {
	var out []engine.Event
	for i := 0; i+10 <= len(data) && i < 400; i += 10 {
		out = append(out, engine.Event{Kind: engine.EvPhysWrite, Size: 8,
			Addr: uint64(binary.LittleEndian.Uint16(data[i:])) % (64<<10 - 8), Value: binary.LittleEndian.Uint64(data[i+2:])})
	}
	cr3 := uint64(0)
	if len(data) >= 2 {
		cr3 = uint64(binary.LittleEndian.Uint16(data)) &^ 0xfff
	}
	ev := func(k engine.EventKind, v uint64) engine.Event { return engine.Event{Kind: k, Value: v} }
	out = append(out, ev(engine.EvCR0, x86.CR0PE))
	switch mode % 5 {
	case 1:
		out = append(out, ev(engine.EvCR4, x86.CR4PSE|x86.CR4PGE))
	case 2:
		out = append(out, ev(engine.EvCR4, x86.CR4PAE))
	case 3:
		out = append(out, ev(engine.EvEFER, x86.EFERLME|x86.EFERNXE), ev(engine.EvCR4, x86.CR4PAE|x86.CR4PGE))
	case 4:
		out = append(out, ev(engine.EvEFER, x86.EFERLME), ev(engine.EvCR4, x86.CR4PAE|x86.CR4LA57))
	}
	if mode%5 != 0 {
		out = append(out, ev(engine.EvCR3, cr3), ev(engine.EvCR0, x86.CR0PE|x86.CR0PG|x86.CR0WP))
	}
	for i := 0; i+12 <= len(data) && len(out) < 600; i += 12 {
		b := data[i:]
		kind := engine.EventKind(1 + int(b[0])%29)
		e := engine.Event{Kind: kind, Size: 1 << (b[1] & 3), Addr: uint64(binary.LittleEndian.Uint32(b[2:])),
			Value: uint64(binary.LittleEndian.Uint32(b[6:])) | uint64(b[10])<<32}
		switch kind {
		case engine.EvCR0, engine.EvCR3, engine.EvCR4, engine.EvEFER:
			continue // the mode stays the one entered above
		case engine.EvPhysHandler, engine.EvVirtHandler:
			e.Size, e.Addr, e.Value = b[1]%4, e.Addr%(80<<10), e.Value%(16<<10)
		case engine.EvBalloon, engine.EvDeflate, engine.EvPhysUnhandler, engine.EvPhysHandlerReset, engine.EvPhysHandlerOff:
			e.Addr %= 80 << 10
		case engine.EvCPL, engine.EvAC:
			e.Value &= 1
		}
		if kind == engine.EvLabel || kind == engine.EvPhysHandler || kind == engine.EvVirtHandler ||
			kind == engine.EvSave || kind == engine.EvRestore {
			e.Text = text[:min(len(text), 1+int(b[11])*256)]
		}
		out = append(out, e)
	}
	return out
}
