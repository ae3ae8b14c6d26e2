package workload

import (
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// The physical memory of a PC, as the models see it: low memory up to
// 640 KiB, a hole for video memory and option ROMs, the BIOS ROM in the
// last 64 KiB below 1 MiB, and main memory from 1 MiB.
const (
	lowMemEnd = 640 << 10
	biosBase  = 0xf0000
	biosSize  = 64 << 10
	resetVec  = 0xffff0 // where the processor fetches its first instruction
	mainBase  = 1 << 20
)

// pcRanges is a PC with ram bytes of memory in all (ram > 1 MiB).
func pcRanges(ram uint64) []phys.RangeSpec {
	return []phys.RangeSpec{
		{Type: phys.TypeRAM, Start: 0, Size: lowMemEnd, Name: "low memory"},
		{Type: phys.TypeROM, Start: biosBase, Size: biosSize, Name: "bios"},
		{Type: phys.TypeRAM, Start: mainBase, Size: ram - mainBase, Name: "main memory"},
	}
}

// inHole reports whether pa is in the hole between low memory and the
// BIOS, where nothing is mapped.
func inHole(pa x86.GPA) bool { return pa >= lowMemEnd && pa < biosBase }

// newHeader is the trace header of a workload: the machine, engine
// defaults, and the metadata that rebuilds the workload.
func newHeader(name string, seed uint64, a args, ranges []phys.RangeSpec) traces.Header {
	cfg := engine.DefaultConfig()
	cfg.Ranges = ranges
	return traces.Header{Version: traces.Version, Config: cfg, Meta: a.meta(name, seed)}
}

// region is a range of virtual memory a model touches.
type region struct {
	va   x86.GVA
	size uint64
	code bool // fetches (and some reads), no writes
	ro   bool // reads only
}

// touch makes n random accesses, each to one of rs, all of which must be
// mapped: fetches and reads in code, reads in read-only regions, reads
// and writes elsewhere. Accesses are aligned to their size.
func (m *machine) touch(n int, rs ...region) {
	for range n {
		r := rs[m.rnd.IntN(len(rs))]
		size := m.size()
		va := r.va + x86.GVA(m.rnd.Uint64N(r.size/uint64(size))*uint64(size))
		switch {
		case r.code && m.rnd.IntN(4) != 0:
			m.must(m.exec(va))
		case r.code || r.ro || m.rnd.IntN(2) == 0:
			m.must(m.read(va, size))
		default:
			m.must(m.write(va, size, m.value(size)))
		}
	}
}
