package viz

import (
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The tables a hierarchy panel shows, as cards: the tables on the path
// of the selected address, and the first few other children of the
// tables shown, depth by depth. hierguest.go, hiershadow.go and
// hierinter.go gather them from the three kinds of hierarchy.

// Shadow entry flags kept beside the raw entries.
const (
	sfStale uint8 = 1 << iota
	sfTrackDirty
)

// mappingBit marks a shadow directory entry that maps a hypervisor
// mapping's page table (the engine's software bit AVL10).
const mappingBit = x86.AVL10

// card is one table shown.
type card struct {
	depth     int
	level     *x86.Level
	addr      uint64 // the table's address: GPA (guest), HPA (shadow, nested)
	n         int    // entries
	base      uint64 // first address covered by entry 0 (not sign-extended)
	ents      []uint64
	flags     []uint8 // shadow entry flags
	sel       int     // the selected entry (path cards), else -1
	path      bool    // on the selected address's path
	parent    int     // index of the parent card, -1 for the root
	parentIdx int     // entry of the parent that points here
	kind      engine.PoolKind
	present   int
	mmio      bool // guest table with no bytes behind it

	roles []Role // what each entry is (classify)

	// Placement (placeBand).
	x, y, w, h         int
	gx, gy, cols, rows int
	pitch, gap         int
	rowY               []int32 // offset of each grid row below gy; -1: folded
	gridH              int
	runs               int // run lines under the grid
}

// hierData is one hierarchy's gathered tables.
type hierData struct {
	hier     Hier
	format   *x86.Format
	cards    []card
	store    []uint64
	fstore   []uint8
	used     int
	rstore   []Role
	rowStore []int32
	// gatherTree's memory of the table it last met at each depth, and
	// that table's card (-1: not shown).
	lastTable [8]uint64
	curCard   [8]int
	recordIdx int                         // the card record writes to
	recordFn  func(engine.EntryView) bool // h.record, made once
}

func (h *hierData) reset(hier Hier, f *x86.Format) {
	h.hier, h.format = hier, f
	h.cards = h.cards[:0]
	h.used = 0
}

// addCard appends a card with room for its entries.
func (h *hierData) addCard(depth int, addr uint64, parent, parentIdx int, path bool, sel int) *card {
	lv := &h.format.Levels[depth]
	n := lv.Entries()
	if h.used+n > len(h.store) {
		// Grow: keep what earlier cards point at by copying into a new store.
		ns := make([]uint64, max(2*len(h.store), h.used+n, 8192))
		nf := make([]uint8, len(ns))
		copy(ns, h.store[:h.used])
		copy(nf, h.fstore[:h.used])
		off := 0
		for i := range h.cards {
			k := h.cards[i].n
			h.cards[i].ents, h.cards[i].flags = ns[off:off+k:off+k], nf[off:off+k:off+k]
			off += k
		}
		h.store, h.fstore = ns, nf
	}
	ents, fl := h.store[h.used:h.used+n:h.used+n], h.fstore[h.used:h.used+n:h.used+n]
	clear(ents)
	clear(fl)
	h.used += n
	base := uint64(0)
	if parent >= 0 {
		p := &h.cards[parent]
		base = p.base + uint64(parentIdx)<<p.level.Shift
	}
	h.cards = append(h.cards, card{depth: depth, level: lv, addr: addr, n: n, base: base, ents: ents, flags: fl,
		sel: sel, path: path, parent: parent, parentIdx: parentIdx})
	return &h.cards[len(h.cards)-1]
}

// entryVA is the address entry i of card cd covers, sign-extended in
// long-mode formats.
func (h *hierData) entryVA(cd *card, i int) uint64 {
	va := cd.base + uint64(i)<<cd.level.Shift
	f := h.format
	if f.Mode.Long() && va&(1<<(f.VABits-1)) != 0 {
		va |= ^uint64(0) << f.VABits
	}
	return va
}

// pathStep is one level of a selected path: the table and index.
type pathStep struct {
	table uint64
	index int
	ok    bool
}

// sortCards orders cards by depth, the path's first, keeping parent
// links right.
func (c *ctx) sortCards(h *hierData) {
	n := len(h.cards)
	order := c.sc.hierarchy.order[:0]
	for d := 0; d < h.format.N; d++ {
		for pass := 0; pass < 2; pass++ {
			for i := 0; i < n; i++ {
				cd := &h.cards[i]
				if cd.depth == d && cd.path == (pass == 0) {
					order = append(order, i)
				}
			}
		}
	}
	c.sc.hierarchy.order = order
	inv := c.sc.hierarchy.inv[:0]
	for range n {
		inv = append(inv, 0)
	}
	for newI, oldI := range order {
		inv[oldI] = newI
	}
	c.sc.hierarchy.inv = inv
	tmp := append(c.sc.hierarchy.tmp[:0], h.cards...)
	c.sc.hierarchy.tmp = tmp
	for newI, oldI := range order {
		h.cards[newI] = tmp[oldI]
		if p := h.cards[newI].parent; p >= 0 {
			h.cards[newI].parent = inv[p]
		}
	}
}

// countPresent sets each card's count of present entries, once its
// entries are read.
func (h *hierData) countPresent() {
	for i := range h.cards {
		cd := &h.cards[i]
		for _, e := range cd.ents {
			if x86.Entry(e).Present() {
				cd.present++
			}
		}
	}
}
