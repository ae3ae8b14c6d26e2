package traces

import (
	"bytes"
	"io"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
)

// benchTrace renders a trace of n events mixing every kind, with the
// access-heavy proportions of a real workload.
func benchTrace(b *testing.B, n int) []byte {
	b.Helper()
	h := Header{Config: engine.Config{Ranges: []phys.RangeSpec{
		{Type: phys.TypeRAM, Start: 0, Size: 0xa0000, Name: "low"},
		{Type: phys.TypeROM, Start: 0xf0000, Size: 64 << 10, Name: "bios"},
		{Type: phys.TypeRAM, Start: 1 << 20, Size: 255 << 20, Name: "main"},
	}}}
	evs := make([]engine.Event, 0, n)
	for i := range n {
		a := uint64(i) * 0x1238 % (255 << 20)
		var ev engine.Event
		switch i % 16 {
		case 0:
			ev = engine.Event{Kind: engine.EvPhysWrite, Size: 8, Addr: 1<<20 + a&^7, Value: a | 7}
		case 1:
			ev = engine.Event{Kind: engine.EvCR3, Value: 1<<20 + a&^0xfff}
		case 2:
			ev = engine.Event{Kind: engine.EvInvlpg, Addr: 0x7fff_0000_0000 + a}
		case 3:
			ev = engine.Event{Kind: engine.EvLabel, Text: "process 3 forks"}
		case 4, 5, 6, 7, 8:
			ev = engine.Event{Kind: engine.EvWrite, Size: 4, Addr: 0x400000 + a, Value: 0xdeadbeef}
		case 9:
			ev = engine.Event{Kind: engine.EvExec, Addr: 0xffffffff80000000 + a}
		default:
			ev = engine.Event{Kind: engine.EvRead, Size: 8, Addr: 0x400000 + a}
		}
		evs = append(evs, ev)
	}
	return []byte(render(b, h, evs))
}

func BenchmarkTextReader(b *testing.B) {
	const n = 100_000
	benchDecode(b, benchTrace(b, n), n, func(r io.Reader) (eventReader, error) { return NewTextReader(r, "bench") })
}

// eventReader is what the decoding benchmarks read with.
type eventReader interface {
	Next() (engine.Event, error)
}

// benchDecode reads data to the end b.N times with the reader open makes,
// checking the count, and reports events per second.
func benchDecode(b *testing.B, data []byte, want int, open func(io.Reader) (eventReader, error)) {
	b.Helper()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := open(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != want {
			b.Fatalf("%d events, want %d", n, want)
		}
	}
	b.ReportMetric(float64(want)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkTextWriter(b *testing.B) {
	const n = 100_000
	data := benchTrace(b, n)
	h, evs, err := readAll(bytes.NewReader(data), "bench", n)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := NewTextWriter(io.Discard)
		if err := w.WriteHeader(h); err != nil {
			b.Fatal(err)
		}
		for _, ev := range evs {
			if err := w.WriteEvent(ev); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
