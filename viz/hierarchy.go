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
	inter         hierData
	interFmt      [3]*x86.Format // 32-bit, PAE, AMD64
	shadowTitle   Rect           // the shadow band's title, which links must not cross
	order, inv    []int
	tmp           []card
	kinds         []x86.LevelKind
	runs          [][2]int // a card's runs of entries: [first, end)
}

// maxCardsPerDepth bounds the tables gathered per level.
const maxCardsPerDepth = 10

func (c *ctx) hierarchyPanel(r Rect, big bool) {
	bands := []Hier{HierGuest, HierShadow}
	if big && len(c.m.Engine.Mappings()) > 0 {
		// The guest's linear space holds the hypervisor's mappings: show
		// the context the world switch runs them in.
		bands = append(bands, HierIntermediate)
	}
	c.hierPanel(r, big, bands)
}

// hierPanel draws the hierarchies named by bands (HierShadow stands for
// the nested tables under nested paging), one band above the other, in
// columns by paging level.
func (c *ctx) hierPanel(r Rect, big bool, bands []Hier) {
	e := c.m.Engine
	nested := e.Config().Paging != engine.PagingShadow
	withGuest := slices.Contains(bands, HierGuest)
	withInter := slices.Contains(bands, HierIntermediate)
	title := "Page tables: the guest's, and the shadow tables the hypervisor builds from them"
	switch {
	case nested && withGuest:
		title = "Page tables: the guest's, and the nested tables that map guest-physical memory"
	case withGuest && withInter:
		title = "Page tables: the guest's, the shadow tables built from them, and the hypervisor's own"
	case withInter:
		title = "The hypervisor's tables: shadow directories with the mapping entries, and the intermediate context"
	}
	in := c.panel("hierarchy", "", r)
	t := c.t
	tw := c.textFit(in.X, in.Y, in.W, FaceBold, t.title, ColText, title)
	va, hasVA := c.m.SelectedVA()
	if hasVA && in.W-tw > 30*t.small {
		c.b = append(c.b[:0], "one square = one entry · outlined: the entries "...)
		c.b = appendHex(c.b, uint64(e.Format().Linear(va)))
		c.b = append(c.b, " uses"...)
		if !nested && withGuest {
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
	inf := c.interFormat()
	kinds := hs.kinds[:0]
	addKinds := func(f *x86.Format) {
		for i := 0; i < f.N; i++ {
			if !slices.Contains(kinds, f.Levels[i].Kind) {
				kinds = append(kinds, f.Levels[i].Kind)
			}
		}
	}
	if withGuest {
		addKinds(gf)
	}
	addKinds(sf)
	if withInter {
		addKinds(inf)
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
		if withInter {
			legendRoles = append(legendRoles, RoleMapping)
		}
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
		if lv == nil || !withGuest {
			lv = sf.Level(k)
		}
		if lv == nil {
			lv = inf.Level(k)
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
	nb := len(bands)
	bandH := (in.H - (nb-1)*linkGap) / nb
	var per [6]int
	for i := range per {
		per[i] = maxCardsPerDepth
	}
	gd, sd, id := &hs.guest, &hs.shadow, &hs.inter
	var areas [3]Rect
	rest := in
	for bi, b := range bands {
		var band Rect
		band, rest = rest.CutTop(bandH, linkGap)
		bt, area := band.CutTop(t.lh, 0)
		areas[bi] = area
		switch b {
		case HierGuest:
			gd.reset(HierGuest, gf)
			if gf.N == 0 {
				c.textFit(bt.X, bt.Y, bt.W, FaceBold, t.fs, ColText, "Guest: no paging")
				msg := "Paging is off (CR0.PG = 0): the guest's addresses are physical addresses. The hypervisor still runs the guest on tables of its own, which map guest-physical memory one to one onto the host pages behind it."
				c.paragraph(area, FaceRegular, t.fs, ColDim, msg)
				continue
			}
			c.b = append(c.b[:0], "Guest page tables (in guest memory) · CR3 → "...)
			c.b = appendHex(c.b, e.Regs().CR3&gf.RootMask)
			c.textFitB(bt.X, bt.Y, bt.W, FaceBold, t.fs, ColText)
			c.gatherGuest(gd, va, hasVA, per[:])
		case HierShadow:
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
			tw := c.textFitB(bt.X, bt.Y, bt.W, FaceBold, t.fs, ColText)
			hs.shadowTitle = Rect{bt.X, bt.Y, tw, LineHeight(FaceBold, t.fs)}
			if len(sd.cards) == 0 {
				c.paragraph(area, FaceRegular, t.fs, ColDim, "No shadow root yet.")
			}
		case HierIntermediate:
			key := c.interKey(va, hasVA)
			c.gatherIntermediate(id, inf, key, per[:])
			c.b = append(c.b[:0], "Intermediate context ("...)
			c.b = append(c.b, inf.Mode.String()...)
			c.b = append(c.b, ", the world switch's tables) · root "...)
			c.b = appendHex(c.b, uint64(e.IntermediateCR3(inf.Mode)))
			c.b = append(c.b, " · the hypervisor at "...)
			_, hv := e.SwitcherAddr()
			c.b = appendHex(c.b, uint64(hv))
			c.textFitB(bt.X, bt.Y, bt.W, FaceBold, t.fs, ColText)
		}
	}
	for bi, b := range bands {
		h := c.bandData(b)
		if b == HierGuest && gf.N == 0 {
			continue
		}
		c.classify(h)
		c.placeBand(h, areas[bi], colX, colW, big)
		c.drawCards(h, big)
	}
	if withGuest && gf.N > 0 {
		c.drawLinks(gd, sd)
	}
}

// bandData is the gathered data of a band.
func (c *ctx) bandData(b Hier) *hierData {
	switch b {
	case HierGuest:
		return &c.sc.hier.guest
	case HierIntermediate:
		return &c.sc.hier.inter
	}
	return &c.sc.hier.shadow
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
		// The trunk runs in the column gap, next to the children: a
		// parent's header can be wider than its grid, and a line at the
		// child's header height would cross it.
		xm := max(x1-max(8, c.t.pad), x0+4)
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
	case e.Present() && h.hier == HierIntermediate && cd.level.Kind == x86.LevelPD && c.inMapping(h.entryVA(cd, k)):
		return RoleMapping
	case e.Present() && !leafLevel:
		return RoleTable
	case e.Present() && fl&sfTrackDirty != 0:
		return RoleTrackDirty
	case e.Present() && e.Writable():
		return RolePage
	case e.Present():
		return RolePageRO
	case h.hier == HierNested || h.hier == HierIntermediate:
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
// adjacent entries of the same role, flags and protection key whose
// targets advance by what one entry covers. When not all fit, the lines
// show a window of runs that holds the selected entry's, with "… N
// earlier runs" above it and "… N more runs" below.
func (c *ctx) runLines(h *hierData, cd *card, r Rect, max int) {
	t := c.t
	runs := c.sc.hier.runs[:0]
	lv := cd.level
	selRun := -1
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
			if cd.roles[j] != role || (f^e)&0xfff != 0 || (f^e)&x86.Entry(x86.NX) != 0 || f.Key() != e.Key() {
				break
			}
			if e.Present() && role != RoleTable && role != RoleStale && role != RoleMapping && uint64(f)&lv.FrameMask != uint64(e)&lv.FrameMask+uint64(j-k)*c.stepOf(h, cd, e) {
				break
			}
			j++
		}
		if cd.sel >= k && cd.sel < j {
			selRun = len(runs)
		}
		runs = append(runs, [2]int{k, j})
		k = j
	}
	c.sc.hier.runs = runs
	// The window: all runs when they fit; else the first max-1 and a
	// "more" line; else, for a selected run beyond those, an "earlier"
	// line, the runs up to and around it, and a "more" line if any are left.
	first, shown := 0, len(runs)
	if len(runs) > max {
		shown = max - 1
		if selRun >= shown && max >= 3 {
			shown = max - 1 // below the "earlier" line
			first = min(selRun-shown/2, len(runs)-shown)
			if first+shown < len(runs) {
				shown = max - 2 // and above the "more" line
				first = min(selRun-shown/2, len(runs)-shown)
			}
		}
	}
	y := r.Y
	more := func(n int, what string) {
		c.b = append(c.b[:0], "… "...)
		c.b = appendUint(c.b, uint64(n))
		c.b = append(c.b, what...)
		c.textFitB(r.X, y, r.W, FaceRegular, t.small, ColDim)
		y += t.slh
	}
	if first > 0 {
		more(first, " earlier runs")
	}
	for i := first; i < first+shown && i < len(runs); i++ {
		k, j := runs[i][0], runs[i][1]
		c.runLine(h, cd, k, j, cd.roles[k], r.X, y, r.W)
		y += t.slh
	}
	if rest := len(runs) - first - shown; rest > 0 {
		more(rest, " more runs")
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

// runLine writes one run: "10–1f  64K  W  PWUA----  → 0x10000". In a
// narrow column the size goes first, then the flags, so that the range
// and the target stay readable.
func (c *ctx) runLine(h *hierData, cd *card, k, j int, role Role, x, y, w int) {
	t := c.t
	st := role.Style()
	s := LineHeight(FaceMono, t.small) - 2
	cell := c.l.NewCells(x, y+1, 1, 1, s, 0)
	cell.Pix[0], cell.Marks[0] = st.Color, st.Mark
	x += s + t.small/2
	w -= s + t.small/2
	for drop := 0; drop < 3; drop++ {
		c.b = c.appendRun(c.b[:0], h, cd, k, j, role, drop < 1, drop < 2)
		if drop == 2 || measureBytes(FaceMono, t.small, c.b) <= w {
			break
		}
	}
	col := ColText
	if !x86.Entry(cd.ents[k]).Present() {
		col = ColDim
	}
	c.textFitB(x, y, w, FaceMono, t.small, col)
}

func (c *ctx) appendRun(b []byte, h *hierData, cd *card, k, j int, role Role, size, flags bool) []byte {
	e := x86.Entry(cd.ents[k])
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
	if size {
		sz := appendSize(nil, uint64(j-k)*cd.level.Covers())
		for i := len(sz); i < 5; i++ {
			b = append(b, ' ')
		}
		b = append(b, sz...)
		b = append(b, ' ')
	}
	b = append(b, ' ')
	if !e.Present() {
		return append(b, role.String()...)
	}
	if flags {
		b = appendFlags(b, e)
		b = append(b, ' ')
	}
	// The protection key of an IA-32e leaf (bits 62:59), when not 0:
	// kept when the flags are left out, since the flags do not say it.
	if h.format.Mode.Long() && e.Key() != 0 && (cd.depth == h.format.N-1 || cd.level.Big(e)) {
		b = append(b, 'K')
		b = appendUint(b, uint64(e.Key()))
		b = append(b, ' ')
	}
	b = append(b, "→ "...)
	switch {
	case role == RoleMapping:
		if name := c.mappingName(h.entryVA(cd, k)); name != "" {
			b = append(b, "mapping "...)
			b = append(b, name...)
		} else {
			b = append(b, "hypervisor"...)
		}
	case cd.level.Register && h.hier == HierGuest:
		b = appendHex(b, uint64(e)&cd.level.FrameMask)
	case h.hier == HierGuest && cd.level.Big(e):
		b = appendHex(b, uint64(cd.level.PageBase(e)))
	default:
		b = appendHex(b, uint64(e)&cd.level.FrameMask)
	}
	return b
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
			if a.Empty() || b.Empty() {
				continue
			}
			xl := min(gc.x, sc.x) - max(5, t.pad*2/3)
			ya, yb := a.Y+a.H/2, b.Y+b.H/2
			// The lines stop at the grids' edge, pointing at the rows:
			// running on to the cells would hide the entries before them
			// (the selected ones are outlined).
			c.l.Line(xl, ya, gc.gx-2, ya, w, col)
			if tr := c.sc.hier.shadowTitle; xl+w > tr.X && xl < tr.Right() && ya < tr.Y && yb > tr.Bottom() {
				// Break the line around the shadow band's title.
				c.l.Line(xl, ya, xl, tr.Y-2, w, col)
				c.l.Line(xl, tr.Bottom()+1, xl, yb, w, col)
			} else {
				c.l.Line(xl, ya, xl, yb, w, col)
			}
			c.l.Line(xl, yb, sc.gx-2, yb, w, col)
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
