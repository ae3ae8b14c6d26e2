package viz

import (
	"image/color"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The mode bar: the trace, guest mode, shadow mode, host mode, switcher
// and paging kind on the first line; the control registers decoded into
// their bit names, the privilege level and the event index on the
// second.

func (c *ctx) modeBarHeight() int { return 2*c.t.lh + 2*c.t.pad - c.t.lh/4 }

type regBit struct {
	bit  uint
	name string
}

var (
	cr0Bits  = []regBit{{0, "PE"}, {1, "MP"}, {2, "EM"}, {3, "TS"}, {4, "ET"}, {5, "NE"}, {16, "WP"}, {18, "AM"}, {29, "NW"}, {30, "CD"}, {31, "PG"}}
	cr4Bits  = []regBit{{0, "VME"}, {1, "PVI"}, {2, "TSD"}, {3, "DE"}, {4, "PSE"}, {5, "PAE"}, {6, "MCE"}, {7, "PGE"}, {8, "PCE"}, {9, "OSFXSR"}, {10, "OSXMMEXCPT"}, {11, "UMIP"}, {12, "LA57"}, {13, "VMXE"}, {14, "SMXE"}, {16, "FSGSBASE"}, {18, "OSXSAVE"}}
	eferBits = []regBit{{0, "SCE"}, {8, "LME"}, {10, "LMA"}, {11, "NXE"}, {12, "SVME"}, {13, "LMSLE"}, {14, "FFXSR"}, {15, "TCE"}}
	// Bits that decide the paging mode: drawn in bold.
	pagingBits = map[string]bool{"PE": true, "PG": true, "WP": true, "PSE": true, "PAE": true, "PGE": true, "LA57": true, "LME": true, "LMA": true, "NXE": true}
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

	// Second line: the registers.
	x, y = in.X, in.Y+t.lh
	regs := e.Regs()
	reg := func(name string, v uint64, digits int, bits []regBit) {
		if x >= right {
			return
		}
		x += c.text(x, y, FaceBold, t.fs, ColText, name) + t.fs/3
		c.b = appendHexW(c.b[:0], v, digits)
		x += c.textFitB(x, y, right-x, FaceMono, t.fs, ColText) + t.fs/2
		for _, b := range bits {
			if v&(1<<b.bit) == 0 || x >= right {
				continue
			}
			f, col := FaceRegular, ColDim
			if pagingBits[b.name] {
				f, col = FaceBold, Blue
			}
			w := Measure(f, t.small, b.name)
			if x+w > right {
				x = right
				break
			}
			x += c.text(x, y+1, f, t.small, col, b.name) + t.small/2
		}
		x += 2 * t.pad
	}
	reg("CR0", regs.CR0, 8, cr0Bits)
	digits := 8
	if guest.Long() || regs.CR3>>32 != 0 {
		digits = 12
	}
	reg("CR3", regs.CR3, digits, nil)
	reg("CR4", regs.CR4, 6, cr4Bits)
	reg("EFER", regs.EFER, 4, eferBits)
	if x < right {
		x += c.text(x, y, FaceBold, t.fs, ColText, "CPL") + t.fs/3
		c.b = appendUint(c.b[:0], uint64(regs.CPL))
		c.textFitB(x, y, right-x, FaceMono, t.fs, ColText)
	}
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
