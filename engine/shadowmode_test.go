package engine_test

import (
	"fmt"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

func TestSwitcherNumbers(t *testing.T) {
	tests := []struct {
		sw   engine.Switcher
		num  uint8
		name string
	}{
		{engine.SwitcherInvalid, 0, "invalid"},
		{engine.Switcher32To32, 1, "32-to-32"},
		{engine.Switcher32ToPAE, 2, "32-to-PAE"},
		{engine.Switcher32ToAMD64, 3, "32-to-AMD64"},
		{engine.SwitcherPAETo32, 4, "PAE-to-32"},
		{engine.SwitcherPAEToPAE, 5, "PAE-to-PAE"},
		{engine.SwitcherPAEToAMD64, 6, "PAE-to-AMD64"},
		{engine.SwitcherAMD64To32, 7, "AMD64-to-32"},
		{engine.SwitcherAMD64ToPAE, 8, "AMD64-to-PAE"},
		{engine.SwitcherAMD64ToAMD4, 9, "AMD64-to-AMD64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if uint8(tc.sw) != tc.num {
				t.Errorf("number = %d, want %d", uint8(tc.sw), tc.num)
			}
			if got := tc.sw.String(); got != tc.name {
				t.Errorf("String() = %q, want %q", got, tc.name)
			}
		})
	}
	if got := engine.Switcher(10).String(); got != "Switcher(10)" {
		t.Errorf("Switcher(10).String() = %q", got)
	}
}

// Host modes by column of PGM-INVENTORY §1.4.
var (
	hosts32    = []engine.HostMode{engine.Host32Bit, engine.Host32BitGlobal}
	hostsPAE   = []engine.HostMode{engine.HostPAE, engine.HostPAEGlobal, engine.HostPAENX, engine.HostPAEGlobalNX}
	hostsAMD64 = []engine.HostMode{engine.HostAMD64, engine.HostAMD64Global, engine.HostAMD64NX, engine.HostAMD64GlobNX}
)

type shadowPair struct {
	shadow x86.Mode
	sw     engine.Switcher
}

// inventoryTable is PGM-INVENTORY §1.4 written out: guest mode -> the
// shadow mode and switcher on a 32-bit, PAE and AMD64 host. The 5-level
// rows are this project's addition (a 5-level shadow through the AMD64
// switchers).
var inventoryTable = []struct {
	guest x86.Mode
	cols  [3]shadowPair
}{
	{x86.ModeReal, [3]shadowPair{{x86.Mode32Bit, engine.Switcher32To32}, {x86.ModePAE, engine.SwitcherPAEToPAE}, {x86.ModePAE, engine.SwitcherAMD64ToPAE}}},
	{x86.ModeProtected, [3]shadowPair{{x86.Mode32Bit, engine.Switcher32To32}, {x86.ModePAE, engine.SwitcherPAEToPAE}, {x86.ModePAE, engine.SwitcherAMD64ToPAE}}},
	{x86.Mode32Bit, [3]shadowPair{{x86.Mode32Bit, engine.Switcher32To32}, {x86.ModePAE, engine.SwitcherPAEToPAE}, {x86.ModePAE, engine.SwitcherAMD64ToPAE}}},
	{x86.ModePAE, [3]shadowPair{{x86.ModePAE, engine.Switcher32ToPAE}, {x86.ModePAE, engine.SwitcherPAEToPAE}, {x86.ModePAE, engine.SwitcherAMD64ToPAE}}},
	{x86.ModePAENX, [3]shadowPair{{x86.ModePAE, engine.Switcher32ToPAE}, {x86.ModePAE, engine.SwitcherPAEToPAE}, {x86.ModePAE, engine.SwitcherAMD64ToPAE}}},
	{x86.ModeAMD64, [3]shadowPair{{x86.ModeAMD64, engine.Switcher32ToAMD64}, {x86.ModeAMD64, engine.SwitcherPAEToAMD64}, {x86.ModeAMD64, engine.SwitcherAMD64ToAMD4}}},
	{x86.ModeAMD64NX, [3]shadowPair{{x86.ModeAMD64, engine.Switcher32ToAMD64}, {x86.ModeAMD64, engine.SwitcherPAEToAMD64}, {x86.ModeAMD64, engine.SwitcherAMD64ToAMD4}}},
	{x86.ModeLA57, [3]shadowPair{{x86.ModeLA57, engine.Switcher32ToAMD64}, {x86.ModeLA57, engine.SwitcherPAEToAMD64}, {x86.ModeLA57, engine.SwitcherAMD64ToAMD4}}},
	{x86.ModeLA57NX, [3]shadowPair{{x86.ModeLA57, engine.Switcher32ToAMD64}, {x86.ModeLA57, engine.SwitcherPAEToAMD64}, {x86.ModeLA57, engine.SwitcherAMD64ToAMD4}}},
}

