package phys

import (
	"testing"
	"unsafe"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

func BenchmarkNew4GiB(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		m := New(0)
		if err := m.AddRange(RangeSpec{TypeRAM, 0, 4 * gib, "ram"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(unsafe.Sizeof(Page(0))), "tracking-bytes/page")
}

// allocatedRAM is 4 MiB of RAM with every page written once.
func allocatedRAM(b *testing.B) *Memory {
	m := newMem(b, RangeSpec{TypeRAM, 0, 4 * mib, "ram"})
	for gpa := x86.GPA(0); gpa < 4*mib; gpa += 4 * kib {
		m.Write(gpa, 8, uint64(gpa))
	}
	return m
}

// The hot benchmarks stay within the 64 pages the page TLB holds; the
// scattered one strides across 1024 pages so that every access misses
// the page TLB and takes the range lookup and chunk TLB.
func benchAccess(b *testing.B, pages uint64, write bool) {
	m := allocatedRAM(b)
	var sum uint64
	i := uint64(0)
	for b.Loop() {
		gpa := x86.GPA((i%pages)<<x86.PageShift | (i*8)&0xff8)
		if write {
			m.Write(gpa, 4, i)
		} else {
			sum += m.Read(gpa, 4)
		}
		i++
	}
	_ = sum
}

func BenchmarkRead4(b *testing.B)          { benchAccess(b, 16, false) }
func BenchmarkWrite4(b *testing.B)         { benchAccess(b, 16, true) }
func BenchmarkRead4Scattered(b *testing.B) { benchAccess(b, 1024, false) }

func BenchmarkShare(b *testing.B) {
	m := allocatedRAM(b)
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		for gpa := x86.GPA(0); gpa < 4*mib; gpa += 4 * kib {
			m.Write(gpa, 1, uint64(gpa>>12)%7)
		}
		b.StartTimer()
		m.Share()
	}
	b.ReportMetric(float64(4*mib/4096), "pages/op")
}
