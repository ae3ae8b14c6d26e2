package engine_test

import (
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
)

// BenchmarkBigGuestFewPages: share, reset and save plus restore on a
// 64 GiB guest that wrote 256 pages cost by the pages in use, not by the
// RAM's 16 million pages (make bench; compare the 64 GiB and 64 MiB
// rows: they should be close).
func BenchmarkBigGuestFewPages(b *testing.B) {
	for _, size := range []struct {
		name  string
		bytes uint64
	}{{"64MiB", 64 << 20}, {"64GiB", 64 << 30}} {
		newEng := func(b *testing.B) engine.Engine {
			cfg := engine.DefaultConfig()
			cfg.Ranges = []phys.RangeSpec{{Type: phys.TypeRAM, Start: 0, Size: size.bytes, Name: "ram"}}
			eng, err := engine.NewShadow(cfg)
			if err != nil {
				b.Fatal(err)
			}
			return eng
		}
		write := func(b *testing.B, eng engine.Engine) {
			for i := range uint64(256) {
				if _, err := eng.Apply(engine.Event{Kind: engine.EvPhysWrite, Size: 8, Addr: i * 7 << 12 % size.bytes, Value: i%3 + 1}); err != nil {
					b.Fatal(err)
				}
			}
		}
		apply := func(b *testing.B, eng engine.Engine, ev engine.Event) {
			if _, err := eng.Apply(ev); err != nil {
				b.Fatal(err)
			}
		}
		b.Run("share/"+size.name, func(b *testing.B) {
			eng := newEng(b)
			write(b, eng)
			for b.Loop() {
				apply(b, eng, engine.Event{Kind: engine.EvShare})
			}
		})
		b.Run("reset/"+size.name, func(b *testing.B) {
			eng := newEng(b)
			for b.Loop() {
				b.StopTimer()
				write(b, eng)
				b.StartTimer()
				apply(b, eng, engine.Event{Kind: engine.EvReset})
			}
		})
		b.Run("save-restore/"+size.name, func(b *testing.B) {
			eng := newEng(b)
			write(b, eng)
			for b.Loop() {
				apply(b, eng, engine.Event{Kind: engine.EvSave, Text: "s"})
				apply(b, eng, engine.Event{Kind: engine.EvRestore, Text: "s"})
			}
		})
	}
}
