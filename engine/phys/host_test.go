package phys

import (
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

func TestHostAllocFree(t *testing.T) {
	h := NewHost()
	if h.ZeroPage() != 0x100000 || ChunkID(h.ZeroPage()) != 1 || h.InUse() != 1 || h.Chunks() != 1 {
		t.Fatalf("new host: zero page %v in chunk %d, %d in use, %d chunks", h.ZeroPage(), ChunkID(h.ZeroPage()), h.InUse(), h.Chunks())
	}
	var got []x86.HPA
	for range PagesPerChunk {
		hpa, err := h.Alloc()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, hpa)
	}
	if got[0] != 0x101000 || got[PagesPerChunk-1] != 0x200000 || h.Chunks() != 2 || h.InUse() != PagesPerChunk+1 {
		t.Errorf("first %v last %v chunks %d in use %d", got[0], got[PagesPerChunk-1], h.Chunks(), h.InUse())
	}
	b := h.Bytes(got[3])
	if b == nil || *b != [x86.PageSize]byte{} || h.Refs(got[3]) != 1 {
		t.Fatal("a new frame is not a zero-filled page with one reference")
	}
	b[5] = 1
	if err := h.Free(got[3] + 0x123); err != nil { // any address in the frame
		t.Fatal(err)
	}
	if h.Bytes(got[3]) != nil || h.Refs(got[3]) != 0 || h.InUse() != PagesPerChunk {
		t.Error("a freed frame still looks in use")
	}
	again, _ := h.Alloc()
	if again != got[3] || *h.Bytes(again) != [x86.PageSize]byte{} {
		t.Errorf("reuse gave %v (want %v) or a dirty page", again, got[3])
	}
	for _, bad := range []x86.HPA{h.ZeroPage(), 0, 0x5000, 0x300000, got[3] + 0x100000} {
		if err := h.Free(bad); err == nil {
			t.Errorf("Free(%v) succeeded", bad)
		}
	}
	if h.Bytes(0) != nil || h.Bytes(1<<50) != nil || h.Refs(1<<50) != 0 {
		t.Error("unknown frames have bytes or refs")
	}
}

// TestHostGuestFramesAreProtected: frames backing guest pages cannot be
// freed through the public API.
func TestHostGuestFramesAreProtected(t *testing.T) {
	m := newMem(t, RangeSpec{TypeRAM, 0, 0x10000, "ram"})
	m.Write(0, 1, 1)
	p, _, _ := m.Lookup(0)
	if err := m.Host().Free(x86.HPA(p.Frame() << x86.PageShift)); err == nil {
		t.Error("freed a guest frame")
	}
	ext, err := m.Host().Alloc()
	if err != nil {
		t.Fatal(err)
	}
	m.Write(0x1000, 1, 1)
	if st := m.Stats(); st.HostFrames != 4 {
		t.Errorf("%d host frames, want 4 (zero, 2 guest, 1 other)", st.HostFrames)
	}
	mustCheck(t, m)
	if err := m.Host().Free(ext); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, m)
}
