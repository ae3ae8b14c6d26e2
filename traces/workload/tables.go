package workload

import (
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Entry flags as raw bits, for building entries.
const (
	fP   = uint64(x86.P)
	fRW  = uint64(x86.RW)
	fUS  = uint64(x86.US)
	fA   = uint64(x86.A)
	fD   = uint64(x86.D)
	fPS  = uint64(x86.PS)
	fG   = uint64(x86.G)
	fNX  = uint64(x86.NX)
	page = 1 << 12 // x86.PageSize, untyped
)

// pager edits page tables of one paging format (not necessarily the
// current one: a kernel builds the next mode's tables before switching)
// in the model's view of memory. Its writes go through machine.poke.
type pager struct {
	m *machine
	f *x86.Format
	// alloc returns a zeroed page for a new table.
	alloc func() x86.GPA
}

// dirFlags are the flags of a directory entry pointing at a table: as
// Linux does, accessed is set from the start (the processor would set it
// on the first walk anyway). Legacy PAE PDPTEs have only P.
func dirFlags(lv *x86.Level, user bool) uint64 {
	if lv.Register {
		return fP
	}
	if user {
		return fP | fRW | fUS | fA
	}
	return fP | fRW | fA
}

// slot is the address of the entry for va at level l in the table at
// base t.
func slot(lv *x86.Level, t x86.GPA, va x86.GVA) x86.GPA {
	return t + x86.GPA(lv.Index(va)*uint64(lv.EntrySize))
}

// entry walks the tables under root towards va and returns the address
// of va's entry at level l (an index into f.Levels). A missing table on
// the way is allocated and linked when create is set (user says whether
// user mode may go through it); otherwise entry reports false, as it
// does when a big page maps va above level l.
func (p *pager) entry(root x86.GPA, va x86.GVA, l int, create, user bool) (x86.GPA, bool) {
	t := root
	for i := 0; i < l; i++ {
		lv := &p.f.Levels[i]
		a := slot(lv, t, va)
		e := p.m.ent[a]
		switch {
		case e&fP == 0 && !create:
			return 0, false
		case e&fP == 0:
			e = uint64(p.alloc()) | dirFlags(lv, user)
			p.set(a, lv.EntrySize, e)
		case lv.Big(x86.Entry(e)):
			return 0, false
		}
		t = lv.Table(x86.Entry(e))
	}
	return slot(&p.f.Levels[l], t, va), true
}

// set writes entry a (size bytes) and remembers it.
func (p *pager) set(a x86.GPA, size uint8, v uint64) {
	p.m.poke(a, size, v)
	if v == 0 {
		delete(p.m.ent, a)
	} else {
		p.m.ent[a] = v
	}
}

// mapPage maps the page of level l holding va to pa with flags (P is
// added, and PS above the last level), creating tables as needed. It
// returns the entry's address.
func (p *pager) mapPage(root x86.GPA, va x86.GVA, l int, pa x86.GPA, flags uint64, user bool) x86.GPA {
	a, ok := p.entry(root, va, l, true, user)
	if !ok {
		panic("workload: mapPage under a big page")
	}
	v := uint64(pa) | flags | fP
	if l < p.f.N-1 {
		v |= fPS
	}
	p.set(a, p.f.Levels[l].EntrySize, v)
	return a
}

// leaf is the index of the 4 KiB level.
func (p *pager) leaf() int { return p.f.N - 1 }

// frame is the physical page a 4 KiB leaf entry maps.
func (p *pager) frame(e uint64) x86.GPA {
	return x86.GPA(e & p.f.Levels[p.f.N-1].FrameMask)
}
