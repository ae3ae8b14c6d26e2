package engine

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Switcher is the world switcher that goes from the host's paging mode to
// the shadow (guest-context) paging mode and back. Numbers are stable.
type Switcher uint8

const (
	SwitcherInvalid     Switcher = 0 // no change
	Switcher32To32      Switcher = 1
	Switcher32ToPAE     Switcher = 2
	Switcher32ToAMD64   Switcher = 3
	SwitcherPAETo32     Switcher = 4
	SwitcherPAEToPAE    Switcher = 5
	SwitcherPAEToAMD64  Switcher = 6
	SwitcherAMD64To32   Switcher = 7
	SwitcherAMD64ToPAE  Switcher = 8
	SwitcherAMD64ToAMD4 Switcher = 9
	switcherMax         Switcher = 10
)

var switcherNames = [switcherMax]string{
	"invalid", "32-to-32", "32-to-PAE", "32-to-AMD64", "PAE-to-32", "PAE-to-PAE",
	"PAE-to-AMD64", "AMD64-to-32", "AMD64-to-PAE", "AMD64-to-AMD64",
}

func (s Switcher) String() string {
	if s < switcherMax {
		return switcherNames[s]
	}
	return fmt.Sprintf("Switcher(%d)", uint8(s))
}

// hostClass groups host modes as the mode table's columns do.
func hostClass(h HostMode) int {
	switch h.Paging() {
	case x86.Mode32Bit:
		return 0
	case x86.ModePAE, x86.ModePAENX:
		return 1
	}
	return 2
}

// modeTable is the original engine's guest x host -> shadow + switcher
// table; columns are host 32-bit, PAE, AMD64. 5-level guests (an
// addition) get a 5-level shadow through the AMD64 switchers.
var modeTable = map[x86.Mode][3]struct {
	shadow x86.Mode
	sw     Switcher
}{
	x86.ModeReal:      {{x86.Mode32Bit, Switcher32To32}, {x86.ModePAE, SwitcherPAEToPAE}, {x86.ModePAE, SwitcherAMD64ToPAE}},
	x86.ModeProtected: {{x86.Mode32Bit, Switcher32To32}, {x86.ModePAE, SwitcherPAEToPAE}, {x86.ModePAE, SwitcherAMD64ToPAE}},
	x86.Mode32Bit:     {{x86.Mode32Bit, Switcher32To32}, {x86.ModePAE, SwitcherPAEToPAE}, {x86.ModePAE, SwitcherAMD64ToPAE}},
	x86.ModePAE:       {{x86.ModePAE, Switcher32ToPAE}, {x86.ModePAE, SwitcherPAEToPAE}, {x86.ModePAE, SwitcherAMD64ToPAE}},
	x86.ModePAENX:     {{x86.ModePAE, Switcher32ToPAE}, {x86.ModePAE, SwitcherPAEToPAE}, {x86.ModePAE, SwitcherAMD64ToPAE}},
	x86.ModeAMD64:     {{x86.ModeAMD64, Switcher32ToAMD64}, {x86.ModeAMD64, SwitcherPAEToAMD64}, {x86.ModeAMD64, SwitcherAMD64ToAMD4}},
	x86.ModeAMD64NX:   {{x86.ModeAMD64, Switcher32ToAMD64}, {x86.ModeAMD64, SwitcherPAEToAMD64}, {x86.ModeAMD64, SwitcherAMD64ToAMD4}},
	x86.ModeLA57:      {{x86.ModeLA57, Switcher32ToAMD64}, {x86.ModeLA57, SwitcherPAEToAMD64}, {x86.ModeLA57, SwitcherAMD64ToAMD4}},
	x86.ModeLA57NX:    {{x86.ModeLA57, Switcher32ToAMD64}, {x86.ModeLA57, SwitcherPAEToAMD64}, {x86.ModeLA57, SwitcherAMD64ToAMD4}},
}

// Paging selects how guest-physical memory is virtualised.
type Paging uint8

const (
	PagingShadow Paging = 0 // shadow page tables
	PagingNested Paging = 1 // AMD-V nested paging
	PagingEPT    Paging = 2 // Intel EPT
)

// ParsePaging reads the trace name of a paging kind.
func ParsePaging(s string) (Paging, error) {
	for p := PagingShadow; p <= PagingEPT; p++ {
		if p.String() == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("unknown paging %q (want shadow, nested or ept)", s)
}

func (p Paging) String() string {
	switch p {
	case PagingShadow:
		return "shadow"
	case PagingNested:
		return "nested"
	case PagingEPT:
		return "ept"
	}
	return fmt.Sprintf("Paging(%d)", uint8(p))
}

// compiled reports whether the original engine had code for a shadow x
// guest pair (PGM-INVENTORY §1.5): a real-mode guest never runs on an
// AMD64 shadow, a PAE guest never on a 32-bit one.
func compiled(shadow, guest x86.Mode) bool {
	switch shadow {
	case x86.Mode32Bit:
		return guest == x86.ModeReal || guest == x86.ModeProtected || guest == x86.Mode32Bit
	case x86.ModePAE:
		return guest <= x86.ModePAENX && guest >= x86.ModeReal
	case x86.ModeAMD64:
		return guest == x86.ModeProtected || guest == x86.ModeAMD64 || guest == x86.ModeAMD64NX
	case x86.ModeLA57:
		return guest == x86.ModeProtected || guest == x86.ModeLA57 || guest == x86.ModeLA57NX
	case x86.ModeNested, x86.ModeEPT:
		return true
	}
	return false
}

// ShadowMode returns the shadow paging mode and switcher for a guest mode
// on a host, given the current shadow mode.
//
// Real and protected-mode guests keep the current shadow mode when there
// is one and hardware paging is off (the original engine expected the
// guest to switch back soon); we recompute it when the kept pair would be
// one the original engine never compiled (a real-mode guest on an AMD64
// shadow). Nested paging replaces the shadow mode by NESTED or EPT and
// keeps the switcher.
func ShadowMode(guest x86.Mode, host HostMode, paging Paging, current x86.Mode) (x86.Mode, Switcher, error) {
	row, ok := modeTable[guest]
	if !ok || host == HostInvalid || host >= hostMax {
		return x86.ModeInvalid, SwitcherInvalid, fmt.Errorf("no shadow mode for a %v guest on a %v host", guest, host)
	}
	e := row[hostClass(host)]
	switch paging {
	case PagingNested:
		return x86.ModeNested, e.sw, nil
	case PagingEPT:
		return x86.ModeEPT, e.sw, nil
	}
	if (guest == x86.ModeReal || guest == x86.ModeProtected) && current != x86.ModeInvalid &&
		current != x86.ModeNested && current != x86.ModeEPT && compiled(current, guest) {
		return current, SwitcherInvalid, nil
	}
	return e.shadow, e.sw, nil
}
