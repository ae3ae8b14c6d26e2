package phys

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// accessLayout: RAM, ROM, two MMIO pages, RAM, reserved, a hole, RAM.
var accessLayout = []RangeSpec{
	{TypeRAM, 0x0000, 0x3000, "ram0"},
	{TypeROM, 0x3000, 0x1000, "rom"},
	{TypeMMIO, 0x4000, 0x2000, "dev"},
	{TypeRAM, 0x6000, 0x1000, "ram1"},
	{TypeReserved, 0x7000, 0x1000, "resv"},
	{TypeRAM, 0x9000, 0x1000, "ram2"},
}

// device is an MMIO device that logs its calls.
type device struct {
	calls  []string
	answer bool
}

func (d *device) ReadMMIO(gpa x86.GPA, size int) (uint64, bool) {
	d.calls = append(d.calls, fmt.Sprintf("r%d %v", size, gpa))
	return 0x8877665544332211, d.answer
}

func (d *device) WriteMMIO(gpa x86.GPA, size int, v uint64) bool {
	d.calls = append(d.calls, fmt.Sprintf("w%d %v %#x", size, gpa, v))
	return d.answer
}

type access struct {
	write bool
	gpa   x86.GPA
	size  int
	v     uint64 // value written, or expected read
}

func w(gpa x86.GPA, size int, v uint64) access { return access{true, gpa, size, v} }
func r(gpa x86.GPA, size int, v uint64) access { return access{false, gpa, size, v} }

