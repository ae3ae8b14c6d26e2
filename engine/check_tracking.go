package engine

import (
	"cmp"
	"slices"

	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The full check's part for tracking: which shadow page tables map each
// guest page, against the pages' tracking words.

// trackRef is one present PTE's reference to a guest page.
type trackRef struct {
	gpa x86.GPA
	pg  uint16
}

// tracking recounts which page tables map each guest page and compares
// with every page's tracking word. References are sorted rather than put
// in maps: a full shadow holds tens of thousands of them.
func (c *checker) tracking() {
	s := c.s
	p := &s.pool
	refs := make([]trackRef, 0, p.present)
	for i := 1; i < len(p.pages); i++ {
		pg := &p.pages[i]
		if !pg.inUse || pg.kind.Level() != x86.LevelPT {
			continue
		}
		for j := pg.firstPresent; j < len(pg.ents); j++ {
			if pg.ents[j]&x86.Entry(x86.P) != 0 {
				refs = append(refs, trackRef{pg.gpas[j], pg.idx})
			}
		}
	}
	slices.SortFunc(refs, func(a, b trackRef) int {
		return cmp.Or(cmp.Compare(a.gpa, b.gpa), cmp.Compare(a.pg, b.pg))
	})
	for i := 0; i < len(refs); {
		j := i
		for j < len(refs) && refs[j].gpa == refs[i].gpa {
			j++
		}
		c.trackingOf(refs[i].gpa, refs[i:j])
		i = j
	}
	// Tracking words that name tables where no PTE maps the page.
	for _, r := range s.mem.Ranges() {
		for k := range r.Pages {
			if r.Pages[k].Tracking() == 0 {
				continue
			}
			gpa := r.GPA(k)
			if _, found := slices.BinarySearchFunc(refs, gpa, func(a trackRef, g x86.GPA) int { return cmp.Compare(a.gpa, g) }); !found {
				c.trackingOf(gpa, nil)
			}
		}
	}
}

// trackingOf compares the tracking word of guest page gpa with refs, the
// PTEs that map it, sorted by pool page.
func (c *checker) trackingOf(gpa x86.GPA, refs []trackRef) {
	s := c.s
	page, _, ok := s.mem.Lookup(gpa)
	if !ok {
		if len(refs) > 0 {
			c.errf("%d PTEs map %v, which is in no guest range", len(refs), gpa)
		}
		return
	}
	t := page.Tracking()
	rc, idx := phys.TrackRefs(t), phys.TrackIndex(t)
	want := make([]uint16, len(refs))
	for i, r := range refs {
		want[i] = r.pg
	}
	switch {
	case t == 0 && len(refs) != 0:
		c.errf("tracking of %v is empty but %d PTEs map it", gpa, len(refs))
	case rc == 1 && (len(refs) != 1 || refs[0].pg != idx):
		c.errf("tracking of %v names page table %d alone, but the mappings are in pages %v", gpa, idx, want)
	case rc == phys.TrackRefsPhysExt && idx != phys.TrackIdxOverflowed:
		got := c.extents(idx)
		if !slices.Equal(got, want) {
			c.errf("tracking extents of %v hold pages %v, the mappings are in pages %v", gpa, got, want)
		}
	}
}

// extents lists the pool pages of an extent chain, sorted.
func (c *checker) extents(idx uint16) []uint16 {
	p := &c.s.pool
	var got []uint16
	n := 0
	for e := idx; e != nilIdx && n <= maxExtChain; e, n = p.exts[e].next, n+1 {
		for _, k := range p.exts[e].idx {
			if k != nilIdx {
				got = append(got, k)
			}
		}
	}
	slices.Sort(got)
	return got
}
