package workload

import (
	"fmt"
	"slices"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

func init() {
	register(&spec{
		Info: Info{
			Name: "mapping-conflict",
			Summary: "a 32-bit kernel grows its page tables down from the top of the address space into the hypervisor's floating " +
				"mapping, which moves out of the way unseen; for a while the hypervisor fixes its mappings where the kernel leaves room",
			Params: []Param{
				boolParam("pae", false, "PAE paging (2 MiB per page-directory entry) instead of 32-bit paging (4 MiB)"),
				intParam("grow", 16, 3, 100, "page tables the kernel adds below the top of the address space"),
				intParam("pages", 4, 1, 64, "pages the kernel maps in each new page table"),
				intParam("touches", 24, 1, 1000, "memory accesses after each new page table"),
				intParam("hma", 8, 2, 64, "size of the hypervisor's mapping in MiB (the engine rounds it up to 4 MiB)"),
				intParam("spaces", 1, 1, 4, "address spaces (processes) sharing the kernel's page tables; with 32-bit paging each "+
					"has its own page directory, which gets the kernel's new entries on its first fault there"),
				intParam("ram", 16, 4, 192, "memory size in MiB"),
			},
		},
		build: newMappingConflict,
	})
}

// Virtual layout of the mapping-conflict kernel: RAM at 0xc0000000, its
// code at mcText, areas of kernel page tables growing down from the top
// of the 32-bit space, and a range it leaves free while the hypervisor
// has its mappings fixed there (later the kernel's module area). Each
// address space also has one user page.
const (
	mcTop     = 1 << 32
	mcFixVA   = 0xd0000000
	mcText    = 0xd8000000
	mcUser    = 0x08048000
	mcMapName = "hma"
	mapTop    = 0xffc00000 // the engine keeps the last 4 MiB free and places mappings below, from the top down
)

type mappingConflict struct {
	m                    *machine
	k                    *kernel
	unit                 uint64 // bytes one page-directory entry covers
	grow, pages, touches int
	nspaces              int
	hma                  uint64    // the mapping's size, rounded as the engine does
	spaces               []x86.GPA // top-level tables; spaces[0] is the kernel's own, with every kernel entry
	cur                  int
	addrs                []x86.GVA // kernel words written, in order
	vals                 map[x86.GVA]uint64
	pending              map[x86.GVA]bool // pages of the areas the kernel maps on their first fault
}

// withMappings is a live workload whose header declares hypervisor
// mappings: Header copies them too.
type withMappings struct{ *live }

func (w withMappings) Header() traces.Header {
	h := w.live.Header()
	h.Config.Mappings = slices.Clone(h.Config.Mappings)
	return h
}

func newMappingConflict(seed uint64, a args) (Workload, error) {
	m := newMachine(seed)
	ram := uint64(a.Int("ram")) << 20
	mode := "32bit"
	if a.Bool("pae") {
		mode = "pae"
	}
	const unit = 4 << 20 // the engine sizes mappings in 4 MiB steps
	c := &mappingConflict{m: m, k: newKernel(m, mode, false, ram, kfreeBase),
		grow: a.Int("grow"), pages: a.Int("pages"), touches: a.Int("touches"), nspaces: a.Int("spaces"),
		hma:  (uint64(a.Int("hma"))<<20 + unit - 1) &^ (unit - 1),
		vals: map[x86.GVA]uint64{}, pending: map[x86.GVA]bool{}}
	c.k.lay.text = mcText
	c.unit = uint64(1) << c.k.pg.f.Levels[c.k.pg.f.N-2].Shift
	// Tables and pages of every area and of the module area, the user
	// page and tables of each address space, with room to spare.
	need := (c.grow+1)*(c.pages+1) + 6*c.nspaces + 16
	if have := len(c.k.free); need > have {
		return nil, fmt.Errorf("%w: ram=%d MiB is too small for grow=%d and pages=%d (%d frames needed, %d free)",
			ErrParamValue, ram>>20, c.grow, c.pages, need, have)
	}
	h := newHeader("mapping-conflict", seed, a, pcRanges(ram))
	h.Config.Mappings = []engine.MappingSpec{{Name: mcMapName, Size: uint64(a.Int("hma")) << 20}}
	return withMappings{start("mapping-conflict", h, m, c.run)}, nil
}

func (c *mappingConflict) run() {
	m, k := c.m, c.k
	k.load()
	k.boot()
	m.label("the hypervisor's %d MiB mapping floats at %#x-%#x, just below the top 4 MiB of the 32-bit space, where the "+
		"kernel has nothing yet", c.hma>>20, uint64(mapTop-c.hma), uint64(mapTop-1))
	c.spaces = []x86.GPA{k.root}
	c.userPage(k.root)
	for i := 1; i < c.nspaces; i++ {
		m.label("process %d starts in an address space of its own, which shares the kernel's page-directory entries", i)
		c.spaces = append(c.spaces, c.newSpace())
		c.switchTo(i)
	}

	fixAt := c.grow / 3
	unfixAt := fixAt + max(1, c.grow/4)
	for i := range c.grow {
		switch i {
		case fixAt:
			m.label("the hypervisor fixes its mappings at %#x-%#x, a range the kernel promised to leave alone: they stay "+
				"there whatever the kernel does elsewhere, and the kernel does not touch them", uint64(mcFixVA), uint64(mcFixVA+c.hma-1))
			m.emit(engine.Event{Kind: engine.EvMappingsFix, Addr: mcFixVA, Value: c.hma})
		case unfixAt:
			m.label("the hypervisor lets its mappings float again, still at %#x", uint64(mcFixVA))
			m.emit(engine.Event{Kind: engine.EvMappingsUnfix})
			m.label("the kernel loads a module: its page tables go to %#x, where the mappings are, so they move away again",
				uint64(mcFixVA))
			c.growArea(mcFixVA)
			c.work()
		}
		c.growArea(x86.GVA(mcTop - uint64(i+1)*c.unit))
		c.work()
	}
	m.label("done: the kernel used %d page tables at the top of its address space; the hypervisor's mapping moved out of "+
		"its way each time, and the kernel never saw it", c.grow)
}

// newSpace builds the top-level table of a new address space: for 32-bit
// paging a page directory with a copy of the kernel's entries (later
// ones are copied when the kernel first faults on them); for PAE a PDPT
// whose last entry is the kernel's page directory, shared by every
// address space. Each space has a user page.
func (c *mappingConflict) newSpace() x86.GPA {
	k := c.k
	root := k.table()
	top := &k.pg.f.Levels[0]
	if top.Register {
		for i := range 3 {
			k.pg.set(root+x86.GPA(8*i), 8, uint64(k.table())|dirFlags(top, true))
		}
		k.pg.set(root+24, 8, c.m.ent[k.root+24])
	} else {
		for i := 768; i < 1024; i++ {
			if e := c.m.ent[k.root+x86.GPA(4*i)]; e != 0 {
				k.pg.set(root+x86.GPA(4*i), 4, e)
			}
		}
	}
	c.userPage(root)
	return root
}

// userPage maps the user page of the address space at root.
func (c *mappingConflict) userPage(root x86.GPA) {
	k := c.k
	k.pg.mapPage(root, mcUser, k.pg.leaf(), k.frame(), fRW|fUS, true)
}

// switchTo loads the top-level table of address space i (again, when
// it is the current one: a TLB flush).
func (c *mappingConflict) switchTo(i int) {
	if i == c.cur {
		c.m.label("the kernel reloads CR3 to flush the TLB")
	} else {
		c.m.label("switch to address space %d", i)
	}
	c.cur = i
	c.m.cr(engine.EvCR3, uint64(c.spaces[i]))
}

// growArea gives the kernel a page table for the area at va (one
// page-directory entry's worth), written into its own page directory,
// and uses some pages there, each mapped when it first faults.
func (c *mappingConflict) growArea(va x86.GVA) {
	m, k := c.m, c.k
	lv := &k.pg.f.Levels[k.pg.f.N-2]
	m.label("the kernel needs memory at %#x-%#x: it writes entry %d of its page directory and uses %d pages there",
		uint64(va), uint64(va)+c.unit-1, lv.Index(va), c.pages)
	a, _ := k.pg.entry(k.root, va, k.pg.f.N-2, true, false)
	k.pg.set(a, lv.EntrySize, uint64(k.table())|dirFlags(lv, false))
	slots := m.rnd.Perm(int(c.unit / page))[:c.pages]
	slices.Sort(slots)
	for _, s := range slots {
		c.pending[va+x86.GVA(s*page)] = true
	}
	for _, s := range slots {
		c.store(va + x86.GVA(s*page+8*m.rnd.IntN(page/8)))
	}
}

// store writes a new value at kernel address va.
func (c *mappingConflict) store(va x86.GVA) {
	v := c.m.value(8)
	c.kaccess(engine.Event{Kind: engine.EvWrite, Size: 8, Addr: uint64(va), Value: v})
	if _, ok := c.vals[va]; !ok {
		c.addrs = append(c.addrs, va)
	}
	c.vals[va] = v
}

// kaccess performs a kernel access to one of its areas, handling its
// page faults: in an address space that lacks the area's
// page-directory entry (32-bit paging) the kernel copies the entry from
// its own page directory, as Linux does on a vmalloc fault; a page not
// mapped yet gets a frame. Then the access is retried.
func (c *mappingConflict) kaccess(ev engine.Event) engine.Outcome {
	m := c.m
	for try := 0; ; try++ {
		o := m.emit(ev)
		if o.OK {
			if ev.Kind == engine.EvWrite {
				m.mark(o.GPA, ev.Size)
			}
			return o
		}
		va := x86.GVA(ev.Addr)
		switch {
		case try == 2 || o.Fault.Code&x86.PFPresent != 0:
		case c.syncPDE(va):
			continue
		case c.pending[x86.PageDown(va)]:
			m.label("page fault at %#x: the kernel maps a page there", uint64(va))
			delete(c.pending, x86.PageDown(va))
			c.k.mapPage(x86.PageDown(va), c.k.frame(), fRW)
			continue
		}
		m.fail("kernel %s %#x faulted (error code %#x)", ev.Op(), ev.Addr, uint32(o.Fault.Code))
	}
}

// syncPDE copies the kernel's page-directory entry for va into the
// current address space, if it lacks it.
func (c *mappingConflict) syncPDE(va x86.GVA) bool {
	k := c.k
	lv := &k.pg.f.Levels[0]
	if lv.Register || c.cur == 0 {
		return false
	}
	off := x86.GPA(lv.Index(va) * uint64(lv.EntrySize))
	e, dst := c.m.ent[k.root+off], c.spaces[c.cur]+off
	if e&fP == 0 || c.m.ent[dst]&fP != 0 {
		return false
	}
	c.m.label("page fault at %#x: address space %d lacks the kernel's entry %d, which the kernel copies in", uint64(va), c.cur, lv.Index(va))
	k.pg.set(dst, lv.EntrySize, e)
	return true
}

// work is the kernel and its processes at work: accesses to the areas
// (reads check what was written), to the user page, switches between
// address spaces.
func (c *mappingConflict) work() {
	m, k := c.m, c.k
	for range c.touches {
		switch r := m.rnd.IntN(100); {
		case r < 40:
			va := c.addrs[m.rnd.IntN(len(c.addrs))]
			if o := c.kaccess(engine.Event{Kind: engine.EvRead, Size: 8, Addr: uint64(va)}); o.Value != c.vals[va] {
				m.fail("kernel reads %#x at %#x, wrote %#x", o.Value, uint64(va), c.vals[va])
			}
		case r < 65:
			va := c.addrs[m.rnd.IntN(len(c.addrs))]
			if m.rnd.IntN(2) == 0 {
				va = x86.PageDown(va) + x86.GVA(8*m.rnd.IntN(page/8))
			}
			c.store(va)
		case r < 80:
			k.work()
		case r < 95:
			va := x86.GVA(mcUser + 8*m.rnd.IntN(page/8))
			v := m.value(8)
			m.setCPL(3)
			m.must(m.write(va, 8, v))
			if o := m.must(m.read(va, 8)); o.Value != v {
				m.fail("process reads %#x at %#x, wrote %#x", o.Value, uint64(va), v)
			}
			m.setCPL(0)
		default:
			c.switchTo(m.rnd.IntN(len(c.spaces)))
		}
	}
}
