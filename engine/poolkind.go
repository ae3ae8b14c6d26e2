package engine

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// PoolKind is what a shadow pool page holds. The numbering follows the
// original engine's pool-only layout (no fixed root pages); the last few
// are additions for 1 GiB pages, 5-level paging and non-paging roots.
// The numbers are shown to users and stored nowhere else.
type PoolKind uint8

const (
	KindInvalid         PoolKind = 0
	KindFree            PoolKind = 1
	Kind32PTForPhys     PoolKind = 2
	Kind32PTFor32PT     PoolKind = 3
	Kind32PTFor4M       PoolKind = 4
	KindPAEPTForPhys    PoolKind = 5
	KindPAEPTFor32PT    PoolKind = 6 // half (2 KiB) of a 32-bit guest PT
	KindPAEPTFor4M      PoolKind = 7 // half (2 MiB) of a guest 4 MiB page
	KindPAEPTForPAEPT   PoolKind = 8
	KindPAEPTFor2M      PoolKind = 9
	Kind32PD            PoolKind = 10
	Kind32PDPhys        PoolKind = 11
	KindPAEPDFor32PD    PoolKind = 12 // a quarter (1 GiB) of a 32-bit guest PD
	KindPAEPDForPAEPD   PoolKind = 13
	KindPAEPDPhys       PoolKind = 14
	KindPAEPDPTFor32    PoolKind = 15 // the root of a 32-bit guest on a PAE shadow
	KindPAEPDPT         PoolKind = 16 // mirrors the PDPTE registers of a PAE guest
	KindPAEPDPTPhys     PoolKind = 17
	Kind64PDPTFor64PDPT PoolKind = 18
	Kind64PDPTForPhys   PoolKind = 19
	Kind64PDFor64PD     PoolKind = 20
	Kind64PDForPhys     PoolKind = 21
	Kind64PML4          PoolKind = 22
	KindEPTPDPTForPhys  PoolKind = 23
	KindEPTPDForPhys    PoolKind = 24
	KindEPTPTForPhys    PoolKind = 25
	KindRootNested      PoolKind = 26
	Kind64PDFor1G       PoolKind = 27 // a guest 1 GiB page, in 2 MiB pieces
	Kind64PML4Phys      PoolKind = 28
	Kind64PML5          PoolKind = 29
	Kind64PML5Phys      PoolKind = 30
	KindEPTPML4         PoolKind = 31
	kindMax             PoolKind = 32
)

// source says what a pool page mirrors.
type source uint8

const (
	srcNone      source = iota
	srcTable            // a guest page table (or a slice of one): write-monitored
	srcBig              // part of a guest big page
	srcPhys             // guest physical space (no guest paging, or nested tables)
	srcSynthetic        // no guest table at this level (32-bit guest on a PAE shadow)
	srcRegisters        // the PAE PDPTE registers
)

// kindInfo is what the engine needs to know about a kind.
type kindInfo struct {
	name    string
	level   x86.LevelKind // the shadow level a table of this kind is
	entries int           // shadow entries in use
	src     source
	guest   uint8 // 32 or 64: entry width of the guest tables mirrored (0 if none)
	ratio   int   // shadow entries per guest entry (2: a 32-bit guest PDE on PAE)
	// fams are the shadow format families whose planner picks this kind
	// (plan.go's kindFor is derived from these rows).
	fams famSet
}

