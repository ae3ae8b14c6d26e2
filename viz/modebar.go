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
	// Bits that add rights the entries alone do not decide (SMEP, SMAP,
	// protection keys): drawn bold in the fault colour, since they are
	// what a fault's reason names.
	rightsBits = map[string]bool{"SMEP": true, "SMAP": true, "PKE": true}
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
		x += c.textFit(x, y, min(limit-x, in.W/4), FaceBold, t.title, ColText, c.m.Title) + 2*t.pad
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
// the bar (a real kernel sets many CR4 bits) drops the bits that decide
// neither the paging mode nor the rights first, then is cut at the end.
func (c *ctx) regLine(x, y, right int, guest x86.Mode, regs x86.Regs) {
	t := c.t
	// Four tries, each shorter: everything; without the minor bits;
	// also without the leading zeros of the register values and with
	// narrower gaps; also without EFER's bits (the guest mode on the
	// first line says long mode and NX already).
	var items []regItem
	for try := 0; try < 4; try++ {
		items = c.regItems(guest, &regs, try)
		if x+c.regWidth(items) <= right {
			break
		}
	}
	for i := range items {
		it := &items[i]
		if x >= right {
			return
		}
		size, dy := t.fs, 0
		if it.small {
			size, dy = t.small, 1
		}
		w := Measure(it.face, size, it.s)
		if it.small && x+w > right {
			return // a bit name is not cut
		}
		x += c.textFit(x, y+dy, right-x, it.face, size, it.col, it.s) + it.gap
	}
}

// regWidth is the width the register line's items take.
func (c *ctx) regWidth(items []regItem) int {
	w := 0
	for i := range items {
		size := c.t.fs
		if items[i].small {
			size = c.t.small
		}
		w += Measure(items[i].face, size, items[i].s) + items[i].gap
	}
	return w
}

// regItems lists the register line's words, shorter the higher squeeze
// is (see regLine).
func (c *ctx) regItems(guest x86.Mode, regs *x86.Regs, squeeze int) []regItem {
	t := c.t
	items := c.sc.regItems[:0]
	dropMinor, unpadded := squeeze >= 1, squeeze >= 2
	sep := 2 * t.pad
	if unpadded {
		sep = t.pad
	}
	hex := func(v uint64, digits int) string {
		if unpadded {
			return string(appendHex(nil, v))
		}
		return string(appendHexW(nil, v, digits))
	}
	reg := func(name string, v uint64, digits int, bits []regBit) {
		if squeeze >= 3 && name == "EFER" {
			bits = nil
		}
		items = append(items, regItem{s: name, face: FaceBold, col: ColText, gap: t.fs / 3})
		items = append(items, regItem{s: hex(v, digits), face: FaceMono, col: ColText, gap: t.fs / 2})
		for _, b := range bits {
			if v&(1<<b.bit) == 0 {
				continue
			}
			it := regItem{s: b.name, face: FaceRegular, small: true, col: ColDim, gap: t.small / 2}
			switch {
			case rightsBits[b.name]:
				it.face, it.col = FaceBold, Vermilion
			case pagingBits[b.name]:
				it.face, it.col = FaceBold, Blue
			case dropMinor:
				continue
			}
			items = append(items, it)
		}
		items[len(items)-1].gap += sep
	}
	value := func(name, v string) {
		items = append(items, regItem{s: name, face: FaceBold, col: ColText, gap: t.fs / 3},
			regItem{s: v, face: FaceMono, col: ColText, gap: t.fs/2 + sep})
	}
	reg("CR0", regs.CR0, 8, cr0Bits)
	digits := 8
	if guest.Long() || regs.CR3>>32 != 0 {
		digits = 12
	}
	reg("CR3", regs.CR3, digits, nil)
	reg("CR4", regs.CR4, 6, cr4Bits)
	reg("EFER", regs.EFER, 4, eferBits)
	value("CPL", string(appendUint(nil, uint64(regs.CPL))))
	if regs.CR4&x86.CR4PCIDE != 0 {
		value("PCID", string(appendUint(nil, uint64(regs.PCID()))))
	}
	if regs.CR4&x86.CR4SMAP != 0 {
		ac := "0"
		if regs.AC {
			ac = "1"
		}
		value("AC", ac)
	}
	if regs.CR4&x86.CR4PKE != 0 {
		value("PKRU", hex(uint64(regs.PKRU), 8))
	}
	c.sc.regItems = items
	return items
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
