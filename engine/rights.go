package engine

import "github.com/pgm-explorer/pgm-explorer/engine/x86"

// SMEP, SMAP and protection keys in the shadow engine.
//
// Shadow entries can say user or supervisor, read-only or writable,
// executable or not; they cannot say "the supervisor may read this user
// page only while RFLAGS.AC is 1" nor "writes with key 3 are off until
// PKRU changes". A VMM could fold these into the shadow tables (map user
// pages supervisor-inaccessible while AC=0, keep one shadow per PKRU),
// but a kernel toggles AC around every copy from user space (stac/clac)
// and a process may rewrite PKRU at will: every toggle would cost a
// resync or a second set of tables. The engine instead does what a
// hardware-assisted VMM does when it lets the guest's CR4.SMEP/SMAP,
// RFLAGS.AC and PKRU reach the real MMU: the shadow tables carry
// everything those rules need (U/S exactly as the guest's at every level,
// and the leaf's protection key in bits 62:59 of an IA-32e shadow PTE,
// which the host ignores), and the check happens at use:
//
//   - deny[kind] is, for the current CPL, CR0.WP, CR4, AC and PKRU, the
//     set of keys whose user pages the access kind may not touch (all 16
//     when SMEP or SMAP refuses the kind outright). It is recomputed after
//     every event that changes one of those, which is all an ac, pkru or
//     cpl event costs: no flush, no resync.
//   - every TLB entry remembers its page's key (pkSupervisor for a
//     supervisor page), and the inline TLB hit, the slow-path TLB lookup
//     and the shadow-hit check all test deny. A refused hit is counted
//     (/PGM/RZ/Trap0e/ModernRights) and traps; the trap handler walks the
//     guest tables with the full rules, finds the same refusal and
//     reflects the fault (paths smep-fault, smap-fault, pkey-fault).
//   - nested paging and EPT take the key and the user bit from the guest
//     walk when they fill the TLB, and check deny the same way.
//
// The rights only decide which accesses fault; a faulting access sets
// no accessed or dirty bit and syncs nothing.

// updateDeny recomputes deny from the current registers.
func (s *Shadow) updateDeny() {
	s.deny = [3]uint32{}
	if !s.format.Mode.Paging() {
		return
	}
	p := s.regs.Protect()
	if !p.SMEP && !p.SMAP && !p.PKE {
		return
	}
	wp := s.regs.CR0&x86.CR0WP != 0
	keys := s.format.Mode.Long()
	for _, kind := range []x86.AccessKind{x86.Read, x86.Write, x86.Fetch} {
		acc := s.regs.Access(kind)
		for k := uint8(0); k < 16; k++ {
			if p.Refused(x86.AllRights, k, keys, acc, wp) != 0 {
				s.deny[kind] |= 1 << k
			}
		}
	}
}

// pkOf is the pk of a TLB entry for a page with effective rights r and
// leaf key key.
func pkOf(r x86.Rights, key uint8) uint8 {
	if r&x86.RightUser == 0 {
		return pkSupervisor
	}
	return key
}

// allowed reports whether SMEP, SMAP and keys let acc through a page
// with the given pk; a refusal is counted.
func (s *Shadow) allowed(pk uint8, acc x86.Access) bool {
	if s.deny[acc.Kind]>>pk&1 == 0 {
		return true
	}
	s.st.ModernRefused.Inc()
	return false
}

// shadowKey is the protection key a shadow PTE carries for guest leaf g:
// its own bits 62:59 when the guest is in IA-32e mode (its shadow is then
// a 4- or 5-level table where the host ignores those bits), else 0.
func (s *Shadow) shadowKey(g x86.Entry) uint64 {
	if !s.format.Mode.Long() {
		return 0
	}
	return uint64(g) & (0xf << x86.KeyShift)
}

// countFault files a fault delivered to the guest under the rule that
// refused it.
func (s *Shadow) countFault(path Path) {
	switch path {
	case PathSMEPFault:
		s.st.GuestPFSMEP.Inc()
	case PathSMAPFault:
		s.st.GuestPFSMAP.Inc()
	case PathKeyFault:
		s.st.GuestPFKey.Inc()
	}
}