// forEachCell calls fn for every guest mode x host mode of the table,
// with the cell the table gives.
func forEachCell(fn func(guest x86.Mode, host engine.HostMode, want shadowPair)) {
	for _, row := range inventoryTable {
		for col, hosts := range [][]engine.HostMode{hosts32, hostsPAE, hostsAMD64} {
			for _, h := range hosts {
				fn(row.guest, h, row.cols[col])
			}
		}
	}
}

// TestShadowModeTable: with no current shadow mode, every guest x host
// pair gets exactly the cell of the table.
func TestShadowModeTable(t *testing.T) {
	forEachCell(func(guest x86.Mode, host engine.HostMode, want shadowPair) {
		t.Run(fmt.Sprintf("%v on %v", guest, host), func(t *testing.T) {
			shadow, sw, err := engine.ShadowMode(guest, host, engine.PagingShadow, x86.ModeInvalid)
			if err != nil {
				t.Fatalf("ShadowMode: %v", err)
			}
			if shadow != want.shadow || sw != want.sw {
				t.Errorf("got %v, %v; want %v, %v", shadow, sw, want.shadow, want.sw)
			}
			// The original never produces the NX shadow modes.
			if shadow == x86.ModePAENX || shadow == x86.ModeAMD64NX {
				t.Errorf("shadow mode %v produced", shadow)
			}
		})
	})
}

// TestShadowModeKeepCurrent: a real or protected-mode guest keeps the
// current shadow mode (switcher INVALID, "no change") when one is set and
// hardware paging is off, unless the pair was never compiled in the
// original engine (a real-mode guest on an AMD64 or 5-level shadow). Every
// other guest mode is always recomputed.
func TestShadowModeKeepCurrent(t *testing.T) {
	tests := []struct {
		guest   x86.Mode
		current x86.Mode
		keep    bool
	}{
		{x86.ModeReal, x86.Mode32Bit, true},
		{x86.ModeReal, x86.ModePAE, true},
		{x86.ModeReal, x86.ModeAMD64, false},
		{x86.ModeReal, x86.ModeLA57, false},
		{x86.ModeProtected, x86.Mode32Bit, true},
		{x86.ModeProtected, x86.ModePAE, true},
		{x86.ModeProtected, x86.ModeAMD64, true},
		{x86.ModeProtected, x86.ModeLA57, true},
		// The NX shadow modes are never produced; if one were current it
		// is not a compiled pair, so the mode is recomputed.
		{x86.ModeReal, x86.ModePAENX, false},
		{x86.ModeProtected, x86.ModeAMD64NX, false},
		// A nested current mode is not a shadow mode to keep.
		{x86.ModeReal, x86.ModeNested, false},
		{x86.ModeProtected, x86.ModeEPT, false},
		// Paging guests are always recomputed.
		{x86.Mode32Bit, x86.ModePAE, false},
		{x86.Mode32Bit, x86.Mode32Bit, false},
		{x86.ModePAE, x86.ModePAE, false},
		{x86.ModePAENX, x86.ModeAMD64, false},
		{x86.ModeAMD64, x86.ModePAE, false},
		{x86.ModeAMD64NX, x86.ModeAMD64, false},
		{x86.ModeLA57, x86.ModeAMD64, false},
	}
	cells := map[x86.Mode]map[engine.HostMode]shadowPair{}
	forEachCell(func(guest x86.Mode, host engine.HostMode, want shadowPair) {
		if cells[guest] == nil {
			cells[guest] = map[engine.HostMode]shadowPair{}
		}
		cells[guest][host] = want
	})
	for _, tc := range tests {
		for host, cell := range cells[tc.guest] {
			t.Run(fmt.Sprintf("%v guest, %v current, %v host", tc.guest, tc.current, host), func(t *testing.T) {
				shadow, sw, err := engine.ShadowMode(tc.guest, host, engine.PagingShadow, tc.current)
				if err != nil {
					t.Fatalf("ShadowMode: %v", err)
				}
				want := cell
				if tc.keep {
					want = shadowPair{tc.current, engine.SwitcherInvalid}
				}
				if shadow != want.shadow || sw != want.sw {
					t.Errorf("got %v, %v; want %v, %v", shadow, sw, want.shadow, want.sw)
				}
			})
		}
	}
}

