package viz

import (
	"fmt"
	"image/color"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The walk inspector: the selected address cut into its index fields
// (coloured by level, as the hierarchy's columns are), each level's
// guest and shadow entries decoded, the resulting guest-physical and
// host-physical addresses, why the shadow entry differs from the
// guest's, and under nested paging the two-dimensional walk.

// selectedAccess is the access the inspector walks for: that of the
// last access when it was to the selected address, else a read at the
// current privilege level.
func (c *ctx) selectedAccess(va x86.GVA) (x86.Access, *engine.Outcome) {
	regs := c.m.Engine.Regs()
	acc := regs.Access(x86.Read)
	if c.m.Recent != nil {
		if o := c.m.Recent.LastAccess(); o != nil && x86.GVA(o.Event.Addr) == va {
			switch o.Event.Kind {
			case engine.EvWrite:
				acc.Kind = x86.Write
			case engine.EvExec:
				acc.Kind = x86.Fetch
			}
			return acc, o
		}
	}
	return acc, nil
}

func (c *ctx) walkPanel(r Rect, big bool) {
	e := c.m.Engine
	t := c.t
	va, hasVA := c.m.SelectedVA()
	in := c.panel("walk", "", r)
	f := e.Format()
	acc, last := c.selectedAccess(va)
	asked := va
	va = f.Linear(va)

	// Title: the address and the access.
	x := in.X
	x += c.text(x, in.Y, FaceBold, t.title, ColText, "Walk of ")
	c.b = appendVA(c.b[:0], uint64(va), f)
	x += c.textB(x, in.Y, FaceMono, t.title, ColText) + t.fs/2
	c.b = append(c.b[:0], acc.Kind.String()...)
	if acc.User {
		c.b = append(c.b, ", user"...)
	} else {
		c.b = append(c.b, ", supervisor"...)
	}
	if !hasVA {
		c.b = append(c.b, " (no access yet)"...)
	}
	if asked != va {
		// Outside long mode only 32 bits are translated: say so rather
		// than show another address as if it were the one asked for.
		c.b = append(c.b, " · "...)
		c.b = appendHex(c.b, uint64(asked))
		c.b = append(c.b, " cut to the 32 bits this mode translates"...)
	}
	c.textFitB(x, in.Y+1, in.Right()-x, FaceRegular, t.fs, ColDim)
	_, in = in.CutTop(LineHeight(FaceBold, t.title), t.pad)

	if f.N == 0 {
		c.b = append(c.b[:0], "No paging: linear address "...)
		c.b = appendHex(c.b, uint64(va))
		c.b = append(c.b, " is guest-physical address "...)
		c.b = appendHex(c.b, uint64(va))
		c.b = append(c.b, '.')
		c.textFitB(in.X, in.Y, in.W, FaceRegular, t.fs, ColText)
		_, in = in.CutTop(t.lh, t.pad/2)
		c.shadowOnlyWalk(in, uint64(va), big)
		return
	}

	w := e.GuestWalk(va, acc) // the engine's walk peeks: drawing changes nothing

	// Bit fields.
	used := c.bitFields(in, f, &w)
	_, in = in.CutTop(used, t.pad)

	nested := e.Config().Paging != engine.PagingShadow
	var steps []engine.ShadowStep
	gpa, gpaOK := c.walkGPA(f, &w)
	if nested {
		if gpaOK {
			steps = e.ShadowWalk(x86.GVA(gpa))
		}
	} else {
		steps = e.ShadowWalk(va)
	}
	used = c.walkRows(in, f, &w, steps, nested, big)
	_, in = in.CutTop(used, t.pad/2)
	used = c.walkResult(in, &w, steps, gpa, gpaOK, nested)
	_, in = in.CutTop(used, t.pad/2)
	if nested {
		used = c.walk2D(in, f, &w, gpa, gpaOK, last)
		_, in = in.CutTop(used, t.pad/2)
	}
	c.whyLines(in, f, &w, steps, gpa, gpaOK, nested)
}

// appendVA writes a virtual address with the digits its format uses.
func appendVA(b []byte, va uint64, f *x86.Format) []byte {
	if f.Mode.Long() {
		return appendHexW(b, va, 16)
	}
	return appendHexW(b, va, 8)
}

// walkGPA is the guest-physical address of the walk: its result, or for
// a protection fault the page the leaf maps.
func (c *ctx) walkGPA(f *x86.Format, w *x86.Walk) (x86.GPA, bool) {
	if w.OK() {
		return w.GPA, true
	}
	if l := w.Leaf(); l != nil && w.Fault.Kind == x86.Protection {
		lv := &f.Levels[w.N-1]
		return lv.PageBase(l.Entry) | x86.GPA(uint64(w.VA)&(lv.Covers()-1)), true
	}
	return 0, false
}

// bitFields draws the address as coloured fields, top level first, the
// page offset last; a walk ending in a big page merges the fields below
// it into the offset. It returns the height used.
func (c *ctx) bitFields(r Rect, f *x86.Format, w *x86.Walk) int {
	t := c.t
	type field struct {
		name     string
		hi, lo   int
		level    int
		value    uint64
		sign     bool
		unusedHi bool
	}
	var fs [8]field
	n := 0
	va := uint64(w.VA)
	if f.Mode.Long() {
		fs[n] = field{name: "sign", hi: 63, lo: int(f.VABits), level: 0, value: va >> f.VABits, sign: true}
		n++
	}
	offLo := 0
	end := f.N
	if w.PageShift > x86.PageShift && w.N > 0 && w.Steps[w.N-1].Big {
		end = w.N
	}
	for i := 0; i < end; i++ {
		lv := &f.Levels[i]
		fs[n] = field{name: lv.Kind.String(), hi: int(lv.Shift) + int(lv.IndexBits) - 1, lo: int(lv.Shift), level: int(lv.Kind), value: lv.Index(w.VA)}
		n++
		offLo = int(lv.Shift)
	}
	_ = offLo
	offBits := int(x86.PageShift)
	if end < f.N {
		offBits = int(f.Levels[end-1].Shift)
	}
	name := "offset"
	if offBits > x86.PageShift {
		name = "offset in " + string(appendSize(nil, 1<<offBits)) + " page"
	}
	fs[n] = field{name: name, hi: offBits - 1, lo: 0, level: 0, value: va & (1<<offBits - 1)}
	n++

	total := 0
	for i := 0; i < n; i++ {
		bits := fs[i].hi - fs[i].lo + 1
		if fs[i].sign {
			bits = 4 // the sign extension is drawn narrow
		}
		total += bits
	}
	digitW := Measure(FaceMono, t.small, "0")
	gap := max(2, t.pad/3)
	avail := r.W - (n-1)*gap
	// Binary digits fit when every field can hold its bits.
	binary := true
	for i := 0; i < n; i++ {
		bits := fs[i].hi - fs[i].lo + 1
		if !fs[i].sign && avail*bits/total < bits*digitW+digitW {
			binary = false
		}
	}
	boxH := LineHeight(FaceMono, t.fs) + t.pad/2
	y0 := r.Y
	x := r.X
	for i := 0; i < n; i++ {
		fd := &fs[i]
		bits := fd.hi - fd.lo + 1
		wb := bits
		if fd.sign {
			wb = 4
		}
		fw := avail * wb / total
		if i == n-1 {
			fw = r.Right() - x
		}
		col := LevelColor(fd.level)
		if fd.sign {
			col = ColFaint
		}
		// Name above.
		c.textFit(x, y0, fw, FaceBold, t.small, Shade(col, 0.15), fd.name)
		box := Rect{x, y0 + t.slh, fw, boxH}
		c.l.Fill(box, Tint(col, 0.75))
		c.l.Fill(Rect{box.X, box.Y, box.W, 3}, col)
		c.b = c.b[:0]
		switch {
		case fd.sign:
			c.b = append(c.b, "…"...)
		case binary:
			for k := fd.hi; k >= fd.lo; k-- {
				c.b = append(c.b, '0'+byte(uint64(w.VA)>>uint(k)&1))
			}
		case fd.level == 0:
			c.b = appendHex(c.b, fd.value)
		default:
			c.b = appendUint(c.b, fd.value)
		}
		tw := measureBytes(FaceMono, t.small, c.b)
		if tw <= fw-4 {
			c.textB(x+(fw-tw)/2, box.Y+(boxH-LineHeight(FaceMono, t.small))/2+1, FaceMono, t.small, ColText)
		}
		// Bit range and value below.
		c.b = appendUint(c.b[:0], uint64(fd.hi))
		if fd.hi != fd.lo {
			c.b = append(c.b, "–"...)
			c.b = appendUint(c.b, uint64(fd.lo))
		}
		if !fd.sign && binary {
			c.b = append(c.b, " = "...)
			if fd.level == 0 {
				c.b = appendHex(c.b, fd.value)
			} else {
				c.b = appendUint(c.b, fd.value)
			}
		}
		// A field too narrow for its range (the 2 bits of a PAE PDPT
		// index) shows its top bit rather than a cut "31–3…".
		if measureBytes(FaceRegular, t.small, c.b) > fw {
			c.b = appendUint(c.b[:0], uint64(fd.hi))
		}
		c.textFitB(x, box.Bottom()+1, fw, FaceRegular, t.small, ColDim)
		x += fw + gap
	}
	return 2*t.slh + boxH + 1
}

// chips draws an entry's flags as eight small lettered cells and returns
// the width used.
func (c *ctx) chips(x, y int, e x86.Entry, present bool) int {
	t := c.t
	s := LineHeight(FaceBold, t.small)
	gap := max(1, s/8)
	for i, fl := range entryFlags {
		cr := Rect{x + i*(s+gap), y, s, s}
		on := present && e.Has(fl.bit)
		col, tc := ColEmpty, ColFaint
		if on {
			col = fl.role.Color()
			tc = OnColor(col)
		}
		c.l.Fill(cr, col)
		c.b = append(c.b[:0], fl.c)
		tw := measureBytes(FaceBold, t.small, c.b)
		c.textB(cr.X+(s-tw)/2, cr.Y+(s-LineHeight(FaceBold, t.small))/2, FaceBold, t.small, tc)
	}
	return len(entryFlags)*(s+gap) - gap
}

// entryCell draws one decoded entry: flag chips, the target, the
// protection key of an IA-32e leaf (keys says the format has them) when
// it is not 0 and, when there is room, the raw value.
func (c *ctx) entryCell(x, y, w int, e x86.Entry, lv *x86.Level, leaf, keys bool, raw bool, note string, noteCol color.RGBA) {
	t := c.t
	end := x + w
	if !e.Present() {
		c.b = append(c.b[:0], "not present"...)
		if note != "" {
			c.b = append(c.b, " · "...)
			c.b = append(c.b, note...)
		}
		col := ColDim
		if note != "" {
			col = noteCol
		}
		c.textFitB(x, y, w, FaceRegular, t.small, col)
		return
	}
	x += c.chips(x, y+1, e, true) + t.small/2
	c.b = append(c.b[:0], "→ "...)
	switch {
	case leaf && lv.Big(e):
		c.b = appendHex(c.b, uint64(lv.PageBase(e)))
		c.b = append(c.b, ' ')
		c.b = appendSize(c.b, lv.Covers())
	default:
		c.b = appendHex(c.b, uint64(e)&lv.FrameMask)
	}
	if leaf && keys && e.Key() != 0 {
		c.b = append(c.b, " K"...)
		c.b = appendUint(c.b, uint64(e.Key()))
	}
	if raw {
		c.b = append(c.b, "  "...)
		digits := 16
		if lv.EntrySize == 4 {
			digits = 8
		}
		c.b = appendHexW(c.b, uint64(e), digits)
	}
	x += c.textFitB(x, y, end-x, FaceMono, t.small, ColText) + t.small/2
	if note != "" && x < end {
		c.textFit(x, y, end-x, FaceRegular, t.small, noteCol, note)
	}
}

// walkRows draws one row per level: guest entry and shadow (or nested)
// entry, side by side when there is room, else one under the other.
func (c *ctx) walkRows(r Rect, f *x86.Format, w *x86.Walk, steps []engine.ShadowStep, nested, big bool) int {
	t := c.t
	e := c.m.Engine
	sf := e.ShadowFormat()
	levelW := Measure(FaceBold, t.small, "PML4 ") + Measure(FaceMono, t.small, "[511]") + t.small
	chipW := 8 * (LineHeight(FaceBold, t.small) + 1)
	colNeed := chipW + Measure(FaceMono, t.small, " → 0x0000000000000")
	// Side by side only when the notes after the entries fit too
	// ("PDPTE register", "fault: protection", "a 4K piece of the big
	// page"): cut, they say nothing.
	noteW := Measure(FaceRegular, t.small, " fault: not present")
	side := r.W-levelW >= 2*(colNeed+noteW)+2*t.pad
	raw := big && r.W-levelW >= 2*(colNeed+Measure(FaceMono, t.small, "  0x0000000000000000"))+2*t.pad
	rowH := t.slh + 2
	guestName, shadowName := "guest", "shadow"
	if nested {
		shadowName = "nested"
	}
	y := r.Y
	colX := r.X + levelW
	colW := r.W - levelW
	gW, sW := colW, colW
	if side {
		gW = (colW - 2*t.pad) / 2
		sW = gW
		c.text(colX, y, FaceBold, t.small, ColDim, "guest entry")
		if nested {
			c.text(colX+gW+2*t.pad, y, FaceBold, t.small, ColDim, "nested entry (for the final guest-physical address)")
		} else {
			c.text(colX+gW+2*t.pad, y, FaceBold, t.small, ColDim, "shadow entry")
		}
		y += rowH
	}
	// Levels: the union of both formats, top first.
	kinds := c.sc.hier.kinds[:0]
	for i := 0; i < f.N; i++ {
		kinds = append(kinds, f.Levels[i].Kind)
	}
	for i := 0; i < sf.N; i++ {
		k := sf.Levels[i].Kind
		found := false
		for _, x := range kinds {
			found = found || x == k
		}
		if !found {
			kinds = append(kinds, k)
		}
	}
	for i := 1; i < len(kinds); i++ {
		for j := i; j > 0 && kinds[j] > kinds[j-1]; j-- {
			kinds[j], kinds[j-1] = kinds[j-1], kinds[j]
		}
	}
	c.sc.hier.kinds = kinds
	for _, k := range kinds {
		need := rowH
		if !side {
			need = 2 * rowH
		}
		if y+need > r.Bottom() {
			break
		}
		rowTop := y
		// Guest step for this level.
		gi := -1
		for i := 0; i < w.N; i++ {
			if w.Steps[i].Level == k {
				gi = i
			}
		}
		si := -1
		for i := range steps {
			if steps[i].Level == k {
				si = i
			}
		}
		c.l.Fill(Rect{r.X, y + 1, 3, rowH - 3}, LevelColor(int(k)))
		lx := r.X + 6
		lx += c.text(lx, y, FaceBold, t.small, ColText, k.String()) + t.small/3
		idx := -1
		if gi >= 0 {
			idx = int(w.Steps[gi].Index)
		} else if si >= 0 && !nested {
			idx = steps[si].Index
		}
		if idx >= 0 {
			c.b = append(c.b[:0], '[')
			c.b = appendUint(c.b, uint64(idx))
			c.b = append(c.b, ']')
			c.textB(lx, y, FaceMono, t.small, ColDim)
		}
		// Guest column.
		gx := colX
		if !side {
			c.text(gx, y, FaceRegular, t.small, ColDim, guestName)
			gx += Measure(FaceRegular, t.small, "shadow ") + t.small/2
		}
		gwid := colX + gW - gx
		switch {
		case gi >= 0:
			s := &w.Steps[gi]
			lv := &f.Levels[gi]
			note, col := "", ColDim
			if w.Fault.Kind != x86.NoFault && gi == w.N-1 && w.Fault.IsPF() {
				note, col = faultNote(&w.Fault), Vermilion
			}
			if s.Register {
				note = "PDPTE register"
			}
			c.entryCell(gx, y, gwid, s.Entry, lv, s.Leaf, f.Mode.Long(), raw, note, col)
		case f.Level(k) == nil:
			c.textFit(gx, y, gwid, FaceRegular, t.small, ColFaint, "no such level in the guest's format")
		case w.N > 0 && w.Steps[w.N-1].Big:
			c.b = append(c.b[:0], "— the "...)
			c.b = append(c.b, w.Steps[w.N-1].Level.String()...)
			c.b = append(c.b, " entry maps a "...)
			c.b = appendSize(c.b, 1<<w.PageShift)
			c.b = append(c.b, " page"...)
			c.textFitB(gx, y, gwid, FaceRegular, t.small, ColFaint)
		default:
			c.textFit(gx, y, gwid, FaceRegular, t.small, ColFaint, "—")
		}
		if !side {
			y += rowH
		}
		// Shadow column.
		sx := colX
		if side {
			sx = colX + gW + 2*t.pad
		} else {
			c.text(sx, y, FaceRegular, t.small, ColDim, shadowName)
			sx += Measure(FaceRegular, t.small, "shadow ") + t.small/2
		}
		swid := r.Right() - sx
		_ = sW
		switch {
		case si >= 0:
			s := &steps[si]
			lv := sf.Level(k)
			note, col := "", ColDim
			switch {
			case s.Stale:
				note, col = "stale", Purple
			case !s.Entry.Present() && !nested:
				note, col = c.shadowMissNote(f, w, gi), Shade(SkyBlue, 0.3)
			case s.Entry.Present() && s.Entry.Has(mappingBit) && lv.Kind != x86.LevelPT && !nested:
				note, col = "hypervisor mapping", Vermilion
			case s.Entry.Present() && gi < 0 && w.N > 0 && w.Steps[w.N-1].Big && !nested:
				note = "a 4K piece of the big page"
			}
			leaf := sf.Levels[sf.N-1].Kind == k
			c.entryCell(sx, y, swid, s.Entry, lv, leaf, sf.Mode.Long(), raw, note, col)
		case sf.Level(k) == nil:
			c.textFit(sx, y, swid, FaceRegular, t.small, ColFaint, "no such level in the shadow format")
		default:
			c.textFit(sx, y, swid, FaceRegular, t.small, ColFaint, "—")
		}
		y += rowH
		c.l.Hit(Rect{r.X, rowTop, r.W, y - rowTop}, HitID{Kind: HitWalkLevel, Hier: HierGuest, Level: k, Index: idx})
	}
	return y - r.Y
}

// faultNote is the short note beside the entry where the walk faulted:
// the kind, or for a rule of SMEP, SMAP or a protection key, the rule.
func faultNote(f *x86.Fault) string {
	switch {
	case f.Kind != x86.Protection || !f.Rule.Modern():
		return "fault: " + f.Kind.String()
	case f.Rule == x86.RuleSMEP:
		return "fault: SMEP"
	case f.Rule == x86.RuleSMAP:
		return "fault: SMAP"
	}
	return "fault: key " + string(appendUint(nil, uint64(f.Key)))
}

// shadowMissNote says why a shadow entry on the path is not present.
func (c *ctx) shadowMissNote(f *x86.Format, w *x86.Walk, gi int) string {
	switch {
	case w.N > 0 && !w.OK() && w.Fault.Kind != x86.Protection:
		return "the guest has no mapping either"
	case w.N > 0 && w.Steps[w.N-1].Leaf && !w.Steps[w.N-1].Entry.Accessed():
		return "until the guest's A bit is set"
	}
	return "built on the next access"
}

// walkResult writes the outcome: guest-physical and host-physical
// addresses on one line, and the fault the guest takes, if any, on the
// next. It returns the height used.
func (c *ctx) walkResult(r Rect, w *x86.Walk, steps []engine.ShadowStep, gpa x86.GPA, gpaOK, nested bool) int {
	t := c.t
	e := c.m.Engine
	x, y := r.X, r.Y
	if y+t.lh > r.Bottom() {
		return 0
	}
	if w.Fault.Kind == x86.NonCanonical {
		c.textFit(x, y, r.W, FaceBold, t.fs, Vermilion, "#GP: not a canonical address, so the processor does not even read the tables")
		return t.lh
	}
	if !w.OK() && w.Fault.Kind != x86.Protection {
		c.b = append(c.b[:0], "#PF to the guest: "...)
		c.b = append(c.b, w.Fault.Kind.String()...)
		c.b = append(c.b, " at "...)
		c.b = append(c.b, w.Steps[w.Fault.Level].Level.String()...)
		c.b = append(c.b, ", error code "...)
		c.b = appendHex(c.b, uint64(w.Fault.Code))
		c.b = appendErrorBits(c.b, w.Fault.Code)
		c.textFitB(x, y, r.W, FaceBold, t.fs, Vermilion)
		return t.lh
	}
	x += c.text(x, y, FaceRegular, t.fs, ColDim, "guest-physical ")
	c.b = appendHex(c.b[:0], uint64(gpa))
	x += c.textB(x, y, FaceMono, t.fs, ColText)
	c.b = append(c.b[:0], " ("...)
	c.b = appendSize(c.b, 1<<w.PageShift)
	c.b = append(c.b, " page)"...)
	x += c.textB(x, y, FaceRegular, t.fs, ColDim) + t.fs
	hpa, ok := c.hostAddr(steps, gpa, w, nested)
	if x < r.Right() {
		c.b = append(c.b[:0], "→ host-physical "...)
		x += c.textFitB(x, y, r.Right()-x, FaceRegular, t.fs, ColDim)
	}
	if x < r.Right() {
		switch {
		case ok:
			c.b = appendHex(c.b[:0], uint64(hpa))
			c.textFitB(x, y, r.Right()-x, FaceMono, t.fs, ColText)
		case gpaOK && pageOf(e.Memory(), gpa) != nil:
			c.textFit(x, y, r.Right()-x, FaceRegular, t.fs, ColDim, "none yet")
		default:
			c.textFit(x, y, r.Right()-x, FaceRegular, t.fs, ColDim, "none (no RAM there)")
		}
	}
	if w.Fault.Kind != x86.Protection || y+2*t.lh > r.Bottom() {
		return t.lh
	}
	y += t.lh
	// The rule in words ("SMAP: supervisor read of a user page with
	// AC=0"), then the error code that tells the guest's handler.
	// In a narrow panel the error code goes on a line of its own.
	c.b = append(c.b[:0], "#PF to the guest: "...)
	c.b = append(c.b, w.Fault.Reason()...)
	n := len(c.b)
	c.b = append(c.b, ", error code "...)
	c.b = appendHex(c.b, uint64(w.Fault.Code))
	c.b = appendErrorBits(c.b, w.Fault.Code)
	if measureBytes(FaceBold, t.fs, c.b) <= r.W || y+2*t.lh > r.Bottom() {
		c.textFitB(r.X, y, r.W, FaceBold, t.fs, Vermilion)
		return 2 * t.lh
	}
	code := append([]byte("error code"), c.b[n+len(", error code"):]...)
	c.b = c.b[:n]
	c.textFitB(r.X, y, r.W, FaceBold, t.fs, Vermilion)
	c.b = append(c.b[:0], code...)
	c.textFitB(r.X, y+t.lh, r.W, FaceBold, t.fs, Vermilion)
	return 3 * t.lh
}

// appendErrorBits spells a #PF error code: " (P W U)".
func appendErrorBits(b []byte, code x86.ErrorCode) []byte {
	b = append(b, " = "...)
	n := 0
	for _, bit := range [...]struct {
		c    x86.ErrorCode
		name string
	}{{x86.PFPresent, "present"}, {x86.PFWrite, "write"}, {x86.PFUser, "user"}, {x86.PFRsvd, "reserved bit"}, {x86.PFFetch, "fetch"}, {x86.PFPK, "protection key"}} {
		if code&bit.c != 0 {
			if n > 0 {
				b = append(b, " + "...)
			}
			b = append(b, bit.name...)
			n++
		}
	}
	if n == 0 {
		b = append(b, "not present, read, supervisor"...)
	}
	return b
}

// hostAddr is the host-physical address the shadow (or nested) leaf
// gives.
func (c *ctx) hostAddr(steps []engine.ShadowStep, gpa x86.GPA, w *x86.Walk, nested bool) (x86.HPA, bool) {
	sf := c.m.Engine.ShadowFormat()
	if len(steps) != sf.N || !steps[len(steps)-1].Entry.Present() {
		return 0, false
	}
	frame := uint64(steps[len(steps)-1].Entry) & sf.Levels[sf.N-1].FrameMask
	off := uint64(gpa) & x86.PageOffMask
	if !nested {
		off = uint64(w.VA) & x86.PageOffMask
	}
	return x86.HPA(frame | off), true
}

// walk2D draws the two-dimensional walk of nested paging: for each guest
// level (and the final address) a row of nested lookups, then the read
// of the guest entry itself. It returns the height used.
func (c *ctx) walk2D(r Rect, f *x86.Format, w *x86.Walk, gpa x86.GPA, gpaOK bool, last *engine.Outcome) int {
	t := c.t
	e := c.m.Engine
	sf := e.ShadowFormat()
	rows := w.N + 1
	cols := sf.N + 1
	refs := rows*cols - 1
	if y := r.Y; y+t.lh*2 > r.Bottom() {
		return 0
	}
	c.b = append(c.b[:0], "2D walk: "...)
	c.b = appendUint(c.b, uint64(refs))
	c.b = append(c.b, " memory references for one TLB miss ("...)
	c.b = appendUint(c.b, uint64(rows))
	c.b = append(c.b, " × "...)
	c.b = appendUint(c.b, uint64(cols))
	c.b = append(c.b, " − 1)"...)
	if last != nil && last.MemRefs > 0 {
		c.b = append(c.b, "; the last access made "...)
		c.b = appendUint(c.b, uint64(last.MemRefs))
	}
	c.textFitB(r.X, r.Y, r.W, FaceBold, t.small, ColText)
	y := r.Y + t.slh + 2
	labW := Measure(FaceBold, t.small, "data 0x00000000000 ")
	cell := min(max(t.slh, (r.W-labW)/(cols+2)), 2*t.lh)
	cell = min(cell, (r.Bottom()-y-t.slh)/(rows+1))
	if cell < 6 {
		return y - r.Y
	}
	// Column headings: the nested levels by name, or all by number
	// (n4 = nPML4) when one name does not fit, so that they read alike.
	short := false
	for j := 0; j < sf.N; j++ {
		c.b = append(append(c.b[:0], 'n'), sf.Levels[j].Kind.String()...)
		short = short || measureBytes(FaceRegular, t.small, c.b) > cell-2
	}
	for j := 0; j < cols; j++ {
		switch {
		case j >= sf.N && short:
			c.b = append(c.b[:0], "rd"...)
		case j >= sf.N:
			c.b = append(c.b[:0], "read"...)
		case short:
			c.b = append(c.b[:0], 'n', byte('0'+int(sf.Levels[j].Kind)))
		default:
			c.b = append(append(c.b[:0], 'n'), sf.Levels[j].Kind.String()...)
		}
		if measureBytes(FaceRegular, t.small, c.b) <= cell-2 {
			c.textB(r.X+labW+j*cell, y, FaceRegular, t.small, ColDim)
		}
	}
	y += t.slh
	for i := 0; i < rows; i++ {
		var addr x86.GPA
		ok := true
		name := ""
		if i < w.N {
			addr = w.Steps[i].EntryAddr
			name = w.Steps[i].Level.String()
			if w.Steps[i].Register {
				ok = false // PDPTE registers: no memory reference
			}
		} else {
			addr, ok = gpa, gpaOK
			name = "data"
		}
		c.b = append(c.b[:0], name...)
		c.b = append(c.b, ' ')
		c.b = appendHex(c.b, uint64(addr))
		c.textFitB(r.X, y+(cell-t.slh)/2, labW-4, FaceMono, t.small, ColText)
		blk := c.l.NewCells(r.X+labW, y, cols, 1, cell-2, 2)
		var ns []engine.ShadowStep
		if ok {
			ns = e.ShadowWalk(x86.GVA(addr))
		}
		for j := 0; j < cols; j++ {
			switch {
			case !ok:
				blk.Pix[j] = ColEmpty
			case j < sf.N && j < len(ns) && ns[j].Entry.Present():
				blk.Pix[j] = LevelColor(int(sf.Levels[j].Kind))
			case j < sf.N:
				blk.Pix[j] = ColEmpty
				blk.Marks[j] = MarkCross
			case i == rows-1:
				blk.Pix[j] = Tint(ColFaint, 0.5) // the data access itself
			default:
				blk.Pix[j] = LevelColor(int(w.Steps[i].Level))
				blk.Marks[j] = MarkDot
			}
		}
		y += cell
	}
	return y - r.Y + 2
}

// whyLines explains how the shadow entry differs from the guest's.
func (c *ctx) whyLines(r Rect, f *x86.Format, w *x86.Walk, steps []engine.ShadowStep, gpa x86.GPA, gpaOK, nested bool) {
	t := c.t
	if r.H < t.lh {
		return
	}
	reasons := c.reasons(f, w, steps, gpa, gpaOK, nested)
	y := r.Y
	c.text(r.X, y, FaceBold, t.small, ColText, "Why the shadow differs from the guest")
	if nested {
		c.l.Fill(Rect{r.X, y, 0, 0}, ColText)
	}
	y += t.slh + 2
	for _, s := range reasons {
		if y+t.slh > r.Bottom() {
			break
		}
		c.l.Fill(Rect{r.X + 2, y + t.slh/2 - 2, 4, 4}, ColDim)
		y += c.paragraph(Rect{r.X + 12, y, r.W - 12, r.Bottom() - y}, FaceRegular, t.small, ColText, s)
	}
}

// reasons lists, in plain words, why the shadow (or nested) entry of
// the walk is what it is.
func (c *ctx) reasons(f *x86.Format, w *x86.Walk, steps []engine.ShadowStep, gpa x86.GPA, gpaOK, nested bool) []string {
	e := c.m.Engine
	var out []string
	if nested {
		out = append(out, "Nested paging: the processor walks the guest's own tables; every guest-physical address it meets (each table entry, then the page) goes through the nested tables, which the hypervisor fills on demand (nested page faults).")
		return out
	}
	if w.Fault.Kind == x86.NonCanonical {
		return append(out, "Nothing to shadow: the address is rejected before any table is read.")
	}
	if !w.OK() && w.Fault.Kind != x86.Protection {
		return append(out, "The guest's own tables do not map the address: the hypervisor reflects the page fault to the guest, whose handler decides what to do.")
	}
	if w.Fault.Kind == x86.Protection && w.Fault.Rule.Modern() {
		// The rule is the guest's own; how the shadow still enforces it.
		out = append(out, "SMEP, SMAP and protection keys depend on CR4, RFLAGS.AC and PKRU, not on the entry alone, so the shadow entry cannot say them: it keeps the guest's U bit and key, every TLB or shadow hit is checked against what the current CPL, AC and PKRU refuse, and a refused access traps and is reflected to the guest.")
	}
	for _, m := range e.Mappings() {
		if m.Range().Contains(w.VA) && f.Mode.Paging() && !f.Mode.Long() {
			out = append(out, fmt.Sprintf("The address lies in the hypervisor's own mapping %q: the guest must not use it (the mapping moves if the guest puts tables there).", m.Name))
		}
	}
	sf := e.ShadowFormat()
	leafOK := len(steps) == sf.N && steps[len(steps)-1].Entry.Present()
	gl := w.Leaf()
	p := pageOf(e.Memory(), gpa)
	name := c.handlerName(gpa)
	switch {
	case p == nil:
		out = append(out, "No RAM behind the guest-physical address: every access is emulated (reads give all ones), so the shadow entry stays not present.")
	case p.Type() == phys.TypeMMIO || p.Handler() == phys.HandlerAll:
		out = append(out, "Every access to this page must reach a handler ("+name+"): the shadow entry stays not present so that each access traps and is emulated.")
	case !leafOK && len(steps) < sf.N:
		out = append(out, "No shadow page table covers the address yet: the first access traps (#PF) and SyncPT creates one from the guest's table.")
	case !leafOK && steps[len(steps)-1].Stale:
		out = append(out, "The guest changed its entry; the shadow entry is stale and is resynced when the guest flushes its TLB (invlpg or a CR3 load).")
	case !leafOK && gl != nil && !gl.Entry.Accessed():
		out = append(out, "Accessed-bit emulation: the guest's A bit is clear, so the shadow entry is not present; the first access traps, the engine sets A in the guest's entry and maps the page.")
	case !leafOK:
		out = append(out, "Not synced yet: shadow entries are filled on demand; the next access traps (#PF) and SyncPage copies the guest's entry.")
	}
	if !leafOK {
		return out
	}
	s := steps[len(steps)-1].Entry
	out = append(out, "The shadow entry holds the host-physical frame where the hypervisor keeps the guest's page; the guest's entry holds the guest-physical one.")
	if gl == nil {
		return out
	}
	g := gl.Entry
	if g.Writable() && w.Rights&x86.RightWrite != 0 && !s.Writable() {
		monitored := c.isMonitored(x86.PageDown(gpa))
		switch {
		case steps[len(steps)-1].Entry.Has(x86.AVL9):
			out = append(out, "Dirty-bit emulation: the guest's D bit is clear, so the shadow maps the page read-only; the first write traps, sets D in the guest's entry and makes the shadow writable.")
		case monitored:
			out = append(out, "Write monitoring: the page holds a guest page table the pool shadows; writes trap, so the engine can update the shadow before the guest's change takes effect.")
		case p.Handler() == phys.HandlerWrite:
			out = append(out, "A write handler ("+name+") watches the page: writes trap and are emulated.")
		case !p.Type().Writable():
			out = append(out, "ROM: the guest's writes are dropped, so the shadow maps it read-only.")
		case p.State() == phys.StateZero:
			out = append(out, "The page is still the shared zero page: read-only until the first write gives it a host page of its own.")
		case p.State() == phys.StateShared:
			out = append(out, "The page is shared with identical pages (copy on write): read-only until a write gives it a private copy.")
		case p.State() == phys.StateWriteMonitored:
			out = append(out, "The page is write-monitored: read-only until the first write is recorded.")
		case p.State() == phys.StateBallooned:
			out = append(out, "The balloon took the page: reads see zeros; a write traps and brings a fresh page back.")
		}
	}
	if g.Global() && !s.Global() {
		out = append(out, "The guest marks the page global, but CR4.PGE is off: the shadow entry is not global.")
	}
	if f.NX && g.NoExec() && !s.NoExec() && !e.ShadowFormat().NX {
		out = append(out, "The host's tables have no NX bit: the shadow cannot forbid execution, so fetches are checked against the guest's tables.")
	}
	if len(out) == 1 {
		out = append(out, "Otherwise the shadow grants what the guest grants.")
	}
	return out
}

// handlerName names the physical handler covering gpa.
func (c *ctx) handlerName(gpa x86.GPA) string {
	for _, h := range c.m.Engine.Handlers() {
		if h.Range.Contains(gpa) {
			if h.Name != "" {
				return h.Type.String() + " handler " + h.Name
			}
			return h.Type.String() + " handler"
		}
	}
	return "MMIO"
}

// shadowOnlyWalk shows the shadow path for a guest without paging: the
// physical-mode tables.
func (c *ctx) shadowOnlyWalk(r Rect, va uint64, big bool) {
	e := c.m.Engine
	steps := e.ShadowWalk(x86.GVA(va))
	var w x86.Walk
	w.VA = x86.GVA(va)
	w.GPA = x86.GPA(va)
	w.PageShift = x86.PageShift
	f := e.Format()
	nested := e.Config().Paging != engine.PagingShadow
	used := c.walkRows(r, f, &w, steps, nested, big)
	_, r = r.CutTop(used, c.t.pad/2)
	used = c.walkResult(r, &w, steps, x86.GPA(va), true, nested)
	_, r = r.CutTop(used, c.t.pad/2)
	if r.H > c.t.lh {
		c.paragraph(r, FaceRegular, c.t.small, ColDim, "Even without guest paging the processor needs page tables while the guest runs: the hypervisor gives it tables that map guest-physical memory one to one onto the host pages behind it.")
	}
}
