package engine_test

import (
	"fmt"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit/rguest"
)

// The differential tests with the modern features: random guests that
// turn on SMEP, SMAP and protection keys, change AC and PKRU, give their
// leaves keys, and in IA-32e modes switch address spaces by PCID with
// and without CR3 bit 63 and invalidate with INVPCID (rguest.Modern).
// IA-32e modes come up more often than in the plain tests, since PCIDs
// and keys live there.
var modernGuestModes = []x86.Mode{x86.Mode32Bit, x86.ModePAENX, x86.ModeAMD64, x86.ModeAMD64NX, x86.ModeAMD64NX, x86.ModeLA57NX}

// modernSeeds is how many guests each configuration gets: half the
// plain tests' (-diff.seeds), at least one, so that the sweep over every
// configuration stays within seconds by default.
func modernSeeds() int { return max(1, *diffSeeds/2) }

func modernEvents(seed uint64) []engine.Event {
	return rguest.New(seed, modernGuestModes).Modern().Events(*diffEvents)
}

func TestModernShadowMatchesReference(t *testing.T) {
	// Every host mode; the global variants share shadow formats with the
	// plain ones, so they get the small pool only.
	hosts := []engine.HostMode{engine.Host32Bit, engine.HostPAE, engine.HostPAENX, engine.HostAMD64, engine.HostAMD64NX,
		engine.Host32BitGlobal, engine.HostPAEGlobal, engine.HostPAEGlobalNX, engine.HostAMD64Global, engine.HostAMD64GlobNX}
	for hi, host := range hosts {
		pools := []int{16, 1024}
		if hi >= 5 {
			pools = pools[:1]
		}
		for _, pool := range pools {
			for seed := 0; seed < modernSeeds(); seed++ {
				t.Run(fmt.Sprintf("%s/pool%d/seed%d", host.TraceName(), pool, seed), func(t *testing.T) {
					cfg := engine.Config{Ranges: rguest.Ranges(), Host: host, PoolPages: pool,
						Mappings: []engine.MappingSpec{{Name: "hma", Size: 8 << 20}}}
					e, err := engine.NewShadow(cfg)
					if err != nil {
						t.Fatal(err)
					}
					differ(t, cfg, modernEvents(uint64(seed)*6271+uint64(pool)+uint64(host)), e, checked(e, *diffFull))
				})
			}
		}
	}
}

func TestModernNestedMatchesReference(t *testing.T) {
	for _, paging := range []engine.Paging{engine.PagingNested, engine.PagingEPT} {
		for _, pool := range []int{16, 64} {
			for seed := 0; seed < modernSeeds(); seed++ {
				t.Run(fmt.Sprintf("%v/pool%d/seed%d", paging, pool, seed), func(t *testing.T) {
					cfg := engine.Config{Ranges: rguest.Ranges(), Paging: paging, PoolPages: pool}
					e, err := engine.NewShadow(cfg)
					if err != nil {
						t.Fatal(err)
					}
					differ(t, cfg, modernEvents(uint64(seed)*104723+uint64(pool)), e, checked(e, *diffFull))
				})
			}
		}
	}
}

// TestModernDirtyPTMatchesReference: dirty page tables skip their resync
// on CR3 loads with bit 63; INVPCID and plain loads must still bring it.
func TestModernDirtyPTMatchesReference(t *testing.T) {
	for seed := 0; seed < modernSeeds(); seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			cfg := engine.Config{Ranges: rguest.Ranges(), Host: engine.HostAMD64NX, PoolPages: 64, DirtyPT: true}
			e, err := engine.NewShadow(cfg)
			if err != nil {
				t.Fatal(err)
			}
			differ(t, cfg, modernEvents(uint64(seed)*37+11), e, checked(e, *diffFull))
		})
	}
}