var kinds = [kindMax]kindInfo{
	KindInvalid:         {name: "INVALID"},
	KindFree:            {name: "FREE"},
	Kind32PTForPhys:     {"32BIT_PT_FOR_PHYS", x86.LevelPT, 1024, srcPhys, 0, 1, f32},
	Kind32PTFor32PT:     {"32BIT_PT_FOR_32BIT_PT", x86.LevelPT, 1024, srcTable, 32, 1, f32},
	Kind32PTFor4M:       {"32BIT_PT_FOR_32BIT_4MB", x86.LevelPT, 1024, srcBig, 32, 1, f32},
	KindPAEPTForPhys:    {"PAE_PT_FOR_PHYS", x86.LevelPT, 512, srcPhys, 0, 1, fPAE | f64 | fNested},
	KindPAEPTFor32PT:    {"PAE_PT_FOR_32BIT_PT", x86.LevelPT, 512, srcTable, 32, 1, fPAE},
	KindPAEPTFor4M:      {"PAE_PT_FOR_32BIT_4MB", x86.LevelPT, 512, srcBig, 32, 1, fPAE | f64},
	KindPAEPTForPAEPT:   {"PAE_PT_FOR_PAE_PT", x86.LevelPT, 512, srcTable, 64, 1, fPAE | f64},
	KindPAEPTFor2M:      {"PAE_PT_FOR_PAE_2MB", x86.LevelPT, 512, srcBig, 64, 1, fPAE | f64},
	Kind32PD:            {"32BIT_PD", x86.LevelPD, 1024, srcTable, 32, 1, f32},
	Kind32PDPhys:        {"32BIT_PD_PHYS", x86.LevelPD, 1024, srcPhys, 0, 1, f32},
	KindPAEPDFor32PD:    {"PAE_PD_FOR_32BIT_PD", x86.LevelPD, 512, srcTable, 32, 2, fPAE},
	KindPAEPDForPAEPD:   {"PAE_PD_FOR_PAE_PD", x86.LevelPD, 512, srcTable, 64, 1, fPAE},
	KindPAEPDPhys:       {"PAE_PD_PHYS", x86.LevelPD, 512, srcPhys, 0, 1, fPAE},
	KindPAEPDPTFor32:    {"PAE_PDPT_FOR_32BIT", x86.LevelPDPT, 4, srcSynthetic, 32, 1, fPAE},
	KindPAEPDPT:         {"PAE_PDPT", x86.LevelPDPT, 4, srcRegisters, 64, 1, fPAE},
	KindPAEPDPTPhys:     {"PAE_PDPT_PHYS", x86.LevelPDPT, 4, srcPhys, 0, 1, fPAE},
	Kind64PDPTFor64PDPT: {"64BIT_PDPT_FOR_64BIT_PDPT", x86.LevelPDPT, 512, srcTable, 64, 1, f64},
	Kind64PDPTForPhys:   {"64BIT_PDPT_FOR_PHYS", x86.LevelPDPT, 512, srcPhys, 0, 1, f64 | fNested},
	Kind64PDFor64PD:     {"64BIT_PD_FOR_64BIT_PD", x86.LevelPD, 512, srcTable, 64, 1, f64},
	Kind64PDForPhys:     {"64BIT_PD_FOR_PHYS", x86.LevelPD, 512, srcPhys, 0, 1, f64 | fNested},
	Kind64PML4:          {"64BIT_PML4", x86.LevelPML4, 512, srcTable, 64, 1, f64},
	KindEPTPDPTForPhys:  {"EPT_PDPT_FOR_PHYS", x86.LevelPDPT, 512, srcPhys, 0, 1, fEPT},
	KindEPTPDForPhys:    {"EPT_PD_FOR_PHYS", x86.LevelPD, 512, srcPhys, 0, 1, fEPT},
	KindEPTPTForPhys:    {"EPT_PT_FOR_PHYS", x86.LevelPT, 512, srcPhys, 0, 1, fEPT},
	KindRootNested:      {"ROOT_NESTED", x86.LevelPML4, 512, srcPhys, 0, 1, fNested},
	Kind64PDFor1G:       {"64BIT_PD_FOR_1GB", x86.LevelPD, 512, srcBig, 64, 1, fAll},
	Kind64PML4Phys:      {"64BIT_PML4_PHYS", x86.LevelPML4, 512, srcPhys, 0, 1, f64},
	Kind64PML5:          {"64BIT_PML5", x86.LevelPML5, 512, srcTable, 64, 1, f64},
	Kind64PML5Phys:      {"64BIT_PML5_PHYS", x86.LevelPML5, 512, srcPhys, 0, 1, f64 | fNested},
	KindEPTPML4:         {"EPT_PML4", x86.LevelPML4, 512, srcPhys, 0, 1, fEPT},
}

func (k PoolKind) String() string {
	if k < kindMax {
		return kinds[k].name
	}
	return fmt.Sprintf("PoolKind(%d)", uint8(k))
}

func (k PoolKind) info() *kindInfo { return &kinds[k] }

// Monitored reports whether pages of this kind mirror a guest table and
// therefore need their guest page write-monitored.
func (k PoolKind) Monitored() bool { return k < kindMax && kinds[k].src == srcTable }

// Level is the shadow level a table of this kind is.
func (k PoolKind) Level() x86.LevelKind { return kinds[k].level }

// Entries is the number of shadow entries a table of this kind uses.
func (k PoolKind) Entries() int { return kinds[k].entries }

// reusedByKind decides, when the cache holds a page for the same guest
// address under another kind, whether the guest has reused the page for
// something else (so the cached page must go), following the original
// engine's rules: a 32-bit guest's tables are replaced by PAE/long-mode
// ones and the other way round; anything else is an ordinary second role
// (a PD also used as a PT). Physical kinds key linear ranges rather than
// guest tables, so the levels of one identity map share keys and never
// replace each other (the original made their keys unique instead); they
// meet guest-table kinds only across a mode change, which flushes the
// pool anyway.
func reusedByKind(cached, wanted PoolKind) bool {
	c, w := cached.info(), wanted.info()
	switch {
	case c.src == srcPhys && w.src == srcPhys:
		return false
	case c.src == srcPhys || w.src == srcPhys:
		return true
	case c.guest != 0 && w.guest != 0 && c.guest != w.guest:
		return true
	}
	return false
}
