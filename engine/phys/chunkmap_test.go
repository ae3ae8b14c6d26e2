package phys

import (
	"slices"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

func TestPageTLBCounting(t *testing.T) {
	m := newMem(t, RangeSpec{TypeRAM, 0, 0x100000, "ram"}, RangeSpec{TypeMMIO, 0x100000, 0x1000, "dev"})
	type counts struct{ pageHits, pageMisses, chunkHits, chunkMisses uint64 }
	steps := []struct {
		name string
		do   func()
		want counts
	}{
		{"first read misses", func() { m.Read(0x10, 4) }, counts{0, 1, 0, 0}},
		{"same page hits", func() { m.Read(0xff8, 8) }, counts{1, 1, 0, 0}},
		{"first write maps the chunk", func() { m.Write(0x10, 4, 1) }, counts{2, 1, 0, 1}},
		{"fast write", func() { m.Write(0x18, 8, 1) }, counts{3, 1, 0, 1}},
		{"fast read", func() { m.Read(0x18, 8) }, counts{4, 1, 0, 1}},
		{"conflicting page", func() { m.Read(0x40010, 4) }, counts{4, 2, 0, 1}},
		{"back again: chunk TLB hit", func() { m.Read(0x10, 4) }, counts{4, 3, 1, 1}},
		{"page crossing counts two", func() { m.Read(0xffe, 4) }, counts{5, 4, 1, 1}},
		{"unbacked misses every time", func() { m.Read(0x200000, 4); m.Read(0x200000, 4) }, counts{5, 6, 1, 1}},
		{"MMIO is cached", func() { m.Read(0x100000, 4); m.Read(0x100004, 4) }, counts{6, 7, 1, 1}},
		{"PageBytes is not an access", func() { m.PageBytes(0x5000) }, counts{6, 7, 1, 1}},
	}
	for _, s := range steps {
		s.do()
		st := m.Stats()
		if got := (counts{st.PageTLBHits, st.PageTLBMisses, st.ChunkTLBHits, st.ChunkTLBMisses}); got != s.want {
			t.Errorf("%s: %+v, want %+v", s.name, got, s.want)
		}
		mustCheck(t, m)
	}
	if st := m.Stats(); st.ChunksMapped != 1 || st.ChunkMapMax != DefaultChunkMapMax || st.Chunks != 1 {
		t.Errorf("chunk stats %+v", st)
	}
}

// TestChunkMapVictims drives the cache directly with chunk ids that all
// fall into chunk TLB slot 1, so the TLB protects only the newest.
func TestChunkMapVictims(t *testing.T) {
	h := &Host{chunks: make([]*hostChunk, 256)}
	for i := range h.chunks {
		h.chunks[i] = &hostChunk{id: uint32(i)}
	}
	var m Memory
	m.chunks.init()
	cm := &m.chunks
	if err := m.SetChunkMapMax(3); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		lookup uint32
		refs   bool // hold a page TLB reference on the chunk afterwards
		mapped []uint32
	}{
		{1, false, []uint32{1}},
		{33, false, []uint32{1, 33}},
		{65, false, []uint32{1, 33, 65}},
		{97, false, []uint32{33, 65, 97}},     // oldest goes
		{33, false, []uint32{33, 65, 97}},     // a hit renews 33
		{129, false, []uint32{33, 97, 129}},   // 65 is now the oldest
		{161, true, []uint32{97, 129, 161}},   // 33 and 97 tie: lower id goes
		{193, false, []uint32{129, 161, 193}}, // 161 is referenced by the page TLB
		{2, false, []uint32{2, 161, 193}},     // 193 is in the chunk TLB
	}
	for i, s := range steps {
		mc := cm.lookup(h, s.lookup)
		if s.refs {
			mc.pageRefs++
		}
		got := slices.Sorted(func(yield func(uint32) bool) {
			for id := range cm.mapped {
				if !yield(id) {
					return
				}
			}
		})
		if !slices.Equal(got, s.mapped) {
			t.Errorf("step %d (chunk %d): mapped %v, want %v", i, s.lookup, got, s.mapped)
		}
	}
	if cm.unmaps != 5 || cm.hits != 0 || cm.misses != uint64(len(steps)) {
		t.Errorf("unmaps %d hits %d misses %d", cm.unmaps, cm.hits, cm.misses)
	}
	if err := m.SetChunkMapMax(0); err == nil {
		t.Error("SetChunkMapMax(0) succeeded")
	}
}

// TestChunkMapGrowsWhenAllHeld: when every mapped chunk sits in a TLB the
// cache exceeds its maximum rather than evict a chunk in use.
func TestChunkMapGrowsWhenAllHeld(t *testing.T) {
	m := newMem(t, RangeSpec{TypeRAM, 0, 4 * mib, "ram"})
	if err := m.SetChunkMapMax(1); err != nil {
		t.Fatal(err)
	}
	for gpa := x86.GPA(0); gpa < 4*mib; gpa += 4 * kib {
		m.Write(gpa, 1, 1)
	}
	st := m.Stats()
	if st.Chunks != 5 || st.ChunksMapped != 5 || st.ChunkUnmaps != 0 {
		t.Errorf("stats %+v", st)
	}
	mustCheck(t, m)
}

// TestChunkMapEvictsThroughMemory: once more chunks exist than the chunk
// TLB has slots, a chunk pushed out of its slot becomes the victim.
func TestChunkMapEvictsThroughMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 36 MiB")
	}
	m := newMem(t, RangeSpec{TypeRAM, 0, 36 * mib, "ram"})
	if err := m.SetChunkMapMax(4); err != nil {
		t.Fatal(err)
	}
	for gpa := x86.GPA(0); gpa < 36*mib; gpa += 4 * kib {
		m.Write(gpa, 1, 1)
	}
	// 9216 guest frames after the zero page end in chunk 37; chunks 1..5
	// lost their chunk TLB slot to 33..37 and were evicted.
	st := m.Stats()
	if st.Chunks != 37 || st.ChunkUnmaps != 5 || st.ChunksMapped != 32 {
		t.Errorf("chunks %d, unmapped %d, mapped %d", st.Chunks, st.ChunkUnmaps, st.ChunksMapped)
	}
	if got := m.Read(0, 1); got != 1 {
		t.Errorf("reads %d", got)
	}
	mustCheck(t, m)
}
