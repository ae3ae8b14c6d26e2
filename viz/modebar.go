package viz

import (
	"image/color"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The mode bar: the trace, guest mode, shadow mode, host mode, switcher
// and paging kind on the first line; the control registers decoded into
// their bit names, the privilege level and, when the guest turned them
// on, the current PCID, RFLAGS.AC (SMAP) and PKRU (protection keys) on
// the second.

func (c *ctx) modeBarHeight() int { return 2*c.t.lh + 2*c.t.pad - c.t.lh/4 }

type regBit struct {
	bit  uint
	name string
}

var (
	cr0Bits  = []regBit{{0, "PE"}, {1, "MP"}, {2, "EM"}, {3, "TS"}, {4, "ET"}, {5, "NE"}, {16, "WP"}, {18, "AM"}, {29, "NW"}, {30, "CD"}, {31, "PG"}}
	cr4Bits  = []regBit{{0, "VME"}, {1, "PVI"}, {2, "TSD"}, {3, "DE"}, {4, "PSE"}, {5, "PAE"}, {6, "MCE"}, {7, "PGE"}, {8, "PCE"}, {9, "OSFXSR"}, {10, "OSXMMEXCPT"}, {11, "UMIP"}, {12, "LA57"}, {13, "VMXE"}, {14, "SMXE"}, {16, "FSGSBASE"}, {17, "PCIDE"}, {18, "OSXSAVE"}, {20, "SMEP"}, {21, "SMAP"}, {22, "PKE"}}
	eferBits = []regBit{{0, "SCE"}, {8, "LME"}, {10, "LMA"}, {11, "NXE"}, {12, "SVME"}, {13, "LMSLE"}, {14, "FFXSR"}, {15, "TCE"}}
	// Bits that decide the paging mode: drawn in bold.
	pagingBits = map[string]bool{"PE": true, "PG": true, "WP": true, "PSE": true, "PAE": true, "PGE": true, "LA57": true, "LME": true, "LMA": true, "NXE": true, "PCIDE": true}
)

func (c *ctx) modeBar(r Rect) {
	in := c.panel("mode", "", r)
	e := c.m.Engine
	t := c.t
	x, y := in.X, in.Y
	right := in.Right()

	// Right side of the first line: the event index.
	c.b = append(c.b[:0], "event "...)
	c.b = appendUint(c.b, e.Events())
	if tl := c.m.Timeline; tl != nil && tl.Events > e.Events() {
		c.b = append(c.b, " of "...)
		c.b = appendUint(c.b, tl.Events)
	}
	ew := measureBytes(FaceBold, t.fs, c.b)
	c.textB(right-ew, y, FaceBold, t.fs, ColText)
	limit := right - ew - 2*t.pad

	if c.m.Title != "" {
		x += c.textFit(x, y, min(limit-x, in.W/4), FaceBold, t.titleSize, ColText, c.m.Title) + 2*t.pad
	}
	cfg := e.Config()
	shw, sw := e.ShadowMode()
	guest := e.Format().Mode
	field := func(label, value string, col color.RGBA) {
		if x >= limit {
			return
		}
		w := c.text(x, y+1, FaceRegular, t.small, ColDim, label)
		x += w + t.small/2
		x += c.textFit(x, y, limit-x, FaceBold, t.fs, col, value) + 2*t.pad
	}
	field("guest", guestModeName(guest), ColText)
	field("shadow", shw.String(), ColText)
	field("host", cfg.Host.String(), ColText)
	field("switcher", sw.String(), ColText)
	field("paging", pagingName(cfg.Paging), ColText)

	// Second line: the registers, then the modern rights' state.
	c.regLine(in.X, in.Y+t.lh, right, guest, e.Regs())
}

// regItem is one word of the register line: a register's name, its
// value, one of its bits, or a feature's state.
type regItem struct {
	s     string
	face  Face
	small bool
	col   color.RGBA
	gap   int // space after it
}

// regLine draws the control registers with their set bits, the CPL and,
// when a guest turned them on, PCID, AC and PKRU. A line too long for
// the bar (a real kernel sets many CR4 bits) is made shorter step by
// step (see regWords), then cut at the end.
func (c *ctx) regLine(x, y, right int, guest x86.Mode, regs x86.Regs) {
	t := c.t
	w := regWords{t: &c.t, items: c.sc.regItems[:0]}
	for w.squeeze = 0; w.squeeze < 4; w.squeeze++ {
		w.items = w.items[:0]
		w.build(guest, &regs)
		if x+w.width() <= right {
			break
		}
	}
	c.sc.regItems = w.items
	for i := range w.items {
		it := &w.items[i]
		if x >= right {
			return
		}
		size, dy := t.fs, 0
		if it.small {
			size, dy = t.small, 1
		}
		if it.small && x+Measure(it.face, size, it.s) > right {
			return // a bit name is not cut
		}
		x += c.textFit(x, y+dy, right-x, it.face, size, it.col, it.s) + it.gap
	}
}

// regWords lists the register line's words. Each squeeze level makes the
// line shorter: 1 leaves out the bits that decide neither the mode nor
// the rights, 2 also the leading zeros of the values and half of each
// gap, 3 also EFER's bits (the guest mode on the first line says long
// mode and NX already).
type regWords struct {
	t       *theme
	items   []regItem
	squeeze int
}

func (w *regWords) add(s string, f Face, small bool, col color.RGBA, gap int) {
	w.items = append(w.items, regItem{s: s, face: f, small: small, col: col, gap: gap})
}

// sep is the space after a register's group.
func (w *regWords) sep() int {
	if w.squeeze >= 2 {
		return w.t.pad
	}
	return 2 * w.t.pad
}

func (w *regWords) hex(v uint64, digits int) string {
	if w.squeeze >= 2 {
		return string(appendHex(nil, v))
	}
	return string(appendHexW(nil, v, digits))
}

// reg adds a register, its value and its set bits.
func (w *regWords) reg(name string, v uint64, digits int, bits []regBit) {
	t := w.t
	w.add(name, FaceBold, false, ColText, t.fs/3)
	w.add(w.hex(v, digits), FaceMono, false, ColText, t.fs/2)
	if w.squeeze >= 3 && name == "EFER" {
		bits = nil
	}
	for _, b := range bits {
		if v&(1<<b.bit) == 0 {
			continue
		}
		switch {
		case rightsBit(b.name):
			w.add(b.name, FaceBold, true, Vermilion, t.small/2)
		case pagingBits[b.name]:
			w.add(b.name, FaceBold, true, Blue, t.small/2)
		case w.squeeze == 0:
			w.add(b.name, FaceRegular, true, ColDim, t.small/2)
		}
	}
	w.items[len(w.items)-1].gap += w.sep()
}

// value adds a name and its value.
func (w *regWords) value(name, v string) {
	w.add(name, FaceBold, false, ColText, w.t.fs/3)
	w.add(v, FaceMono, false, ColText, w.t.fs/2+w.sep())
}

func (w *regWords) build(guest x86.Mode, regs *x86.Regs) {
	w.reg("CR0", regs.CR0, 8, cr0Bits)
	digits := 8
	if guest.Long() || regs.CR3>>32 != 0 {
		digits = 12
	}
	w.reg("CR3", regs.CR3, digits, nil)
	w.reg("CR4", regs.CR4, 6, cr4Bits)
	w.reg("EFER", regs.EFER, 4, eferBits)
	w.value("CPL", string(appendUint(nil, uint64(regs.CPL))))
	if regs.CR4&x86.CR4PCIDE != 0 {
		w.value("PCID", string(appendUint(nil, uint64(regs.PCID()))))
	}
	if regs.CR4&x86.CR4SMAP != 0 {
		ac := "0"
		if regs.AC {
			ac = "1"
		}
		w.value("AC", ac)
	}
	if regs.CR4&x86.CR4PKE != 0 {
		w.value("PKRU", w.hex(uint64(regs.PKRU), 8))
	}
}

// width is the width the words take.
func (w *regWords) width() int {
	n := 0
	for i := range w.items {
		size := w.t.fs
		if w.items[i].small {
			size = w.t.small
		}
		n += Measure(w.items[i].face, size, w.items[i].s) + w.items[i].gap
	}
	return n
}

func guestModeName(m x86.Mode) string {
	switch m {
	case x86.ModeReal:
		return "Real mode (no paging)"
	case x86.ModeProtected:
		return "Protected (no paging)"
	}
	return m.String() + " paging"
}

func pagingName(p engine.Paging) string {
	switch p {
	case engine.PagingNested:
		return "nested (AMD-V)"
	case engine.PagingEPT:
		return "nested (EPT)"
	}
	return "shadow"
}

// rightsBit reports whether a CR4 bit adds rights the entries alone do
// not decide (SMEP, SMAP, protection keys): drawn bold in the fault
// colour, since they are what a fault's reason names.
func rightsBit(name string) bool { return name == "SMEP" || name == "SMAP" || name == "PKE" }

// RegisterBitNames lists the bit names the mode bar may show, for the
// explanations a front end gives on hover.
func RegisterBitNames() []string {
	var names []string
	for _, bits := range [][]regBit{cr0Bits, cr4Bits, eferBits} {
		for _, b := range bits {
			names = append(names, b.name)
		}
	}
	return names
}