// TestShadowModeNested: nested paging replaces the shadow mode by NESTED
// (AMD-V) or EPT and keeps the table's switcher, for every guest and
// host, whatever the current mode (hardware acceleration always
// recomputes).
func TestShadowModeNested(t *testing.T) {
	for _, p := range []struct {
		paging engine.Paging
		mode   x86.Mode
	}{{engine.PagingNested, x86.ModeNested}, {engine.PagingEPT, x86.ModeEPT}} {
		forEachCell(func(guest x86.Mode, host engine.HostMode, want shadowPair) {
			for _, current := range []x86.Mode{x86.ModeInvalid, x86.Mode32Bit, x86.ModePAE, x86.ModeAMD64, p.mode} {
				t.Run(fmt.Sprintf("%v: %v on %v, current %v", p.paging, guest, host, current), func(t *testing.T) {
					shadow, sw, err := engine.ShadowMode(guest, host, p.paging, current)
					if err != nil {
						t.Fatalf("ShadowMode: %v", err)
					}
					if shadow != p.mode || sw != want.sw {
						t.Errorf("got %v, %v; want %v, %v", shadow, sw, p.mode, want.sw)
					}
				})
			}
		})
	}
}

func TestShadowModeErrors(t *testing.T) {
	tests := []struct {
		name  string
		guest x86.Mode
		host  engine.HostMode
	}{
		{"invalid guest", x86.ModeInvalid, engine.HostAMD64NX},
		{"nested is not a guest mode", x86.ModeNested, engine.HostAMD64NX},
		{"EPT is not a guest mode", x86.ModeEPT, engine.HostPAE},
		{"guest mode out of range", x86.Mode(12), engine.Host32Bit},
		{"guest mode 255", x86.Mode(255), engine.Host32Bit},
		{"invalid host", x86.Mode32Bit, engine.HostInvalid},
		{"host out of range", x86.ModePAE, engine.HostMode(11)},
		{"host 255", x86.ModeAMD64, engine.HostMode(255)},
	}
	for _, tc := range tests {
		for _, paging := range []engine.Paging{engine.PagingShadow, engine.PagingNested, engine.PagingEPT} {
			t.Run(fmt.Sprintf("%s, %v", tc.name, paging), func(t *testing.T) {
				shadow, sw, err := engine.ShadowMode(tc.guest, tc.host, paging, x86.ModePAE)
				if err == nil {
					t.Fatalf("ShadowMode(%v, %v) = %v, %v; want an error", tc.guest, tc.host, shadow, sw)
				}
				if shadow != x86.ModeInvalid || sw != engine.SwitcherInvalid {
					t.Errorf("error came with %v, %v; want invalid, invalid", shadow, sw)
				}
			})
		}
	}
}
