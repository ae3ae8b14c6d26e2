package engine

import (
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// TestKindForRows: the planner's kind for every family, mirror, level and
// guest width is a row of the kinds table that claims that family, level
// and mirror; every row that names families is chosen somewhere; and the
// original's layout holds where it is easy to get wrong.
func TestKindForRows(t *testing.T) {
	used := map[PoolKind]bool{}
	for f := family(0); f < famMax; f++ {
		for m := mirror(0); m < mirrorMax; m++ {
			for l := x86.LevelPT; l <= x86.LevelPML5; l++ {
				for _, g := range []int{32, 64} {
					k := kindFor(f, m, l, g)
					if k == KindInvalid {
						continue
					}
					info := k.info()
					km, _ := info.mirror()
					if info.level != l || info.fams&(1<<f) == 0 || km != m {
						t.Errorf("kindFor(%d, %d, %v, %d) = %v, a %v table of families %b mirroring %d", f, m, l, g, k, info.level, info.fams, km)
					}
					used[k] = true
				}
			}
		}
	}
	for k := range kinds {
		if kinds[k].fams != 0 && !used[PoolKind(k)] {
			t.Errorf("%v names families but the planner never picks it", PoolKind(k))
		}
	}
	for _, c := range []struct {
		f    family
		m    mirror
		l    x86.LevelKind
		g    int
		want PoolKind
	}{
		{fam32, mirrorTable, x86.LevelPD, 32, Kind32PD},
		{fam32, mirrorBig, x86.LevelPT, 32, Kind32PTFor4M},
		{famPAE, mirrorTable, x86.LevelPD, 32, KindPAEPDFor32PD},
		{famPAE, mirrorTable, x86.LevelPDPT, 32, KindPAEPDPTFor32},
		{famPAE, mirrorTable, x86.LevelPDPT, 64, KindPAEPDPT},
		{famPAE, mirrorBig, x86.LevelPT, 32, KindPAEPTFor4M},
		{famPAE, mirrorBig, x86.LevelPT, 64, KindPAEPTFor2M},
		{fam64, mirrorTable, x86.LevelPT, 64, KindPAEPTForPAEPT},
		{fam64, mirrorPhys, x86.LevelPT, 64, KindPAEPTForPhys},
		{fam64, mirrorPhys, x86.LevelPML4, 64, Kind64PML4Phys},
		{fam64, mirrorBig, x86.LevelPD, 64, Kind64PDFor1G},
		{famNested, mirrorPhys, x86.LevelPML4, 64, KindRootNested},
		{famNested, mirrorPhys, x86.LevelPDPT, 64, Kind64PDPTForPhys},
		{famEPT, mirrorPhys, x86.LevelPML4, 64, KindEPTPML4},
		{famEPT, mirrorPhys, x86.LevelPT, 64, KindEPTPTForPhys},
	} {
		if got := kindFor(c.f, c.m, c.l, c.g); got != c.want {
			t.Errorf("kindFor(%d, %d, %v, %d) = %v, want %v", c.f, c.m, c.l, c.g, got, c.want)
		}
	}
}
