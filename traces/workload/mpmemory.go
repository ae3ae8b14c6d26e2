package workload

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The memory management of the multiprocess kernel: page faults,
// copy-on-write, fork, exec, exit and brk.

// access performs ev (a user access, or a kernel access to user memory)
// until it succeeds, the kernel resolving each page fault. It reports
// false when the fault killed the process.
func (k *multiprocess) access(p *proc, ev engine.Event) bool {
	m := k.m
	cpl, ac := m.cpl, m.ac
	for try := 0; ; try++ {
		o := m.emit(ev)
		if o.OK {
			if ev.Kind == engine.EvWrite {
				m.mark(o.GPA, ev.Size)
			}
			return true
		}
		if try == 3 {
			m.fail("%s %#x still faults (error code %#x) after the kernel resolved it", ev.Op(), ev.Addr, uint32(o.Fault.Code))
		}
		if !k.pageFault(p, x86.GVA(ev.Addr), o.Fault.Code) {
			return false
		}
		m.setCPL(cpl) // iret restores the privilege level and RFLAGS.AC
		m.setAC(ac)
	}
}

// pageFault is the kernel's #PF handler. It maps missing pages of valid
// regions (the program from the page cache, anonymous memory zeroed),
// copies shared pages on write, and kills a process that touches memory
// it does not have. It reports whether the access should be retried.
func (k *multiprocess) pageFault(p *proc, va x86.GVA, code x86.ErrorCode) bool {
	m := k.m
	m.setAC(0) // the entry code's clac, as Linux's
	k.kernelTouch(p.pid)
	v, ok := k.vmaOf(p, va)
	switch {
	case (!ok || code&x86.PFFetch != 0 && v.kind != vmaCode) && p.pid == 1:
		m.fail("init faults at %#x (error code %#x) outside its memory", uint64(va), uint32(code))
	case !ok || code&x86.PFFetch != 0 && v.kind != vmaCode:
		k.exit(p, fmt.Sprintf("process %d: segmentation fault at %#x: the kernel kills it", p.pid, uint64(va)))
		return false
	case code&x86.PFPresent == 0:
		var f x86.GPA
		flags := fUS
		if v.kind == vmaCode {
			f = k.image[(va-codeVA)/page]
		} else {
			f = k.frame()
			m.zero(f)
			flags |= fRW
			if k.nx {
				flags |= fNX
			}
		}
		k.refs[f/page]++
		k.pg.mapPage(p.root, x86.PageDown(va), k.pg.leaf(), f, flags, true)
	case code&x86.PFWrite != 0 && v.kind != vmaCode:
		k.copyOnWrite(p, x86.PageDown(va))
	default:
		m.fail("page fault %#x at %#x in a mapped %v region", uint32(code), uint64(va), v.kind)
	}
	return true
}

// copyOnWrite gives p its own writable copy of the shared page at va, or
// makes the page writable again when p is its last user.
func (k *multiprocess) copyOnWrite(p *proc, va x86.GVA) {
	a, ok := k.pg.entry(p.root, va, k.pg.leaf(), false, true)
	e := k.m.ent[a]
	if !ok || e&fP == 0 {
		k.m.fail("copy-on-write fault at %#x without a mapping", uint64(va))
	}
	f := k.pg.frame(e)
	if k.refs[f/page] > 1 {
		nf := k.frame()
		k.m.copyFrame(nf, f)
		k.unref(f)
		k.refs[nf/page]++
		f = nf
	}
	// As Linux does, the new entry is writable, accessed and dirty.
	k.pg.set(a, k.pg.f.Levels[k.pg.leaf()].EntrySize, uint64(f)|e&(fUS|fNX)|fP|fRW|fA|fD)
	k.m.invlpg(va)
}

// fork creates a child of p sharing its memory copy-on-write: p's
// writable pages become read-only in both, so p's TLB is flushed (a CR3
// reload) once its entries changed.
func (k *multiprocess) fork(p *proc) {
	m := k.m
	c := &proc{pid: k.nextPID, heapPages: p.heapPages, recent: append([]x86.GVA(nil), p.recent...),
		execNext: m.rnd.IntN(2) == 0, wildChance: 3000}
	k.nextPID++
	m.label("process %d forks process %d", p.pid, c.pid)
	k.kernelTouch(p.pid)
	c.root = k.newRoot()
	if k.copyLevel(0, p.root, c.root) {
		k.loadCR3(p, false)
	}
	k.givePCID(c)
	k.procs = append(k.procs, c)
}

