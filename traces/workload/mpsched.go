package workload

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The scheduler of the multiprocess kernel: time slices, context
// switches, and what a process does with its memory.

// vmas are p's regions: code, heap and stack.
func (k *multiprocess) vmas(p *proc) [3]vma {
	return [3]vma{
		{codeVA, codeVA + codePages*page, vmaCode},
		{heapVA, heapVA + x86.GVA(p.heapPages*page), vmaHeap},
		{k.stackTop - stackPages*page, k.stackTop, vmaStack},
	}
}

// vmaOf is the region of p holding va, if any.
func (k *multiprocess) vmaOf(p *proc, va x86.GVA) (vma, bool) {
	for _, v := range k.vmas(p) {
		if va >= v.start && va < v.end {
			return v, true
		}
	}
	return vma{}, false
}

func (k vmaKind) String() string {
	switch k {
	case vmaCode:
		return "code"
	case vmaHeap:
		return "heap"
	}
	return "stack"
}

// switchTo makes q the running process: the kernel saves the old one,
// and loads q's address space. Global kernel translations survive the
// CR3 load.
func (k *multiprocess) switchTo(q *proc) {
	if q == k.cur {
		return
	}
	k.m.label("switch to process %d", q.pid)
	k.kernelTouch(q.pid)
	k.loadCR3(q, true)
	k.cur = q
}

// slice runs the current process for a time slice, then lets the kernel
// act (fork, exit, brk, a system call) and schedules the next process.
func (k *multiprocess) slice() {
	m, p := k.m, k.cur
	if p.execNext {
		p.execNext = false
		k.exec(p)
	}
	for i := 0; i < k.quantum && k.cur == p; i++ {
		k.userAccess(p)
	}
	if k.cur != p {
		return // it was killed
	}
	switch r := m.rnd.IntN(100); {
	case r < 30 && len(k.procs) < k.maxProcs:
		k.fork(p)
	case r >= 30 && r < 36 && p.pid != 1:
		k.exit(p, fmt.Sprintf("process %d exits", p.pid))
		return
	case r >= 36 && r < 48:
		k.brk(p)
	case r >= 48 && r < 60:
		k.sysRead(p)
	case r >= 60 && r < 62 && k.smap && p.pid != 1 && len(p.recent) > 0:
		k.smepViolation(p)
		return
	}
	k.switchTo(k.after(p))
}

// after is the process scheduled after p (round robin).
func (k *multiprocess) after(p *proc) *proc {
	for i, q := range k.procs {
		if q == p {
			return k.procs[(i+1)%len(k.procs)]
		}
	}
	return k.procs[0]
}

// pick chooses the page a process touches next: mostly one of its
// recent pages, else any page of its regions.
func (k *multiprocess) pick(p *proc) x86.GVA {
	m := k.m
	var va x86.GVA
	if len(p.recent) > 0 && m.rnd.IntN(100) < k.locality {
		va = p.recent[m.rnd.IntN(len(p.recent))]
	} else {
		vs := k.vmas(p)
		var v vma
		switch r := m.rnd.IntN(10); {
		case r < 3:
			v = vs[0]
		case r < 8:
			v = vs[1]
		default:
			v = vs[2]
		}
		va = v.start + x86.GVA(m.rnd.Uint64N(uint64(v.end-v.start)/page)*page)
	}
	k.touched(p, va)
	return va
}

// touched moves va to the front of p's recent pages.
func (k *multiprocess) touched(p *proc, va x86.GVA) {
	for i, r := range p.recent {
		if r == va {
			copy(p.recent[1:i+1], p.recent[:i])
			p.recent[0] = va
			return
		}
	}
	if len(p.recent) < hotPages {
		p.recent = append(p.recent, 0)
	}
	copy(p.recent[1:], p.recent)
	p.recent[0] = va
}

// userAccess is one memory access of process p in user mode, with the
// kernel handling its page faults.
func (k *multiprocess) userAccess(p *proc) {
	m := k.m
	var ev engine.Event
	if p.wildChance > 0 && m.rnd.IntN(p.wildChance) == 0 {
		// A stray pointer: nothing is mapped near address 0.
		ev = engine.Event{Kind: engine.EvRead, Size: 8, Addr: 8 * m.rnd.Uint64N(0x200)}
	} else {
		va := k.pick(p)
		v, _ := k.vmaOf(p, va)
		size := m.size()
		va += x86.GVA(m.rnd.Uint64N(page/uint64(size)) * uint64(size))
		switch r := m.rnd.IntN(100); {
		case v.kind == vmaCode && r < 80:
			ev = engine.Event{Kind: engine.EvExec, Addr: uint64(va)}
		case v.kind == vmaCode || r < 55:
			ev = engine.Event{Kind: engine.EvRead, Size: size, Addr: uint64(va)}
		default:
			ev = engine.Event{Kind: engine.EvWrite, Size: size, Addr: uint64(va), Value: m.value(size)}
		}
	}
	m.setCPL(3)
	k.access(p, ev)
}
