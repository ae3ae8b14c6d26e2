package viz

import (
	"io"
	"sync"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// bigGuest is the benchmark machine: 1 GiB of RAM, long mode, the RAM
// mapped twice (at 0 and at 1 GiB) through 1024 page tables of its own,
// one page touched in every 2 MiB so that the shadow engine builds a
// shadow page table for each: the 1024-page pool is full. An 8 MiB
// hypervisor mapping gives the intermediate view something to show.
var bigGuest = sync.OnceValues(func() (*Model, error) {
	cfg := engine.DefaultConfig()
	cfg.Ranges = []phys.RangeSpec{{Type: phys.TypeRAM, Start: 0, Size: 1 << 30, Name: "ram"}}
	cfg.PoolPages = 1024
	cfg.Mappings = []engine.MappingSpec{{Name: "hma", Size: 8 << 20}}
	e, err := engine.NewShadow(cfg)
	if err != nil {
		return nil, err
	}
	m := &Model{Engine: e, Recent: NewRecent(64), Timeline: NewTimeline(256), Title: "1 GiB guest"}
	apply := func(ev engine.Event) error {
		o, err := e.Apply(ev)
		m.Recent.Add(o)
		m.Timeline.Add(&o)
		return err
	}
	pw := func(gpa, v uint64) error {
		return apply(engine.Event{Kind: engine.EvPhysWrite, Size: 8, Addr: gpa, Value: v})
	}
	// Tables from 768 MiB up: PML4, PDPT, two PDs, 1024 PTs.
	const base = 768 << 20
	pml4, pdpt := uint64(base), uint64(base+0x1000)
	pds := [2]uint64{base + 0x2000, base + 0x3000}
	pt := func(i int) uint64 { return base + 0x4000 + uint64(i)*0x1000 }
	const flags = 0x27 // P, RW, US, A
	if err := pw(pml4, pdpt|flags); err != nil {
		return nil, err
	}
	for half := 0; half < 2; half++ {
		if err := pw(pdpt+uint64(half)*8, pds[half]|flags); err != nil {
			return nil, err
		}
		for d := 0; d < 512; d++ {
			i := half*512 + d
			if err := pw(pds[half]+uint64(d)*8, pt(i)|flags); err != nil {
				return nil, err
			}
			for k := 0; k < 512; k++ {
				frame := uint64(d)<<21 | uint64(k)<<12
				if err := pw(pt(i)+uint64(k)*8, frame|flags); err != nil {
					return nil, err
				}
			}
		}
	}
	for _, ev := range []engine.Event{
		{Kind: engine.EvCR4, Value: x86.CR4PAE},
		{Kind: engine.EvEFER, Value: x86.EFERLME | x86.EFERNXE},
		{Kind: engine.EvCR3, Value: pml4},
		{Kind: engine.EvCR0, Value: x86.CR0PG | x86.CR0PE | x86.CR0WP},
	} {
		if err := apply(ev); err != nil {
			return nil, err
		}
	}
	for va := uint64(0); va < 2<<30; va += 2 << 20 {
		if err := apply(engine.Event{Kind: engine.EvRead, Size: 4, Addr: va + 0x123}); err != nil {
			return nil, err
		}
	}
	// Write a few pages so that the map shows allocated pages.
	for va := uint64(0); va < 64<<20; va += 64 << 10 {
		if err := apply(engine.Event{Kind: engine.EvWrite, Size: 4, Addr: va, Value: 1}); err != nil {
			return nil, err
		}
	}
	return m, nil
})

func benchLayout(b *testing.B, v View, w, h int) {
	m, err := bigGuest()
	if err != nil {
		b.Fatal(err)
	}
	m.View, m.Width, m.Height = v, w, h
	var l List
	Layout(m, &l)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Layout(m, &l)
	}
	b.ReportMetric(float64(len(l.Prims)), "prims")
	b.ReportMetric(float64(l.Quads()), "quads")
}

func BenchmarkLayoutOverview(b *testing.B)  { benchLayout(b, ViewOverview, 1920, 1080) }
func BenchmarkLayoutHierarchy(b *testing.B) { benchLayout(b, ViewHierarchy, 1920, 1080) }
func BenchmarkLayoutMemory(b *testing.B)    { benchLayout(b, ViewMemory, 1920, 1080) }
func BenchmarkLayoutWalk(b *testing.B)      { benchLayout(b, ViewWalk, 1920, 1080) }
func BenchmarkLayoutIntermediate(b *testing.B) {
	benchLayout(b, ViewIntermediate, 1920, 1080)
}
func BenchmarkLayoutOverview4K(b *testing.B) { benchLayout(b, ViewOverview, 3840, 2160) }
func BenchmarkLayoutOverviewSmall(b *testing.B) {
	benchLayout(b, ViewOverview, MinWidth, MinHeight)
}

func BenchmarkRasterize(b *testing.B) {
	m, err := bigGuest()
	if err != nil {
		b.Fatal(err)
	}
	m.View, m.Width, m.Height = ViewOverview, 1920, 1080
	var l List
	Layout(m, &l)
	Rasterize(&l, l.Width, l.Height) // fill the glyph cache
	b.ResetTimer()
	for b.Loop() {
		Rasterize(&l, l.Width, l.Height)
	}
}

func BenchmarkRenderPNG(b *testing.B) {
	m, err := bigGuest()
	if err != nil {
		b.Fatal(err)
	}
	m.View, m.Width, m.Height = ViewOverview, 1920, 1080
	var l List
	Layout(m, &l)
	b.ResetTimer()
	for b.Loop() {
		if err := RenderPNG(io.Discard, &l, l.Width, l.Height); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkText200 measures 200 labels: the glyph cache keeps text cheap.
func BenchmarkText200(b *testing.B) {
	var l List
	l.Reset(1024, 640)
	for i := 0; i < 200; i++ {
		l.Text(10+(i%4)*250, 10+(i/4)*12, Face(i%3), 12, ColText, "0x00007f12345678 PWUAD")
	}
	Rasterize(&l, 1024, 640)
	b.ResetTimer()
	for b.Loop() {
		Rasterize(&l, 1024, 640)
	}
}
