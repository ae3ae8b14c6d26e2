package phys

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

// newMem builds a memory with the given ranges, failing the test on error.
func newMem(t testing.TB, specs ...RangeSpec) *Memory {
	t.Helper()
	m := New(0)
	for _, s := range specs {
		if err := m.AddRange(s); err != nil {
			t.Fatalf("AddRange(%+v): %v", s, err)
		}
	}
	mustCheck(t, m)
	return m
}

func mustCheck(t testing.TB, m *Memory) {
	t.Helper()
	if err := m.Check(); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

func TestAddRangeErrors(t *testing.T) {
	base := []RangeSpec{{TypeRAM, 0, 640 * kib, "low"}, {TypeROM, 0xf0000, 64 * kib, "bios"}}
	tests := []struct {
		name    string
		maxPhys uint8
		spec    RangeSpec
		want    string // substring of the error; "" for success
	}{
		{"ok", 0, RangeSpec{TypeRAM, mib, 4 * mib, "high"}, ""},
		{"unaligned start", 0, RangeSpec{TypeRAM, mib + 1, 4 * kib, ""}, "not page aligned"},
		{"unaligned size", 0, RangeSpec{TypeRAM, mib, 4*kib + 1, ""}, "not page aligned"},
		{"zero size", 0, RangeSpec{TypeRAM, mib, 0, ""}, "size 0"},
		{"overlap", 0, RangeSpec{TypeMMIO, 0x9f000, 8 * kib, "vga"}, "overlaps"},
		{"overlap inside", 0, RangeSpec{TypeRAM, 0xf1000, 4 * kib, ""}, "overlaps"},
		{"beyond maxphyaddr", 32, RangeSpec{TypeRAM, 4 * gib, 4 * kib, ""}, "MAXPHYADDR"},
		{"end at maxphyaddr", 32, RangeSpec{TypeRAM, 4*gib - 4*kib, 4 * kib, ""}, ""},
		{"one pebibyte", 52, RangeSpec{TypeRAM, 0x100000000, 1 << 50, ""}, "above the limit"},
		{"wrap", 52, RangeSpec{TypeRAM, 0xffff_ffff_ffff_f000, 8 * kib, ""}, "wraps"},
		{"bad type", 0, RangeSpec{typeMax, mib, 4 * kib, ""}, "unknown page type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(tt.maxPhys)
			for _, s := range base {
				if err := m.AddRange(s); err != nil {
					t.Fatal(err)
				}
			}
			err := m.AddRange(tt.spec)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("AddRange: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("AddRange error = %v, want one containing %q", err, tt.want)
			}
			if len(m.Ranges()) != len(base)+map[bool]int{true: 1, false: 0}[err == nil] {
				t.Errorf("%d ranges after AddRange", len(m.Ranges()))
			}
			mustCheck(t, m)
		})
	}
}

func TestRangesSortedAndLookup(t *testing.T) {
	m := newMem(t,
		RangeSpec{TypeROM, 0xf0000, 64 * kib, "bios"},
		RangeSpec{TypeRAM, 0, 640 * kib, "low"},
		RangeSpec{TypeMMIO, 0xa0000, 128 * kib, "vga"},
		RangeSpec{TypeRAM, mib, 15 * mib, "high"},
	)
	var names []string
	for _, r := range m.Ranges() {
		names = append(names, r.Spec.Name)
	}
	if got := strings.Join(names, ","); got != "low,vga,bios,high" {
		t.Errorf("ranges in order %s", got)
	}
	tests := []struct {
		gpa  x86.GPA
		name string // "" for none
		idx  int
		typ  PageType
	}{
		{0, "low", 0, TypeRAM},
		{0x9ffff, "low", 159, TypeRAM},
		{0xa0000, "vga", 0, TypeMMIO},
		{0xc0000, "", 0, 0},
		{0xf0fff, "bios", 0, TypeROM},
		{0xfffff, "bios", 15, TypeROM},
		{0x100000, "high", 0, TypeRAM},
		{0xffffff, "high", 3839, TypeRAM},
		{0x1000000, "", 0, 0},
		{^x86.GPA(0), "", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.gpa.String(), func(t *testing.T) {
			p, r, ok := m.Lookup(tt.gpa)
			if tt.name == "" {
				if ok {
					t.Fatalf("found %q, want nothing", r.Spec.Name)
				}
				return
			}
			if !ok || r.Spec.Name != tt.name {
				t.Fatalf("Lookup = %v, %v; want %s", r, ok, tt.name)
			}
			if i, _ := r.Index(tt.gpa); i != tt.idx || r.Page(i) != p || p.Type() != tt.typ {
				t.Errorf("index %d page %v, want %d %v", i, p, tt.idx, tt.typ)
			}
			if r.GPA(tt.idx) != x86.PageDown(tt.gpa) {
				t.Errorf("GPA(%d) = %v", tt.idx, r.GPA(tt.idx))
			}
		})
	}
	if r := m.Ranges()[0]; r.Page(-1) != nil || r.Page(len(r.Pages)) != nil {
		t.Error("Page out of range is not nil")
	}
	st := m.Stats()
	if st.AllPages != (640*kib+128*kib+64*kib+15*mib)/4096 || st.ZeroPages != st.AllPages-32 {
		t.Errorf("stats %+v", st)
	}
}

// TestNew4GiBIsCheap checks that declaring 4 GiB of RAM allocates its 8 MiB
// of descriptors and nothing per page.
func TestNew4GiBIsCheap(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	m := New(0)
	if err := m.AddRange(RangeSpec{TypeRAM, 0, 4 * gib, "ram"}); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	const descriptors = 4 * gib / 4096 * 8
	if alloc < descriptors || alloc > descriptors+64*kib {
		t.Errorf("allocated %d bytes, want about %d", alloc, descriptors)
	}
	if elapsed > 500*time.Millisecond {
		t.Errorf("took %v", elapsed)
	}
	if st := m.Stats(); st.ZeroPages != 1<<20 || st.PrivatePages != 0 || st.HostFrames != 1 {
		t.Errorf("stats %+v", st)
	}
	runtime.KeepAlive(m)
}
