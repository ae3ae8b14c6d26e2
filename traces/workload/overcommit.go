package workload

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

func init() {
	register(&spec{
		Info: Info{
			Name: "overcommit",
			Summary: "a kernel reads memory it never wrote (zero pages), fills pages with identical contents that the hypervisor " +
				"merges and the kernel later writes (copy on write), and runs a balloon driver that hands free pages to the host",
			Params: []Param{
				modeParam("long"),
				intParam("zero", 256, 1, 4096, "never-written pages the kernel maps on first use and reads"),
				intParam("share", 64, 4, 2048, "pages the kernel fills with one of two contents, for the hypervisor to merge; "+
					"it writes to a quarter of them afterwards"),
				intParam("balloon", 48, 2, 4096, "free pages the balloon driver hands to the host; it takes half of them back"),
				intParam("ram", 32, 4, 512, "memory size in MiB"),
			},
		},
		build: newOvercommit,
	})
}

// How many pages each phase of overcommit works on, beside the
// parameters: the shared pages written afterwards, the ballooned pages
// given back, and the pages the kernel uses while the balloon is
// inflated (zeroed and freed at the end).
func cowPages(share int) int       { return share / 4 }
func deflatePages(balloon int) int { return balloon / 2 }
func workPages(balloon int) int    { return min(16, max(2, balloon/2)) }

const ocPattern = 8 // words of each shared content

type overcommit struct {
	m                    *machine
	k                    *kernel
	nzero, nshare, nball int
	vals                 map[x86.GPA]uint64 // words the kernel wrote to the pages it shares, balloons and works in
}

func newOvercommit(seed uint64, a args) (Workload, error) {
	m := newMachine(seed)
	ram := uint64(a.Int("ram")) << 20
	o := &overcommit{m: m, k: newKernel(m, a.String("mode"), true, ram, kfreeBase), nzero: a.Int("zero"),
		nshare: a.Int("share"), nball: a.Int("balloon"), vals: map[x86.GPA]uint64{}}
	need := o.nzero + o.nzero/512 + o.nshare + o.nball + workPages(o.nball) + 64
	if have := len(o.k.free); need > have {
		return nil, fmt.Errorf("%w: ram=%d MiB is too small for zero=%d, share=%d and balloon=%d (%d frames needed, %d free)",
			ErrParamValue, ram>>20, o.nzero, o.nshare, o.nball, need, have)
	}
	h := newHeader("overcommit", seed, a, pcRanges(ram))
	return start("overcommit", h, m, o.run), nil
}

func (o *overcommit) run() {
	m, k := o.m, o.k
	k.load()
	k.boot()
	o.zeroPages()
	pages := o.share()
	o.copyOnWrite(pages)
	for _, f := range pages {
		k.release(f)
	}
	ballooned := o.inflate()
	work := o.work()
	o.deflate(ballooned)

	m.label("reclaim: the kernel frees its %d work pages, zeroing them first; the hypervisor's next sharing scan gives "+
		"them back to the zero page", len(work))
	for _, f := range work {
		o.forget(f)
		m.zero(f)
		k.release(f)
	}
	m.emit(engine.Event{Kind: engine.EvShare})
	m.label("done: %d pages are still in the balloon", o.nball-deflatePages(o.nball))
}

// store writes v at physical address pa through the direct map.
func (o *overcommit) store(pa x86.GPA, v uint64) {
	o.m.must(o.m.write(o.k.direct(pa), 8, v))
	o.vals[pa] = v
}

// check reads pa through the direct map: it holds what the kernel last
// wrote there, or zero.
func (o *overcommit) check(pa x86.GPA) {
	if got := o.m.must(o.m.read(o.k.direct(pa), 8)).Value; got != o.vals[pa] {
		o.m.fail("%#x reads %#x, the kernel wrote %#x", uint64(pa), got, o.vals[pa])
	}
}

// forget drops what the model knows of frame f's contents, for a page
// the balloon takes (it reads zeros afterwards) or the kernel zeroes.
func (o *overcommit) forget(f x86.GPA) {
	for _, off := range o.m.dirtyWords(f) {
		delete(o.vals, f+x86.GPA(off))
	}
}

// word is a random word of frame f.
func (o *overcommit) word(f x86.GPA) x86.GPA { return f + x86.GPA(8*o.m.rnd.IntN(page/8)) }

