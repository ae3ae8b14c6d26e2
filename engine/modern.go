package engine

import "github.com/pgm-explorer/pgm-explorer/engine/x86"

// Guest-register events of the modern paging features (RFLAGS.AC, PKRU)
// and INVPCID's checks, which every engine shares. They change which
// accesses fault, never a translation: see the shadow engine's rights.go
// for how it keeps its TLB and shadow tables honest.

// setAC applies an ac event (RFLAGS.AC, SMAP's override).
func (g *guest) setAC(ev Event) { g.regs.AC = ev.Value == 1 }

// setPKRU applies a pkru event.
func (g *guest) setPKRU(ev Event) { g.regs.PKRU = uint32(ev.Value) }

// invpcidArgs checks an invpcid event against INVPCID's #GP rules and
// returns its type, PCID and (type 0) linear address.
func (g *guest) invpcidArgs(ev Event) (typ uint8, pcid uint16, va x86.GVA, err error) {
	va = g.format.Linear(x86.GVA(ev.Addr))
	if err := g.regs.CheckINVPCID(ev.Size, ev.Value, x86.GVA(ev.Addr), g.format); err != nil {
		return 0, 0, 0, err
	}
	return ev.Size, uint16(ev.Value), va, nil
}

// invpcidVirt lets virtual handlers follow what an INVPCID tells: the
// guest may have remapped the address (type 0 of the current PCID, like
// invlpg) or anything (the other types).
func (g *guest) invpcidVirt(typ uint8, pcid uint16, va x86.GVA) {
	switch {
	case typ == 0 && pcid == g.regs.PCID():
		g.virtInvlpg(va)
	case typ == 1 && pcid != g.regs.PCID():
	case typ != 0:
		g.virtUpdate(false)
	}
}

// FaultPath is the path of an access that ends in fault f: the rule of
// SMEP, SMAP or keys that refused it when one did (PathKeyFault whenever
// PK is set), a #GP for a non-canonical address, else a plain guest #PF.
func FaultPath(f x86.Fault) Path {
	switch {
	case f.Kind == x86.NonCanonical:
		return PathGP
	case f.Rules.Keys():
		return PathKeyFault
	case f.Rule == x86.RuleSMEP:
		return PathSMEPFault
	case f.Rule == x86.RuleSMAP:
		return PathSMAPFault
	}
	return PathGuestFault
}
