package engine_test

import (
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit/rguest"
)

// FuzzRandomGuest is the differential test driven by a fuzzer: a
// well-behaved random guest (rguest) whose every choice is a byte of the
// input, on an engine configuration the input picks, must see exactly
// what the reference CPU sees, with the engine's invariants checked
// after every event. Besides the guest's own paging (tables built and
// changed, invlpg, CR3 switches, CPL, WP, PGE, big pages, PCIDs and
// protection keys), its guests exercise the hypervisor events: save and
// restore, machine resets, sharing passes, the balloon, physical
// handlers registered, turned off, re-armed and removed, virtual
// handlers, and floating hypervisor mappings that must move out of the
// guest's way. (Fixed mappings are not generated: a guest that keeps a
// range free for them is not modelled.) An input costs about a second
// under the fuzzer's instrumentation, so bound the minimisation:
//
//	go test ./engine -run '^$' -fuzz '^FuzzRandomGuest$' -fuzztime 60s -fuzzminimizetime 5s
func FuzzRandomGuest(f *testing.F) {
	f.Add([]byte{}, uint8(0), uint16(400))
	f.Add([]byte("\x60\x60\x60\x5f\x5f\x5f\x5f\x00\x01\x02"), uint8(0x13), uint16(600))
	f.Add([]byte("reset, share, balloon, save and restore"), uint8(0x42), uint16(800))
	f.Add([]byte{95, 95, 95, 95, 95, 95, 95, 95, 7, 8, 7, 8, 5, 6, 95, 95}, uint8(0xa7), uint16(1000))
	f.Fuzz(func(t *testing.T, data []byte, c uint8, n uint16) {
		hosts := []engine.HostMode{engine.Host32Bit, engine.HostPAE, engine.HostPAENX, engine.HostPAEGlobal, engine.HostAMD64,
			engine.HostAMD64NX, engine.Host32BitGlobal, engine.HostPAEGlobalNX, engine.HostAMD64Global, engine.HostAMD64GlobNX}
		cfg := engine.Config{Ranges: rguest.Ranges(), Host: hosts[int(c)%len(hosts)],
			PoolPages: []int{16, 64, 1024}[int(c>>4)%3], DirtyPT: c&0x40 != 0}
		switch c >> 6 {
		case 2:
			cfg.Paging = engine.PagingNested
		case 3:
			cfg.Paging = engine.PagingEPT
		default:
			cfg.Mappings = []engine.MappingSpec{{Name: "hma", Size: 8 << 20}}
		}
		gen := rguest.FromBytes(data, allGuestModes)
		if c&0x20 != 0 {
			gen.Modern()
		}
		events := gen.Events(300 + int(n)%2000)
		e, err := engine.NewShadow(cfg)
		if err != nil {
			t.Fatal(err)
		}
		differ(t, cfg, events, e, checked(e, 16))
	})
}

// TestFromBytesGuestsReachHypervisorEvents: the fuzzer's guests do emit
// the hypervisor events, and they agree with the reference (the seeds
// of FuzzRandomGuest are short; this is a long guest on each paging).
func TestFromBytesGuestsReachHypervisorEvents(t *testing.T) {
	data := make([]byte, 4096)
	for i := range data {
		data[i] = byte(i * 131)
	}
	seen := map[engine.EventKind]int{}
	events := rguest.FromBytes(data, allGuestModes).Events(20000)
	for _, ev := range events {
		seen[ev.Kind]++
	}
	for _, k := range []engine.EventKind{engine.EvReset, engine.EvPhysHandler, engine.EvPhysUnhandler, engine.EvPhysHandlerOff,
		engine.EvPhysHandlerReset, engine.EvSave, engine.EvRestore, engine.EvShare, engine.EvBalloon, engine.EvDeflate} {
		if seen[k] == 0 {
			t.Errorf("no %s event in 20000 events of a FromBytes guest (%v)", k, seen)
		}
	}
	for _, paging := range []engine.Paging{engine.PagingShadow, engine.PagingNested} {
		cfg := engine.Config{Ranges: rguest.Ranges(), Paging: paging, PoolPages: 64}
		if paging == engine.PagingShadow {
			cfg.Mappings = []engine.MappingSpec{{Name: "hma", Size: 8 << 20}}
		}
		e, err := engine.NewShadow(cfg)
		if err != nil {
			t.Fatal(err)
		}
		differ(t, cfg, events, e, checked(e, *diffFull))
	}
}