// zeroPages maps never-written pages on first use and reads them: they
// read zero and stay backed by the zero page. The kernel also reads free
// memory through its direct map.
func (o *overcommit) zeroPages() {
	m, k := o.m, o.k
	m.label("zero pages: the kernel reads %d pages it never wrote, mapped at %#x on the first access (a page fault); "+
		"they read zero, and none needs memory of its own", o.nzero, uint64(k.lay.vmalloc))
	for i := range o.nzero {
		va := k.lay.vmalloc + x86.GVA(i*page+8*m.rnd.IntN(page/8))
		r := m.read(va, 8)
		if !r.OK {
			if r.Fault.Code&x86.PFPresent != 0 {
				m.fail("read at %#x: protection fault %#x", uint64(va), uint32(r.Fault.Code))
			}
			f := k.frame()
			m.zero(f)
			k.mapPage(x86.PageDown(va), f, fRW|k.noExec())
			r = m.must(m.read(va, 8))
		}
		if r.Value != 0 {
			m.fail("never-written page at %#x reads %#x", uint64(va), r.Value)
		}
		if m.rnd.IntN(4) == 0 {
			if v := m.must(m.read(x86.PageDown(va)+x86.GVA(8*m.rnd.IntN(page/8)), 8)).Value; v != 0 {
				m.fail("never-written page at %#x reads %#x", uint64(va), v)
			}
		}
	}
	m.label("zero pages: the kernel's memory test reads free memory through the direct map")
	for range max(1, o.nzero/8) {
		f := k.free[m.rnd.IntN(len(k.free))]
		if m.dirty[f] == nil {
			o.check(o.word(f))
		}
	}
}

// share fills pages with one of two contents (the same library page in
// many page-cache pages), has the hypervisor merge them, and reads them.
func (o *overcommit) share() []x86.GPA {
	m, k := o.m, o.k
	var pat [2][ocPattern]struct {
		off x86.GPA
		v   uint64
	}
	for g := range pat {
		for i, w := range m.rnd.Perm(page / 8)[:ocPattern] {
			pat[g][i].off, pat[g][i].v = x86.GPA(8*w), m.value(8)
		}
	}
	m.label("sharing: the kernel loads the same two library pages into %d page-cache pages (%d and %d copies)",
		o.nshare, (o.nshare+1)/2, o.nshare/2)
	pages := make([]x86.GPA, o.nshare)
	for i := range pages {
		pages[i] = k.frame()
		for _, w := range pat[i%2] {
			o.store(pages[i]+w.off, w.v)
		}
	}
	m.label("sharing: the hypervisor's sharing scan finds the %d identical pages and backs them with two shared frames, "+
		"read-only", o.nshare)
	m.emit(engine.Event{Kind: engine.EvShare})
	m.label("sharing: the kernel reads its copies: reads do not unshare")
	for _, f := range pages {
		o.check(f + pat[m.rnd.IntN(2)][m.rnd.IntN(ocPattern)].off)
	}
	k.work()
	return pages
}

// copyOnWrite writes to a quarter of the shared pages: each write gives
// the page a private copy, which keeps the rest of the contents.
func (o *overcommit) copyOnWrite(pages []x86.GPA) {
	m := o.m
	n := cowPages(o.nshare)
	m.label("copy on write: the kernel writes to %d of the shared pages; each gets a copy of its own, the others stay shared", n)
	for _, i := range m.rnd.Perm(len(pages))[:n] {
		f := pages[i]
		o.store(o.word(f), m.value(8))
		o.check(o.word(f))
		for _, off := range m.dirtyWords(f)[:2] {
			o.check(f + x86.GPA(off))
		}
	}
	o.k.work()
}

// inflate has the balloon driver take free pages and hand them to the
// host. The kernel will not touch them until it gets them back.
func (o *overcommit) inflate() []x86.GPA {
	m, k := o.m, o.k
	m.label("ballooning: the kernel dropped its page cache; the balloon driver takes %d free pages and hands them to the "+
		"host, which frees their memory", o.nball)
	pages := make([]x86.GPA, o.nball)
	for i := range pages {
		f := k.frame()
		m.emit(engine.Event{Kind: engine.EvBalloon, Addr: uint64(f)})
		o.forget(f)
		delete(m.dirty, f)
		pages[i] = f
	}
	return pages
}

// work is the kernel using memory while the balloon is inflated: new
// pages from its free list, never one in the balloon.
func (o *overcommit) work() []x86.GPA {
	m, k := o.m, o.k
	pages := make([]x86.GPA, workPages(o.nball))
	m.label("working: the kernel allocates %d pages and uses them; the pages in the balloon stay untouched", len(pages))
	for i := range pages {
		pages[i] = k.frame()
		for range 3 {
			o.store(o.word(pages[i]), m.value(8))
		}
		o.check(o.word(pages[i]))
		k.work()
	}
	m.label("the kernel reloads CR3")
	m.cr(engine.EvCR3, uint64(k.root))
	for _, f := range pages {
		o.check(o.word(f))
	}
	return pages
}

// deflate has the balloon give half of its pages back; the kernel uses
// them again: they read zero until written.
func (o *overcommit) deflate(ballooned []x86.GPA) {
	m, k := o.m, o.k
	n := deflatePages(o.nball)
	m.label("deflating: the balloon gives %d pages back to the kernel, which uses them again: they read zero until written", n)
	for _, f := range ballooned[:n] {
		m.emit(engine.Event{Kind: engine.EvDeflate, Addr: uint64(f)})
		k.release(f)
	}
	for range n {
		f := k.frame()
		o.check(o.word(f))
		o.store(o.word(f), m.value(8))
		o.check(o.word(f))
	}
	k.work()
}
