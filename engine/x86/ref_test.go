package x86_test

import (
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// refResult is what the reference walker concludes.
type refResult struct {
	ok     bool
	gpa    uint64
	shift  uint
	kind   x86.FaultKind
	level  int // step index where the walk stopped
	code   x86.ErrorCode
	rights x86.Rights // effective, on success
	n      int        // levels visited
}

// refWalk is a second, deliberately plain walker written from the SDM
// (vol. 3 ch. 4) without the package's level tables: one code path per
// paging mode, masks spelt out. The fuzzer compares the two.
func refWalk(mem x86.Memory, m x86.Mode, cr4 uint64, M uint, cr3 uint64, pdpte *[4]uint64, va uint64, acc x86.Access, wp bool) refResult {
	switch m {
	case x86.ModeReal, x86.ModeProtected:
		return refResult{ok: true, gpa: va & 0xffffffff, shift: 12, rights: x86.AllRights}
	}
	nxe := m == x86.ModePAENX || m == x86.ModeAMD64NX || m == x86.ModeLA57NX
	code := x86.ErrorCode(0)
	if acc.Kind == x86.Write {
		code |= 2
	}
	if acc.User {
		code |= 4
	}
	if acc.Kind == x86.Fetch && nxe {
		code |= 16
	}
	rw, us, xd := true, true, false
	take := func(e uint64) {
		rw = rw && e&2 != 0
		us = us && e&4 != 0
		xd = xd || (nxe && e>>63 != 0)
	}
	addrMask := func(lo uint) uint64 { return bitRange(M-1, lo) }
	notPresent := func(i int) refResult {
		return refResult{kind: x86.NotPresent, level: i, code: code, n: i + 1}
	}
	reserved := func(i int) refResult {
		return refResult{kind: x86.ReservedBit, level: i, code: code | 1 | 8, n: i + 1}
	}
	finish := func(i int, gpa uint64, shift uint) refResult {
		deny := acc.User && !us || acc.Kind == x86.Write && !rw && (acc.User || wp) || acc.Kind == x86.Fetch && xd
		if deny {
			return refResult{kind: x86.Protection, level: i, code: code | 1, n: i + 1}
		}
		r := x86.Rights(0)
		if rw {
			r |= x86.RightWrite
		}
		if us {
			r |= x86.RightUser
		}
		if !xd {
			r |= x86.RightExec
		}
		return refResult{ok: true, gpa: gpa, shift: shift, rights: r, n: i + 1}
	}
	xdRsvd := uint64(0)
	if !nxe {
		xdRsvd = 1 << 63
	}

	switch m {
	case x86.Mode32Bit:
		va &= 0xffffffff
		pde := mem.ReadEntry(x86.GPA(cr3&0xfffff000|va>>22<<2), 4)
		if pde&1 == 0 {
			return notPresent(0)
		}
		if cr4&x86.CR4PSE != 0 && pde&0x80 != 0 {
			m40 := min(M, 40)
			if pde&bitRange(21, m40-19) != 0 {
				return reserved(0)
			}
			take(pde)
			hi := pde >> 13 & (1<<(m40-32) - 1) // PSE-36: bits (M'-20):13
			return finish(0, pde&0xffc00000|hi<<32|va&0x3fffff, 22)
		}
		take(pde)
		pte := mem.ReadEntry(x86.GPA(pde&0xfffff000|va>>12&0x3ff<<2), 4)
		if pte&1 == 0 {
			return notPresent(1)
		}
		take(pte)
		return finish(1, pte&0xfffff000|va&0xfff, 12)

	case x86.ModePAE, x86.ModePAENX:
		va &= 0xffffffff
		p := pdpte[va>>30]
		if p&1 == 0 {
			return notPresent(0)
		}
		if p&(0x1e6|bitRange(63, M)) != 0 { // bits 2:1, 8:5, 63:M
			return reserved(0)
		}
		pde := mem.ReadEntry(x86.GPA(p&addrMask(12)|(va>>21&0x1ff)<<3), 8)
		if pde&1 == 0 {
			return notPresent(1)
		}
		rsvd := bitRange(62, M) | xdRsvd
		if pde&0x80 != 0 {
			if pde&(rsvd|bitRange(20, 13)) != 0 {
				return reserved(1)
			}
			take(pde)
			return finish(1, pde&addrMask(21)|va&0x1fffff, 21)
		}
		if pde&rsvd != 0 {
			return reserved(1)
		}
		take(pde)
		pte := mem.ReadEntry(x86.GPA(pde&addrMask(12)|(va>>12&0x1ff)<<3), 8)
		if pte&1 == 0 {
			return notPresent(2)
		}
		if pte&rsvd != 0 {
			return reserved(2)
		}
		take(pte)
		return finish(2, pte&addrMask(12)|va&0xfff, 12)
	}

	// 4- and 5-level paging.
	top := uint(39)
	if m == x86.ModeLA57 || m == x86.ModeLA57NX {
		top = 48
	}
	if s := int64(va) >> (top + 8); s != 0 && s != -1 { // bits 63:47 (63:56) equal
		return refResult{kind: x86.NonCanonical}
	}
	table := cr3 & addrMask(12)
	rsvd := bitRange(51, M) | xdRsvd
	for i, sh := 0, top; ; i, sh = i+1, sh-9 {
		e := mem.ReadEntry(x86.GPA(table|(va>>sh&0x1ff)<<3), 8)
		if e&1 == 0 {
			return notPresent(i)
		}
		switch {
		case sh >= 39: // PML5E, PML4E: PS is reserved
			if e&(rsvd|0x80) != 0 {
				return reserved(i)
			}
		case sh == 12 || e&0x80 == 0:
			if e&rsvd != 0 {
				return reserved(i)
			}
		default: // 1 GiB or 2 MiB page: bits sh-1..13 are reserved
			if e&(rsvd|bitRange(sh-1, 13)) != 0 {
				return reserved(i)
			}
		}
		take(e)
		if sh == 12 || (sh <= 30 && e&0x80 != 0) {
			return finish(i, e&addrMask(sh)|va&(1<<sh-1), sh)
		}
		table = e & addrMask(12)
	}
}