func TestAccess(t *testing.T) {
	tests := []struct {
		name   string
		dev    *device // nil: no MMIO device
		ops    []access
		calls  string // device calls, ";"-separated
		frames int    // private pages at the end
	}{
		{name: "zero page reads zeros", ops: []access{r(0x10, 8, 0), r(0x2ff8, 8, 0)}},
		{name: "write then read", ops: []access{w(0x10, 4, 0xdeadbeef), r(0x10, 4, 0xdeadbeef), r(0x10, 8, 0xdeadbeef), r(0x12, 1, 0xad)}, frames: 1},
		{name: "all sizes", ops: []access{w(0x100, 8, 0x0102030405060708), r(0x100, 1, 8), r(0x100, 2, 0x0708), r(0x100, 3, 0x060708),
			r(0x101, 5, 0x0304050607), r(0x100, 7, 0x02030405060708)}, frames: 1},
		{name: "cross page", ops: []access{w(0xffc, 8, 0x1122334455667788), r(0xffc, 8, 0x1122334455667788), r(0x1000, 4, 0x11223344), r(0xffe, 4, 0x33445566)}, frames: 2},
		{name: "RAM into ROM", ops: []access{w(0x2ffc, 8, 0x1122334455667788), r(0x2ffc, 8, 0x55667788)}, frames: 1},
		{name: "ROM write dropped", ops: []access{w(0x3000, 4, 0x1234), r(0x3000, 4, 0)}},
		{name: "ROM into MMIO without device", ops: []access{r(0x3ffc, 8, 0xffffffff_00000000)}},
		{name: "MMIO without device", ops: []access{w(0x4000, 4, 1), r(0x4000, 4, 0xffffffff), r(0x4ffe, 2, 0xffff)}},
		{name: "MMIO refused", dev: &device{}, ops: []access{r(0x4010, 2, 0xffff), w(0x4010, 2, 5)}, calls: "r2 0x4010;w2 0x4010 0x5"},
		{name: "MMIO across its pages is one call", dev: &device{answer: true}, ops: []access{r(0x4ffc, 8, 0x8877665544332211), w(0x4ffd, 8, 0xabcdef)},
			calls: "r8 0x4ffc;w8 0x4ffd 0xabcdef"},
		{name: "MMIO into RAM", dev: &device{answer: true}, ops: []access{w(0x5ffe, 4, 0xaabbccdd), r(0x5ffe, 4, 0xaabb2211)},
			calls: "w2 0x5ffe 0xccdd;r2 0x5ffe", frames: 1},
		{name: "RAM into reserved", ops: []access{w(0x6ffe, 4, 0xaabbccdd), r(0x6ffe, 4, 0xccdd)}, frames: 1},
		{name: "reserved into hole", ops: []access{w(0x7ffe, 4, 0xaabbccdd), r(0x7ffe, 4, 0xffff0000)}},
		{name: "hole into RAM", ops: []access{w(0x8ffd, 4, 0xaabbccdd), r(0x8ffd, 4, 0xaaffffff), r(0x9000, 1, 0xaa)}, frames: 1},
		{name: "beyond everything", ops: []access{r(0x1_0000_0000, 8, ^uint64(0)), w(0x1_0000_0000, 8, 0)}},
		{name: "wraps around", ops: []access{w(0, 4, 0x44332211), r(^x86.GPA(0)-3, 8, 0x44332211_ffffffff)}, frames: 1},
		{name: "bad sizes", ops: []access{w(0x10, 9, 1), w(0x10, 0, 1), r(0x10, 0, ^uint64(0)), r(0x10, 9, ^uint64(0)), r(0x10, 8, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMem(t, accessLayout...)
			if tt.dev != nil {
				m.SetMMIO(tt.dev)
			}
			for i, a := range tt.ops {
				if a.write {
					m.Write(a.gpa, a.size, a.v)
				} else if got := m.Read(a.gpa, a.size); got != a.v {
					t.Errorf("op %d: Read(%v, %d) = %#x, want %#x", i, a.gpa, a.size, got, a.v)
				}
				mustCheck(t, m)
			}
			if tt.dev != nil {
				if got := strings.Join(tt.dev.calls, ";"); got != tt.calls {
					t.Errorf("device calls %q, want %q", got, tt.calls)
				}
			}
			if st := m.Stats(); st.PrivatePages != uint64(tt.frames) || st.ReplacedZero != uint64(tt.frames) {
				t.Errorf("private pages %d, replaced zero %d; want %d", st.PrivatePages, st.ReplacedZero, tt.frames)
			}
		})
	}
}

func TestBulkAccess(t *testing.T) {
	m := newMem(t, accessLayout...)
	src := make([]byte, 0x3000)
	for i := range src {
		src[i] = byte(i*7 + 1)
	}
	// From RAM through ROM into the first MMIO page.
	m.WriteBytes(0x1800, src)
	got := make([]byte, len(src))
	m.ReadBytes(0x1800, got)
	want := slicesConcat(src[:0x1800], make([]byte, 0x1000), bytes.Repeat([]byte{0xff}, 0x800))
	if !bytes.Equal(got, want) {
		t.Errorf("ReadBytes differs from the expected bytes at %d", firstDiff(got, want))
	}
	mustCheck(t, m)
	if st := m.Stats(); st.PrivatePages != 2 {
		t.Errorf("%d private pages, want 2", st.PrivatePages)
	}
}

func slicesConcat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestAllocateOnWrite(t *testing.T) {
	m := newMem(t, accessLayout...)
	base := m.Stats()
	m.Read(0x10, 8)
	if st := m.Stats(); st.PrivatePages != 0 || st.HostFrames != base.HostFrames {
		t.Fatalf("a read allocated: %+v", st)
	}
	for _, gpa := range []x86.GPA{0x10, 0x20, 0xff8} {
		m.Write(gpa, 8, 1)
	}
	st := m.Stats()
	if st.PrivatePages != 1 || st.ZeroPages != base.ZeroPages-1 || st.ReplacedZero != 1 || st.HostFrames != base.HostFrames+1 {
		t.Errorf("after three writes to one page: %+v", st)
	}
	p, _, _ := m.Lookup(0x10)
	if p.State() != StateAllocated || p.Frame() == 0 {
		t.Errorf("page %v", p)
	}
	if hpa, ok := m.HostAddr(*p); !ok || x86.PageNumber(hpa) != p.Frame() {
		t.Errorf("HostAddr = %v, %v", hpa, ok)
	}
	z, _, _ := m.Lookup(0x1000)
	if hpa, ok := m.HostAddr(*z); !ok || hpa != m.Host().ZeroPage() {
		t.Errorf("HostAddr(zero page) = %v, %v", hpa, ok)
	}
	if err := m.MakeWritable(0x1000); err != nil {
		t.Fatal(err)
	}
	if st := m.Stats(); st.PrivatePages != 2 || st.ReplacedZero != 2 {
		t.Errorf("MakeWritable did not allocate: %+v", st)
	}
	for _, gpa := range []x86.GPA{0x3000, 0x4000, 0x7000, 0x8000} {
		if err := m.MakeWritable(gpa); err == nil {
			t.Errorf("MakeWritable(%v) succeeded", gpa)
		}
	}
	mustCheck(t, m)
}

func TestSetEntryBits(t *testing.T) {
	m := newMem(t, accessLayout...)
	if err := m.LoadROM(0x3000, []byte{0x01, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	before := m.Stats().PrivatePages
	m.SetEntryBits(0x1000, 8, 0) // no change: no allocation
	if m.Stats().PrivatePages != before {
		t.Error("SetEntryBits with no new bit allocated a page")
	}
	m.Write(0x10, 8, 0x1003)
	m.SetEntryBits(0x10, 8, 0x60)
	m.SetEntryBits(0x3000, 4, 0x60)
	tests := []struct {
		gpa  x86.GPA
		size int
		want uint64
	}{{0x10, 8, 0x1063}, {0x3000, 4, 0x01}, {0x8000, 4, 0xffffffff}}
	for _, tt := range tests {
		if got := m.ReadEntry(tt.gpa, tt.size); got != tt.want {
			t.Errorf("ReadEntry(%v) = %#x, want %#x", tt.gpa, got, tt.want)
		}
	}
	mustCheck(t, m)
}

func TestLoadROM(t *testing.T) {
	m := newMem(t, append(accessLayout[:len(accessLayout):len(accessLayout)],
		RangeSpec{TypeROMShadow, 0xa000, 0x1000, "shadow"})...)
	image := []byte("\x55\xaaBIOS")
	if err := m.LoadROM(0x3ffa, image); err != nil {
		t.Fatal(err)
	}
	if got := m.Read(0x3ffa, 6); got != 0x534f4942aa55 {
		t.Errorf("ROM reads %#x", got)
	}
	m.Write(0x3ffa, 2, 0)
	if got := m.Read(0x3ffa, 2); got != 0xaa55 {
		t.Errorf("ROM write was not dropped: %#x", got)
	}
	if b := m.PageBytes(0x3000); len(b) != 4096 || !bytes.Equal(b[0xffa:], image) {
		t.Errorf("PageBytes = %q", b[0xffa:])
	}
	if err := m.LoadROM(0xa000, image); err != nil {
		t.Fatal(err)
	}
	m.Write(0xa000, 2, 0x1234)
	if got := m.Read(0xa000, 4); got != 0x49421234 {
		t.Errorf("ROM shadow reads %#x", got)
	}
	for _, tt := range []struct {
		gpa x86.GPA
		n   int
	}{{0x2fff, 2}, {0x3fff, 2}, {0x9000, 1}, {^x86.GPA(0), 2}} {
		if err := m.LoadROM(tt.gpa, make([]byte, tt.n)); err == nil {
			t.Errorf("LoadROM(%v, %d bytes) succeeded", tt.gpa, tt.n)
		}
	}
	if got := m.Read(0x2fff, 1); got != 0 {
		t.Error("a failed LoadROM wrote RAM")
	}
	if st := m.Stats(); st.PrivatePages != 2 {
		t.Errorf("%d private pages, want 2", st.PrivatePages)
	}
	mustCheck(t, m)
}

func TestPageBytes(t *testing.T) {
	m := newMem(t, accessLayout...)
	m.Write(0x1000, 1, 9)
	tests := []struct {
		gpa  x86.GPA
		want string // "nil", "zero" or "private"
	}{{0, "zero"}, {0x1fff, "private"}, {0x3000, "zero"}, {0x4000, "nil"}, {0x7000, "nil"}, {0x8000, "nil"}}
	for _, tt := range tests {
		b := m.PageBytes(tt.gpa)
		got := "private"
		switch {
		case b == nil:
			got = "nil"
		case &b[0] == &m.zeroBytes[0]:
			got = "zero"
		}
		if got != tt.want {
			t.Errorf("PageBytes(%v) is %s, want %s", tt.gpa, got, tt.want)
		}
	}
}

// countingHandler counts the handler calls it gets and lets them through.
type countingHandler struct{ n int }

func (h *countingHandler) PhysRead(x86.GPA, []byte) bool  { h.n++; return false }
func (h *countingHandler) PhysWrite(x86.GPA, []byte) bool { h.n++; return false }

// TestPeekChangesNothing: a peek sees what a read sees in RAM, ROM,
// reserved, unbacked and handled pages, and all ones in MMIO and outside
// every range, without counting page-TLB lookups, calling a handler or a
// device, or (through the peeker) setting bits.
func TestPeekChangesNothing(t *testing.T) {
	m := newMem(t, accessLayout...)
	m.Write(0xffc, 8, 0x1122334455667788)  // across a page boundary
	m.Write(0x2ffc, 8, 0x1122334455667788) // RAM into ROM: the ROM half is dropped
	dev := &device{answer: true}
	m.SetMMIO(dev)
	h := &countingHandler{}
	m.SetAccessHandler(h)
	if err := m.SetHandlerState(0x1000, HandlerAll, HandlerNone); err != nil {
		t.Fatal(err)
	}
	before := m.Stats()
	tests := []struct {
		gpa  x86.GPA
		size int
		want uint64
	}{
		{0xffc, 8, 0x1122334455667788}, // into the handled page
		{0xffe, 2, 0x5566},
		{0x2000, 4, 0},                 // never written: the zero page
		{0x2ffc, 8, 0x55667788},        // RAM into ROM
		{0x4010, 4, 0xffffffff},        // MMIO: the device is not asked
		{0x6ffe, 4, 0},                 // RAM into reserved
		{0x7ffe, 4, 0xffff0000},        // reserved into the hole
		{0x1_0000_0000, 8, ^uint64(0)}, // beyond everything
		{0x10, 9, ^uint64(0)},          // bad size
	}
	for _, tc := range tests {
		if got := m.Peek(tc.gpa, tc.size); got != tc.want {
			t.Errorf("Peek(%v, %d) = %#x, want %#x", tc.gpa, tc.size, got, tc.want)
		}
	}
	if got := m.Peeker().ReadEntry(0xffc, 4); got != 0x55667788 {
		t.Errorf("Peeker().ReadEntry = %#x", got)
	}
	m.Peeker().SetEntryBits(0x10, 4, 0x60)
	if after := m.Stats(); after != before {
		t.Errorf("statistics changed:\n%+v\n%+v", before, after)
	}
	if len(dev.calls) != 0 || h.n != 0 {
		t.Errorf("device calls %q, handler calls %d", dev.calls, h.n)
	}
	if got := m.Read(0x10, 4); got != 0 {
		t.Errorf("SetEntryBits through the peeker wrote: %#x", got)
	}
}