// copyLevel copies the user part of the table at src (level l) to dst,
// recursively. It reports whether it changed a present entry of src.
func (k *multiprocess) copyLevel(l int, src, dst x86.GPA) bool {
	m, lv := k.m, &k.pg.f.Levels[l]
	n := lv.Entries()
	if l == 0 {
		n = k.kernelTop
	}
	changed := false
	for i := range n {
		off := x86.GPA(i * int(lv.EntrySize))
		e := m.ent[src+off]
		if e&fP == 0 {
			continue
		}
		if l < k.pg.leaf() {
			var t x86.GPA
			if lv.Register {
				t = x86.GPA(m.ent[dst+off]) & 0xfffff000 // preallocated
			} else {
				t = k.table()
				k.pg.set(dst+off, lv.EntrySize, uint64(t)|dirFlags(lv, true))
			}
			changed = k.copyLevel(l+1, lv.Table(x86.Entry(e)), t) || changed
			continue
		}
		if e&fRW != 0 {
			// Write-protect the parent's entry, keeping the bits the
			// processor set (read first, as an atomic update would).
			cur := m.peek(src+off, lv.EntrySize) &^ fRW
			k.pg.set(src+off, lv.EntrySize, cur)
			e, changed = cur, true
		}
		k.pg.set(dst+off, lv.EntrySize, e&^fA)
		k.refs[k.pg.frame(e)/page]++
	}
	return changed
}

// exec replaces p's address space with a fresh one for a new program.
func (k *multiprocess) exec(p *proc) {
	m := k.m
	m.label("process %d runs a new program (exec)", p.pid)
	k.kernelTouch(p.pid)
	old := p.root
	p.root = k.newRoot()
	k.loadCR3(p, false) // the PCID's translations were of the old program
	k.freeLevel(0, old)
	p.heapPages = 1 + m.rnd.IntN(max(1, k.heapMax/2))
	p.recent = p.recent[:0]
}

// exit ends p: the kernel switches to another process, then frees p's
// tables and drops its pages.
func (k *multiprocess) exit(p *proc, why string) {
	k.m.label("%s", why)
	k.kernelTouch(p.pid)
	next := k.after(p)
	for i, q := range k.procs {
		if q == p {
			k.procs = append(k.procs[:i], k.procs[i+1:]...)
			break
		}
	}
	k.switchTo(next)
	k.freeLevel(0, p.root)
	k.releasePCID(p)
}

// freeLevel frees the user part of the table at t (level l) and every
// table and page under it, then t itself.
func (k *multiprocess) freeLevel(l int, t x86.GPA) {
	lv := &k.pg.f.Levels[l]
	n := lv.Entries()
	if l == 0 {
		n = k.kernelTop
	}
	for i := range n {
		e := k.m.ent[t+x86.GPA(i*int(lv.EntrySize))]
		switch {
		case e&fP == 0:
		case l < k.pg.leaf():
			k.freeLevel(l+1, lv.Table(x86.Entry(e)))
		default:
			k.unref(k.pg.frame(e))
		}
	}
	k.free = append(k.free, t)
}

// brk grows p's heap, or shrinks it: the pages given back are unmapped,
// each invalidated with invlpg, and their frames dropped.
func (k *multiprocess) brk(p *proc) {
	m := k.m
	n := 1 + m.rnd.IntN(8)
	if m.rnd.IntN(2) == 0 || p.heapPages == 1 {
		p.heapPages = min(k.heapMax, p.heapPages+n)
		return
	}
	n = min(n, p.heapPages-1)
	m.label("process %d gives %d heap pages back", p.pid, n)
	k.kernelTouch(p.pid)
	end := heapVA + x86.GVA(p.heapPages*page)
	p.heapPages -= n
	for va := end - x86.GVA(n*page); va < end; va += page {
		a, ok := k.pg.entry(p.root, va, k.pg.leaf(), false, true)
		if e := m.ent[a]; ok && e&fP != 0 {
			k.pg.set(a, k.pg.f.Levels[k.pg.leaf()].EntrySize, 0)
			k.invalidate(p, va)
			k.unref(k.pg.frame(e))
		}
	}
	recent := p.recent[:0]
	for _, va := range p.recent {
		if va < heapVA+x86.GVA(p.heapPages*page) || va >= end {
			recent = append(recent, va)
		}
	}
	p.recent = recent
}

// sysRead is a read system call: the kernel copies data into a buffer of
// p's, in supervisor mode; with CR0.WP set, a shared page still faults
// and is copied first.
func (k *multiprocess) sysRead(p *proc) {
	m := k.m
	k.kernelTouch(p.pid)
	if k.smap && len(p.recent) > 0 && m.rnd.IntN(8) == 0 {
		k.smapViolation(p)
		return
	}
	v := k.vmas(p)[1+m.rnd.IntN(2)]
	buf := v.start + x86.GVA(m.rnd.Uint64N(uint64(v.end-v.start)/page)*page)
	if k.smap {
		m.setAC(1) // stac: the copy to user memory may touch user pages
		defer m.setAC(0)
	}
	for i := range 4 {
		va := buf + x86.GVA(8*i)
		if !k.access(p, engine.Event{Kind: engine.EvWrite, Size: 8, Addr: uint64(va), Value: m.value(8)}) {
			return
		}
	}
}
