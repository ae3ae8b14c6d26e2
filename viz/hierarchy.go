package viz

import (
	"slices"

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
//
// This file lays the panel out in bands and columns. hierdata.go
// gathers the tables shown, hierroles.go classifies their entries,
// hiergrid.go places the cards, hierdraw.go draws them and hierruns.go
// writes the run lines.

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
	title := hierTitle(nested, withGuest, withInter)
	in := c.panel("hierarchy", "", r)
	t := c.t
	tw := c.textFit(in.X, in.Y, in.W, FaceBold, t.titleSize, ColText, title)
	va, hasVA := c.m.SelectedVA()
	if hasVA && in.W-tw > 30*t.small {
		c.b = appendHierHint(c.b[:0], e.Format().Linear(va), !nested && withGuest)
		w := measureBytes(FaceRegular, t.small, c.b)
		if w <= in.W-tw-2*t.pad {
			c.textB(in.Right()-w, in.Y+1, FaceRegular, t.small, ColDim)
		}
	}
	_, in = in.CutTop(LineHeight(FaceBold, t.titleSize), t.pad/2)

	hs := &c.sc.hierarchy
	gf, sf := e.Format(), e.ShadowFormat()
	inf := c.interFormat()
	var bandGF, bandIF *x86.Format
	if withGuest {
		bandGF = gf
	}
	if withInter {
		bandIF = inf
	}
	kinds := unionKinds(hs.kinds, bandGF, sf, bandIF)
	hs.kinds = kinds
	if len(kinds) == 0 {
		return
	}

	// Legend at the bottom, column headings at the top.
	legendRoles := hierLegend(nested, withInter)
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
		c.b = appendColumnHeading(c.b[:0], k, lv)
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
			c.b = appendGuestBandTitle(c.b[:0], e.Regs().CR3&gf.RootMask)
			c.textFitB(bt.X, bt.Y, bt.W, FaceBold, t.fs, ColText)
			c.gatherGuest(gd, va, hasVA, per[:])
		case HierShadow:
			key, hasKey := uint64(va), hasVA
			if nested {
				key, hasKey = c.nestedKey(va, hasVA)
			}
			c.gatherShadow(sd, key, hasKey, per[:])
			var root uint64
			if len(sd.cards) > 0 {
				root = sd.cards[0].addr
			}
			c.b = appendShadowBandTitle(c.b[:0], nested, len(sd.cards) > 0, root)
			tw := c.textFitB(bt.X, bt.Y, bt.W, FaceBold, t.fs, ColText)
			hs.shadowTitle = Rect{bt.X, bt.Y, tw, LineHeight(FaceBold, t.fs)}
			if len(sd.cards) == 0 {
				c.paragraph(area, FaceRegular, t.fs, ColDim, "No shadow root yet.")
			}
		case HierIntermediate:
			key := c.interKey(va, hasVA)
			c.gatherIntermediate(id, inf, key, per[:])
			_, hv := e.SwitcherAddr()
			c.b = appendInterBandTitle(c.b[:0], inf.Mode, e.IntermediateCR3(inf.Mode), hv)
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
		return &c.sc.hierarchy.guest
	case HierIntermediate:
		return &c.sc.hierarchy.inter
	}
	return &c.sc.hierarchy.shadow
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
