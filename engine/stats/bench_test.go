package stats

import (
	"io"
	"testing"
)

func BenchmarkCounterInc(b *testing.B) {
	c := New().Counter("/PGM/RZ/Trap0e/Time2/SyncPT", UnitOccurrences, "")
	b.ReportAllocs()
	for b.Loop() {
		c.Inc()
	}
	if c.Value() == 0 {
		b.Fatal("no increments")
	}
}

// The cost when statistics are compiled out (nil handles).
func BenchmarkCounterIncNil(b *testing.B) {
	var c *Counter
	b.ReportAllocs()
	for b.Loop() {
		c.Inc()
	}
}

func BenchmarkFamilyInc(b *testing.B) {
	f := New().CounterFamily("/PGM/PDSyncPT/%04X", UnitOccurrences, "", 1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		f.Inc(i & 1023)
		i++
	}
}

func BenchmarkProfileBeginEnd(b *testing.B) {
	for _, c := range []struct {
		name   string
		timing bool
	}{{"timing=on", true}, {"timing=off", false}} {
		b.Run(c.name, func(b *testing.B) {
			r := New()
			r.SetTiming(c.timing)
			p := r.Profile("/PGM/RZ/Trap0e", "")
			b.ReportAllocs()
			for b.Loop() {
				p.End(p.Begin())
			}
		})
	}
}

// What one refresh of the UI's statistics panel costs with a realistic
// registry size.
func BenchmarkWriteJSON(b *testing.B) {
	r := fixture()
	for i := range 300 {
		r.Counter("/PGM/Bench/"+string(rune('A'+i%26))+string(rune('a'+i/26)), UnitOccurrences, "filler").Inc()
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.WriteJSON(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
