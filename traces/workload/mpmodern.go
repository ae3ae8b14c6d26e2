package workload

import (
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The modern features of the multiprocess kernel: a PCID per process
// (parameter pcid) and SMEP/SMAP (parameter smap).
//
// With PCIDs the TLB keeps every process's translations across
// switches, so the kernel must invalidate what it made stale itself:
// entries of the running process it changed (a CR3 load without bit 63
// after fork write-protects the parent, after exec replaces the tables;
// invlpg or invpcid type 0 for a single page), and everything a PCID
// cached for a process that has exited before the PCID is given to
// another (invpcid type 1). Linux keeps a few PCIDs per CPU and flushes
// one when it recycles it; this kernel gives each process its own and
// flushes on reuse, which is the same rule.

// givePCID gives p the lowest free PCID, invalidating what an earlier
// owner left in the TLB.
func (k *multiprocess) givePCID(p *proc) {
	if !k.pcids {
		return
	}
	for id := 1; id < len(k.pcidOwner); id++ {
		if k.pcidOwner[id] != nil {
			continue
		}
		k.pcidOwner[id], p.pcid = p, uint16(id)
		if k.pcidUsed[id] {
			k.m.label("process %d gets PCID %d, which an exited process used: the kernel invalidates its translations", p.pid, id)
			k.m.invpcid(1, uint16(id), 0)
			k.pcidUsed[id] = false
		}
		return
	}
	panic("workload multiprocess: out of PCIDs") // there is one per process slot and one more
}

// releasePCID frees p's PCID; its translations stay cached until reuse.
func (k *multiprocess) releasePCID(p *proc) {
	if k.pcids {
		k.pcidOwner[p.pcid] = nil
	}
}

// loadCR3 loads p's address space. keep (a plain switch) sets bit 63
// with PCIDs, so p's translations from its last time slice stay; without
// it the load drops p's non-global translations, as it must after the
// kernel changed p's present entries.
func (k *multiprocess) loadCR3(p *proc, keep bool) {
	v := uint64(p.root)
	if k.pcids {
		v |= uint64(p.pcid)
		if keep {
			v |= x86.CR3NoFlush
		}
		k.pcidUsed[p.pcid] = true
	}
	k.m.cr(engine.EvCR3, v)
}

// invalidate drops the translation of one page of the running process p
// after the kernel changed its entry: invlpg, or with PCIDs the INVPCID
// that names the PCID (type 0), as a kernel flushing another context's
// page would.
func (k *multiprocess) invalidate(p *proc, va x86.GVA) {
	if k.pcids {
		k.m.invpcid(0, p.pcid, va)
		return
	}
	k.m.invlpg(va)
}

// smapViolation is a buggy read system call that copies from user
// memory without stac: SMAP stops the supervisor read of a present user
// page, and the kernel's exception table turns the fault into EFAULT.
func (k *multiprocess) smapViolation(p *proc) {
	m := k.m
	va := p.recent[0] + x86.GVA(8*m.rnd.IntN(page/8))
	m.label("a driver's system call forgets stac: SMAP stops its read of process %d's memory at %#x", p.pid, uint64(va))
	m.setCPL(0)
	m.setAC(0)
	o := m.read(va, 8)
	if o.OK || o.Fault.Code != x86.PFPresent {
		m.fail("supervisor read of the present user page %#x with SMAP and AC=0: ok=%v error code %#x, want %#x",
			uint64(va), o.OK, uint32(o.Fault.Code), uint32(x86.PFPresent))
	}
	m.label("the kernel's exception table catches the fault: the system call returns EFAULT")
	k.kernelTouch(p.pid)
}

// smepViolation is an exploit of a kernel bug that makes the kernel
// jump to user code: SMEP stops the supervisor fetch, and the kernel
// kills the process that made the call.
func (k *multiprocess) smepViolation(p *proc) {
	m := k.m
	va := p.recent[0] + x86.GVA(m.rnd.IntN(page)&^0xf)
	m.label("process %d exploits a kernel bug: the kernel jumps to user code at %#x, and SMEP stops the fetch", p.pid, uint64(va))
	k.kernelTouch(p.pid)
	o := m.exec(va)
	if want := x86.PFPresent | x86.PFFetch; o.OK || o.Fault.Code != want {
		m.fail("supervisor fetch from the present user page %#x with SMEP: ok=%v error code %#x, want %#x",
			uint64(va), o.OK, uint32(o.Fault.Code), uint32(want))
	}
	k.exit(p, "the kernel oopses and kills the process")
}
