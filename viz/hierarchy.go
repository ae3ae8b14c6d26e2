package viz

import (
	"image/color"
	"slices"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The hierarchy panel: the guest's tables (from CR3) in the upper band,
// the shadow tables (or the nested tables) in the lower band, one column
// per paging level so that a guest table sits above the shadow table
// that mirrors it. Each table is a grid of entry cells coloured by what
// the entry is; rows with nothing present fold into a thin line (a run
// of identical empty entries), so sparse tables stay large. The tables
// on the selected address's path come first in each column with the
// selected entry outlined, connected to the table it points at, and the
// guest and shadow entries of the selected address are joined by a
// vermilion line. Other children follow as thumbnails while room lasts;
// in big views the path's table lists its present entries as merged
// runs, as Linux's page-table dump does.

type hierScratch struct {
	guest, shadow hierData
	order, inv    []int
	tmp           []card
	kinds         []x86.LevelKind
}

// maxCardsPerDepth bounds the tables gathered per level.
const maxCardsPerDepth = 10

func (c *ctx) hierarchyPanel(r Rect, big bool) {
	e := c.m.Engine
	nested := e.Config().Paging != engine.PagingShadow
	title := "Page tables: the guest's, and the shadow tables the hypervisor builds from them"
	if nested {
		title = "Page tables: the guest's, and the nested tables that map guest-physical memory"
	}
	in := c.panel("hierarchy", "", r)
	t := c.t
	tw := c.textFit(in.X, in.Y, in.W, FaceBold, t.title, ColText, title)
	va, hasVA := c.m.SelectedVA()
	if hasVA && in.W-tw > 30*t.small {
		c.b = append(c.b[:0], "one square = one entry · outlined: the entries "...)
		c.b = appendHex(c.b, uint64(e.Format().Linear(va)))
		c.b = append(c.b, " uses"...)
		if !nested {
			c.b = append(c.b, " · orange line: guest entry ↔ its shadow"...)
		}
		w := measureBytes(FaceRegular, t.small, c.b)
		if w <= in.W-tw-2*t.pad {
			c.textB(in.Right()-w, in.Y+1, FaceRegular, t.small, ColDim)
		}
	}
	_, in = in.CutTop(LineHeight(FaceBold, t.title), t.pad/2)

	hs := &c.sc.hier
	gf, sf := e.Format(), e.ShadowFormat()
	kinds := hs.kinds[:0]
	for i := 0; i < gf.N; i++ {
		kinds = append(kinds, gf.Levels[i].Kind)
	}
	for i := 0; i < sf.N; i++ {
		if !slices.Contains(kinds, sf.Levels[i].Kind) {
			kinds = append(kinds, sf.Levels[i].Kind)
		}
	}
	slices.SortFunc(kinds, func(a, b x86.LevelKind) int { return int(b) - int(a) })
	hs.kinds = kinds
	if len(kinds) == 0 {
		return
	}

	// Legend at the bottom, column headings at the top.
	legendRoles := []Role{RoleTable, RolePage, RolePageRO, RoleBigPage, RoleTrackDirty, RoleAccessTrap, RoleNotSynced, RoleStale, RoleMapping, RoleBad}
	if nested {
		legendRoles = []Role{RoleTable, RolePage, RolePageRO, RoleBigPage, RoleBad}
	}
	lh := c.legendHeight(in.W, t.small, legendRoles...)
	in, leg := in.CutBottom(lh, t.pad/2)
	c.legend(leg, t.small, legendRoles...)

	colGap := max(18, 3*t.pad)
	_, in = in.CutLeft(max(8, t.pad), 0) // room for the guest-shadow links
	ncol := len(kinds)
	colW := (in.W - (ncol-1)*colGap) / ncol
	colX := func(k x86.LevelKind) int {
		i := slices.Index(kinds, k)
		return in.X + i*(colW+colGap)
	}
	heads, in := in.CutTop(t.slh, t.pad/2)
	for _, k := range kinds {
		x := colX(k)
		lv := gf.Level(k)
		if lv == nil {
			lv = sf.Level(k)
		}
		c.l.Fill(Rect{x, heads.Bottom() - 2, colW, 2}, LevelColor(int(k)))
		c.b = append(c.b[:0], k.String()...)
		c.b = append(c.b, " · bits "...)
		c.b = appendUint(c.b, uint64(lv.Shift)+uint64(lv.IndexBits)-1)
		c.b = append(c.b, "–"...)
		c.b = appendUint(c.b, uint64(lv.Shift))
		c.textFitB(x, heads.Y, colW, FaceBold, t.small, ColText)
	}

	linkGap := max(t.lh, 2*t.pad)
	bandH := (in.H - linkGap) / 2
	gBand, sBand := in.CutTop(bandH, linkGap)

	var per [6]int
	for i := range per {
		per[i] = maxCardsPerDepth
	}
	// Guest band.
	gTitle, gArea := gBand.CutTop(t.lh, 0)
	gd, sd := &hs.guest, &hs.shadow
	gd.reset(HierGuest, gf)
	if gf.N == 0 {
		c.textFit(gTitle.X, gTitle.Y, gTitle.W, FaceBold, t.fs, ColText, "Guest: no paging")
		msg := "Paging is off (CR0.PG = 0): the guest's addresses are physical addresses. The hypervisor still runs the guest on tables of its own, which map guest-physical memory one to one onto the host pages behind it."
		c.paragraph(gArea, FaceRegular, t.fs, ColDim, msg)
	} else {
		c.b = append(c.b[:0], "Guest page tables (in guest memory) · CR3 → "...)
		c.b = appendHex(c.b, e.Regs().CR3&gf.RootMask)
		c.textFitB(gTitle.X, gTitle.Y, gTitle.W, FaceBold, t.fs, ColText)
		c.gatherGuest(gd, va, hasVA, per[:])
	}

	// Shadow band.
	sTitle, sArea := sBand.CutTop(t.lh, 0)
	key, hasKey := uint64(va), hasVA
	if nested {
		key, hasKey = c.nestedKey(va, hasVA)
	}
	c.gatherShadow(sd, key, hasKey, per[:])
	if nested {
		c.b = append(c.b[:0], "Nested page tables (in the pool) · guest-physical → host-physical"...)
	} else {
		c.b = append(c.b[:0], "Shadow page tables (in the pool) · the CPU really uses these"...)
	}
	if len(sd.cards) > 0 {
		c.b = append(c.b, " · root "...)
		c.b = appendHex(c.b, sd.cards[0].addr)
	}
	c.textFitB(sTitle.X, sTitle.Y, sTitle.W, FaceBold, t.fs, ColText)
	if len(sd.cards) == 0 {
		c.paragraph(sArea, FaceRegular, t.fs, ColDim, "No shadow root yet.")
	}

	c.classify(gd)
	c.classify(sd)
	c.placeBand(gd, gArea, colX, colW, big)
	c.placeBand(sd, sArea, colX, colW, big)
	c.drawCards(gd, big)
	c.drawCards(sd, big)
	c.drawLinks(gd, sd)
}

// nestedKey is the guest-physical address the nested tables are
// followed for: the translation of va by the guest's tables.
func (c *ctx) nestedKey(va x86.GVA, hasVA bool) (uint64, bool) {
	if !hasVA {
		return 0, false
	}
	e := c.m.Engine
	regs := e.Regs()
	var w x86.Walk
	pk := &c.sc.peek
	pk.reset(e.Memory())
	e.Format().Walk(pk, regs.Root(), va, regs.Access(x86.Read), &w)
	gpa, ok := c.walkGPA(e.Format(), &w)
	return uint64(gpa), ok
}

// classify gives every entry of every card its role.
func (c *ctx) classify(h *hierData) {
	if cap(h.rstore) < len(h.store) {
		h.rstore = make([]Role, len(h.store))
	}
	h.rstore = h.rstore[:len(h.store)]
	off := 0
	c.sc.peek.reset(c.m.Engine.Memory())
	for i := range h.cards {
		cd := &h.cards[i]
		cd.roles = h.rstore[off : off+cd.n : off+cd.n]
		off += cd.n
		for k := 0; k < cd.n; k++ {
			cd.roles[k] = c.entryRole(h, cd, k)
		}
	}
}

// Card placement. A card is a header line and its grid; grid rows with
// nothing to show (every entry empty, none selected) fold into a strip
// of foldH(pitch) pixels.

func foldH(pitch int) int { return max(3, pitch/2) }

// gridHeight is the height of cd's grid with cols columns at pitch.
func (cd *card) gridHeight(cols, pitch int) int {
	rows := (cd.n + cols - 1) / cols
	h, folded := 0, false
	for r := 0; r < rows; r++ {
		if cd.rowShown(r, cols) {
			h += pitch
			folded = false
		} else if !folded {
			h += foldH(pitch)
			folded = true
		}
	}
	return h
}

func (cd *card) rowShown(r, cols int) bool {
	if cd.sel >= r*cols && cd.sel < (r+1)*cols {
		return true
	}
	for k := r * cols; k < min((r+1)*cols, cd.n); k++ {
		if cd.roles[k] != RoleEmpty {
			return true
		}
	}
	return false
}

// fit chooses the columns and pitch of cd's grid: the largest pitch (at
// most maxPitch) that fits in w x h, preferring 32 columns.
func (cd *card) fit(w, h, maxPitch int) (cols, pitch int) {
	if cd.n <= 16 {
		p := min((w+1)/cd.n, maxPitch, h)
		return cd.n, max(p, 1)
	}
	bestC, bestP := 32, 0
	for _, cols := range [...]int{32, 16, 64} {
		p := min((w+1)/cols, maxPitch)
		for p > 1 && cd.gridHeight(cols, p) > h {
			p--
		}
		if p > bestP+1 || bestP == 0 {
			bestC, bestP = cols, p
		}
	}
	return bestC, max(bestP, 1)
}

// setGrid fixes cd's grid and computes its rows' offsets.
func (c *ctx) setGrid(h *hierData, cd *card, cols, pitch int) {
	cd.cols, cd.pitch = cols, pitch
	cd.rows = (cd.n + cols - 1) / cols
	cd.gap = 0
	if pitch >= 4 {
		cd.gap = 1
	}
	if cap(h.rowStore)-len(h.rowStore) < cd.rows {
		h.rowStore = make([]int32, 0, max(2*cap(h.rowStore), 1024))
	}
	cd.rowY = h.rowStore[len(h.rowStore) : len(h.rowStore)+cd.rows]
	h.rowStore = h.rowStore[:len(h.rowStore)+cd.rows]
	y, folded := 0, false
	for r := 0; r < cd.rows; r++ {
		if cd.rowShown(r, cols) {
			cd.rowY[r] = int32(y)
			y += pitch
			folded = false
		} else {
			cd.rowY[r] = -1
			if !folded {
				y += foldH(pitch)
				folded = true
			}
		}
	}
	cd.gridH = y
}

// placeBand positions a band's cards: in each column the path's table at
// the top, as large as the column allows, then its run lines (big
// views), then thumbnails at half the pitch while they fit.
func (c *ctx) placeBand(h *hierData, r Rect, colX func(x86.LevelKind) int, colW int, big bool) {
	t := c.t
	h.rowStore = h.rowStore[:0]
	maxPitch := max(2*t.fs, 12)
	hdr := t.slh
	var y [6]int
	for d := range y {
		y[d] = r.Y
	}
	for i := range h.cards {
		cd := &h.cards[i]
		d := cd.depth
		cd.w, cd.runs = 0, 0
		avail := r.Bottom() - y[d] - hdr
		if avail < 4 {
			continue
		}
		mp := maxPitch
		if !cd.path {
			mp = max(maxPitch/2, 6)
			if pc := h.firstPath(d); pc != nil && pc.pitch > 0 {
				mp = max(pc.pitch/2, 3)
			}
		}
		reserve := 0
		if cd.path && big {
			reserve = min(cd.present, 4) * t.slh
		}
		cols, pitch := cd.fit(colW, avail-reserve, mp)
		if cd.gridHeight(cols, pitch) > avail {
			continue
		}
		c.setGrid(h, cd, cols, pitch)
		cd.x, cd.y, cd.w = colX(cd.level.Kind), y[d], colW
		cd.gx, cd.gy = cd.x, cd.y+hdr
		hgt := hdr + cd.gridH
		if cd.path && big {
			left := r.Bottom() - (cd.gy + cd.gridH + t.pad/2)
			cd.runs = min(max(left, 0)/t.slh, 8)
			if cd.runs > 0 {
				hgt += t.pad/2 + cd.runs*t.slh
			}
		}
		cd.h = hgt
		y[d] += hgt + t.pad
	}
}

// firstPath is the path card of a depth, or nil.
func (h *hierData) firstPath(d int) *card {
	for i := range h.cards {
		if h.cards[i].depth == d && h.cards[i].path {
			return &h.cards[i]
		}
	}
	return nil
}

// cellRect is the rectangle of entry i of a placed card (a folded row
// gives an empty rectangle at the fold).
func (cd *card) cellRect(i int) Rect {
	col, row := i%cd.cols, i/cd.cols
	y := cd.rowY[row]
	if y < 0 {
		return Rect{cd.gx + col*cd.pitch, cd.gy, 0, 0}
	}
	return Rect{cd.gx + col*cd.pitch, cd.gy + int(y), cd.pitch - cd.gap, cd.pitch - cd.gap}
}

// drawCards draws a band's cards and the connectors between them.
func (c *ctx) drawCards(h *hierData, big bool) {
	t := c.t
	vaBits := uint8(0)
	if h.format.Mode.Long() {
		vaBits = h.format.VABits
	}
	for i := range h.cards {
		cd := &h.cards[i]
		if cd.w == 0 {
			continue
		}
		c.cardHeader(h, cd)
		letters := cd.pitch >= 14
		gw := min(cd.cols, cd.n)*cd.pitch - cd.gap
		for r0 := 0; r0 < cd.rows; {
			if cd.rowY[r0] < 0 {
				// A fold: a thin line across the grid.
				y := cd.gy + cd.foldY(r0)
				r1 := r0
				for r1 < cd.rows && cd.rowY[r1] < 0 {
					r1++
				}
				fh := foldH(cd.pitch)
				c.l.Fill(Rect{cd.gx, y + fh/2 - 1, gw, 1}, ColBorder)
				r0 = r1
				continue
			}
			r1 := r0
			for r1 < cd.rows && cd.rowY[r1] >= 0 {
				r1++
			}
			first := r0 * cd.cols
			last := min(r1*cd.cols, cd.n)
			blk := c.l.NewCells(cd.gx, cd.gy+int(cd.rowY[r0]), cd.cols, r1-r0, cd.pitch-cd.gap, cd.gap)
			for k := first; k < last; k++ {
				st := cd.roles[k].Style()
				blk.Pix[k-first] = st.Color
				blk.Marks[k-first] = st.Mark
				if letters && cd.roles[k] != RoleEmpty && st.Letter != 0 {
					cr := cd.cellRect(k)
					fs := min(cd.pitch*3/5, t.fs)
					c.b = append(c.b[:0], st.Letter)
					w := measureBytes(FaceBold, fs, c.b)
					c.textB(cr.X+(cr.W-w)/2, cr.Y+(cr.H-LineHeight(FaceBold, fs))/2, FaceBold, fs, OnColor(st.Color))
				}
			}
			id := HitID{Kind: HitEntry, Hier: h.hier, Level: cd.level.Kind, Table: cd.addr, Index: first,
				Addr: cd.base + uint64(first)<<cd.level.Shift}
			c.l.HitGridVA(cd.gx, cd.gy+int(cd.rowY[r0]), cd.cols, last-first, cd.pitch, cd.level.Covers(), vaBits, id)
			r0 = r1
		}
		if cd.sel >= 0 && cd.sel < cd.n {
			cr := cd.cellRect(cd.sel)
			w := t.thick
			c.l.Stroke(Rect{cr.X - w, cr.Y - w, cr.W + 2*w, cr.H + 2*w}, w, ColSelect)
		}
		if cd.runs > 0 {
			c.runLines(h, cd, Rect{cd.x, cd.gy + cd.gridH + t.pad/2, cd.w, cd.runs * t.slh}, cd.runs)
		}
	}
	// Connectors from a parent's entry to the child table.
	for i := range h.cards {
		cd := &h.cards[i]
		if cd.w == 0 || cd.parent < 0 {
			continue
		}
		p := &h.cards[cd.parent]
		if p.w == 0 {
			continue
		}
		cr := p.cellRect(cd.parentIdx)
		gw := min(p.cols, p.n)*p.pitch - p.gap
		x0 := p.gx + gw
		y0 := cr.Y + cr.H/2
		x1 := cd.x
		y1 := cd.y + t.slh/2
		xm := x1 - max(8, (x1-x0)/2)
		col, w := ColFaint, 1
		if cd.path {
			col, w = ColText, t.thick
		} else if !cr.Empty() {
			c.l.Stroke(Rect{cr.X - 1, cr.Y - 1, cr.W + 2, cr.H + 2}, 1, ColDim)
		}
		c.l.Line(x0+2, y0, xm, y0, w, col)
		c.l.Line(xm, min(y0, y1), xm, max(y0, y1), w, col)
		c.l.Line(xm, y1, x1-2, y1, w, col)
	}
}

// foldY is the offset of the fold that starts at row r.
func (cd *card) foldY(r int) int {
	for k := r - 1; k >= 0; k-- {
		if cd.rowY[k] >= 0 {
			return int(cd.rowY[k]) + cd.pitch
		}
	}
	return 0
}

// cardHeader writes "PD 0x00201000 · 3 of 512 · KIND".
func (c *ctx) cardHeader(h *hierData, cd *card) {
	t := c.t
	x := cd.x
	x += c.text(x, cd.y, FaceBold, t.small, ColText, cd.level.Kind.String()) + t.small/2
	c.b = appendHex(c.b[:0], cd.addr)
	if cd.level.Register && h.hier == HierGuest {
		c.b = append(c.b[:0], "PDPTE registers"...)
	}
	x += c.textFitB(x, cd.y, cd.x+cd.w-x, FaceMono, t.small, ColText) + t.small/2
	c.b = append(c.b[:0], "· "...)
	c.b = appendUint(c.b, uint64(cd.present))
	c.b = append(c.b, '/')
	c.b = appendUint(c.b, uint64(cd.n))
	if cd.mmio {
		c.b = append(c.b[:0], "· no RAM behind it"...)
	}
	if w := measureBytes(FaceRegular, t.small, c.b); x+w <= cd.x+cd.w {
		x += c.textB(x, cd.y, FaceRegular, t.small, ColDim) + t.small/2
	}
	if h.hier != HierGuest && cd.kind != engine.KindInvalid {
		c.b = append(c.b[:0], "· "...)
		c.b = append(c.b, cd.kind.String()...)
		if w := measureBytes(FaceRegular, t.small, c.b); x+w <= cd.x+cd.w {
			c.textB(x, cd.y, FaceRegular, t.small, ColFaint)
		}
	}
}

// entryRole classifies entry k of a card.
func (c *ctx) entryRole(h *hierData, cd *card, k int) Role {
	e := x86.Entry(cd.ents[k])
	leafLevel := cd.depth == h.format.N-1
	if h.hier == HierGuest {
		switch {
		case !e.Present():
			return RoleEmpty
		case cd.level.Register:
			if cd.level.Reserved(e) != 0 {
				return RoleBad
			}
			return RoleTable
		case cd.level.Reserved(e) != 0:
			return RoleBad
		case cd.level.Big(e):
			return RoleBigPage
		case !leafLevel:
			return RoleTable
		case e.Writable():
			return RolePage
		}
		return RolePageRO
	}
	fl := cd.flags[k]
	switch {
	case fl&sfStale != 0:
		return RoleStale
	case e.Present() && !leafLevel && e.Has(mappingBit) && h.hier == HierShadow:
		return RoleMapping
	case e.Present() && !leafLevel:
		return RoleTable
	case e.Present() && fl&sfTrackDirty != 0:
		return RoleTrackDirty
	case e.Present() && e.Writable():
		return RolePage
	case e.Present():
		return RolePageRO
	case h.hier == HierNested:
		return RoleEmpty
	}
	return c.shadowGap(h, cd, k)
}

// shadowGap says why a shadow entry is not present: the guest has no
// entry there (empty), its entry is not accessed yet (accessed
// emulation), or it simply was not needed yet (synced on demand).
func (c *ctx) shadowGap(h *hierData, cd *card, k int) Role {
	e := c.m.Engine
	gf := e.Format()
	if gf.N == 0 {
		return RoleEmpty
	}
	va := h.entryVA(cd, k)
	if !gf.Canonical(x86.GVA(va)) || !gf.Mode.Long() && va>>32 != 0 {
		return RoleEmpty
	}
	regs := e.Regs()
	var w x86.Walk
	gf.Walk(&c.sc.peek, regs.Root(), x86.GVA(va), x86.Access{Kind: x86.Read}, &w)
	kind := cd.level.Kind
	for j := 0; j < w.N; j++ {
		s := &w.Steps[j]
		if s.Level > kind {
			continue
		}
		if !s.Entry.Present() || gf.Levels[j].Reserved(s.Entry) != 0 {
			return RoleEmpty
		}
		for i := 0; i <= j; i++ {
			if !w.Steps[i].Register && !w.Steps[i].Entry.Accessed() && (w.Steps[i].Leaf || i == j) {
				return RoleAccessTrap
			}
		}
		return RoleNotSynced
	}
	return RoleEmpty
}

// runLines lists a card's present entries as merged runs: a run is
// adjacent entries of the same role and flags whose targets advance by
// what one entry covers.
func (c *ctx) runLines(h *hierData, cd *card, r Rect, max int) {
	t := c.t
	y := r.Y
	lines := 0
	total := 0
	lv := cd.level
	for k := 0; k < cd.n; {
		e := x86.Entry(cd.ents[k])
		role := cd.roles[k]
		if role == RoleEmpty {
			k++
			continue
		}
		j := k + 1
		for j < cd.n {
			f := x86.Entry(cd.ents[j])
			if cd.roles[j] != role || (f^e)&0xfff != 0 || (f^e)&x86.Entry(x86.NX) != 0 {
				break
			}
			if e.Present() && role != RoleTable && role != RoleStale && uint64(f)&lv.FrameMask != uint64(e)&lv.FrameMask+uint64(j-k)*c.stepOf(h, cd, e) {
				break
			}
			j++
		}
		total++
		if lines < max-1 || lines == max-1 && j >= cd.n {
			c.runLine(h, cd, k, j, role, r.X, y, r.W)
			y += t.slh
			lines++
		}
		k = j
	}
	if total > lines && lines < max+1 {
		c.b = append(c.b[:0], "… "...)
		c.b = appendUint(c.b, uint64(total-lines))
		c.b = append(c.b, " more runs"...)
		c.textFitB(r.X, y, r.W, FaceRegular, t.small, ColDim)
	}
}

// stepOf is how far a leaf's frame advances from one entry to the next.
func (c *ctx) stepOf(h *hierData, cd *card, e x86.Entry) uint64 {
	if h.hier == HierGuest && cd.level.Big(e) {
		return cd.level.Covers()
	}
	if cd.depth == h.format.N-1 {
		return x86.PageSize
	}
	return 0
}

// runLine writes one run: "10–1f  64K  W  PWUA----  → 0x10000".
func (c *ctx) runLine(h *hierData, cd *card, k, j int, role Role, x, y, w int) {
	t := c.t
	e := x86.Entry(cd.ents[k])
	st := role.Style()
	s := LineHeight(FaceMono, t.small) - 2
	cell := c.l.NewCells(x, y+1, 1, 1, s, 0)
	cell.Pix[0], cell.Marks[0] = st.Color, st.Mark
	x += s + t.small/2
	w -= s + t.small/2
	b := c.b[:0]
	digits := 3
	if cd.n <= 16 {
		digits = 1
	}
	b = appendPadHex(b, uint64(k), digits)
	if j-k > 1 {
		b = append(b, '-')
		b = appendPadHex(b, uint64(j-1), digits)
	} else {
		b = append(b, "    "[:digits+1]...)
	}
	b = append(b, ' ')
	sz := appendSize(nil, uint64(j-k)*cd.level.Covers())
	for i := len(sz); i < 5; i++ {
		b = append(b, ' ')
	}
	b = append(b, sz...)
	b = append(b, ' ', ' ')
	if !e.Present() {
		c.b = append(b, role.String()...)
		c.textFitB(x, y, w, FaceMono, t.small, ColDim)
		return
	}
	b = appendFlags(b, e)
	b = append(b, " → "...)
	switch {
	case role == RoleMapping:
		b = append(b, "hypervisor"...)
	case cd.level.Register && h.hier == HierGuest:
		b = appendHex(b, uint64(e)&cd.level.FrameMask)
	case h.hier == HierGuest && cd.level.Big(e):
		b = appendHex(b, uint64(cd.level.PageBase(e)))
	default:
		b = appendHex(b, uint64(e)&cd.level.FrameMask)
	}
	c.b = b
	c.textFitB(x, y, w, FaceMono, t.small, ColText)
}

func appendPadHex(b []byte, v uint64, digits int) []byte {
	for i := digits - 1; i >= 0; i-- {
		b = append(b, "0123456789abcdef"[v>>(4*uint(i))&15])
	}
	return b
}

// drawLinks joins the guest and shadow entries of the selected address,
// level by level where both are drawn: a line leaves the guest entry to
// the left, runs down the column's margin and enters the shadow entry.
func (c *ctx) drawLinks(g, s *hierData) {
	t := c.t
	col := Alpha(ColLink, 220)
	w := max(t.thick-1, 2)
	for i := range g.cards {
		gc := &g.cards[i]
		if !gc.path || gc.w == 0 || gc.sel < 0 {
			continue
		}
		for j := range s.cards {
			sc := &s.cards[j]
			if !sc.path || sc.w == 0 || sc.sel < 0 || sc.level.Kind != gc.level.Kind || s.hier == HierNested {
				continue
			}
			a, b := gc.cellRect(gc.sel), sc.cellRect(sc.sel)
			xl := min(gc.x, sc.x) - max(5, t.pad*2/3)
			ya, yb := a.Y+a.H/2, b.Y+b.H/2
			c.l.Line(xl, ya, a.X-t.thick, ya, w, col)
			c.l.Line(xl, ya, xl, yb, w, col)
			c.l.Line(xl, yb, b.X-t.thick, yb, w, col)
		}
	}
}

// paragraph writes s wrapped at spaces inside r and returns the height
// used. A word longer than a line is cut with an ellipsis.
func (c *ctx) paragraph(r Rect, f Face, size int, col color.RGBA, s string) int {
	lh := LineHeight(f, size) + max(2, size/4)
	y := r.Y
	for s != "" && y+LineHeight(f, size) <= r.Bottom() {
		end := 0
		for i := 0; i <= len(s); i++ {
			if i == len(s) || s[i] == ' ' {
				if Measure(f, size, s[:i]) > r.W {
					break
				}
				end = i
			}
		}
		if end == 0 {
			end = strings.IndexByte(s, ' ')
			if end < 0 {
				end = len(s)
			}
		}
		c.textFit(r.X, y, r.W, f, size, col, s[:end])
		s = strings.TrimLeft(s[end:], " ")
		y += lh
	}
	return y - r.Y
}
