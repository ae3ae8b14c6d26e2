package engine_test

import (
	"testing"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
)

// TestBigGuestCostsPagesInUse: a share pass, a save, a restore and a
// reset cost what the guest uses, not the size of its RAM. The same 256
// pages are written in a 64 MiB and in a 64 GiB guest; each operation
// must take less than 16 times as long on the big one (the best of seven
// tries each, so that the load of the machine cancels out). When they
// visited every page, the ratio was that of the RAM sizes, 1024 (share
// 29 ms against 30 us).
func TestBigGuestCostsPagesInUse(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 64 GiB guest (128 MiB of descriptors, untouched)")
	}
	ops := []engine.Event{{Kind: engine.EvShare}, {Kind: engine.EvSave, Text: "s"}, {Kind: engine.EvRestore, Text: "s"}, {Kind: engine.EvReset}}
	best := func(size uint64) []time.Duration {
		cfg := engine.DefaultConfig()
		cfg.Ranges = []phys.RangeSpec{{Type: phys.TypeRAM, Start: 0, Size: size, Name: "ram"}}
		e, err := engine.NewShadow(cfg)
		if err != nil {
			t.Fatal(err)
		}
		d := make([]time.Duration, len(ops))
		for try := range 7 {
			for i := range uint64(256) {
				if _, err := e.Apply(engine.Event{Kind: engine.EvPhysWrite, Size: 8, Addr: i * 7 << 12, Value: i%3 + 1}); err != nil {
					t.Fatal(err)
				}
			}
			for j, ev := range ops {
				start := time.Now()
				if _, err := e.Apply(ev); err != nil {
					t.Fatal(err)
				}
				if el := time.Since(start); try == 0 || el < d[j] {
					d[j] = el
				}
			}
		}
		return d
	}
	small, big := best(64<<20), best(64<<30)
	for j, ev := range ops {
		t.Logf("%s: %v on 64 MiB, %v on 64 GiB", ev.Kind, small[j], big[j])
		if big[j] > 16*max(small[j], 10*time.Microsecond) {
			t.Errorf("%s takes %v on a 64 GiB guest and %v on a 64 MiB one with the same pages written: it costs by the RAM's size", ev.Kind, big[j], small[j])
		}
	}
}
