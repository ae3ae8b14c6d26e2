package phys

import (
	"fmt"
	"maps"
	"slices"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The seed's ring-3 design never maps single host pages: it maps whole
// allocation chunks into the process, keeps at most cMax of them, and puts
// two direct-mapped lookaside buffers in front so the common access costs
// an index and a compare. Host memory is simulated here, so "mapping" a
// chunk is bookkeeping only, but the hit, miss and eviction behaviour is
// the seed's and is counted the same way.
const (
	chunkTLBSize = 32 // idx = chunk id & 31
	pageTLBSize  = 64 // idx = guest page number & 63
	// DefaultChunkMapMax is how many chunks stay mapped at most (cMax).
	DefaultChunkMapMax = 256
	maxAgeingInterval  = 1024
)

// mappedChunk is one chunk in the mapping cache.
type mappedChunk struct {
	chunk    *hostChunk
	age      uint64 // ageing epoch of the last lookup: lower is older
	pageRefs int    // page TLB entries pointing into the chunk
}

type chunkTLBEntry struct {
	id uint32 // chunk id; 0 (NIL) when empty
	mc *mappedChunk
}

// chunkMap is the chunk mapping cache with its chunk TLB.
type chunkMap struct {
	mapped    map[uint32]*mappedChunk
	tlb       [chunkTLBSize]chunkTLBEntry
	max       int
	now       uint64 // current ageing epoch
	countdown int    // new mappings left before the next ageing
	hits      uint64
	misses    uint64
	unmaps    uint64
}

func (cm *chunkMap) init() {
	cm.mapped = make(map[uint32]*mappedChunk)
	cm.max = DefaultChunkMapMax
	cm.countdown = cm.ageingInterval()
}

// ageingInterval is the seed's choice: a quarter of the cache, capped.
func (cm *chunkMap) ageingInterval() int { return min(max(cm.max/4, 1), maxAgeingInterval) }

// lookup returns the mapping of chunk id, mapping it on a miss.
func (cm *chunkMap) lookup(h *Host, id uint32) *mappedChunk {
	e := &cm.tlb[id%chunkTLBSize]
	if e.mc != nil && e.id == id {
		cm.hits++
		e.mc.age = cm.now
		return e.mc
	}
	cm.misses++
	// The slot is about to change hands: its old chunk is no longer held
	// by the TLB and may be the victim of this very mapping.
	e.id, e.mc = 0, nil
	mc := cm.mapped[id]
	if mc == nil {
		mc = cm.mapChunk(h, id)
	}
	mc.age = cm.now
	e.id, e.mc = id, mc
	return mc
}

// mapChunk adds a chunk, first evicting victims while the cache is full.
// When every mapped chunk is held by a TLB there is no victim and the
// cache grows past max; it shrinks back on later mappings.
func (cm *chunkMap) mapChunk(h *Host, id uint32) *mappedChunk {
	if cm.countdown--; cm.countdown <= 0 {
		cm.now++
		cm.countdown = cm.ageingInterval()
	}
	for len(cm.mapped) >= cm.max {
		v, ok := cm.victim()
		if !ok {
			break
		}
		delete(cm.mapped, v)
		cm.unmaps++
	}
	mc := &mappedChunk{chunk: h.chunks[id]}
	cm.mapped[id] = mc
	return mc
}

// victim picks the oldest chunk that no TLB entry uses, breaking ties by
// the lower chunk id so the choice never depends on map order.
func (cm *chunkMap) victim() (uint32, bool) {
	var best uint32
	var bestAge uint64
	found := false
	for id, mc := range cm.mapped {
		if mc.pageRefs > 0 || cm.tlb[id%chunkTLBSize].mc == mc {
			continue
		}
		if !found || mc.age < bestAge || mc.age == bestAge && id < best {
			best, bestAge, found = id, mc.age, true
		}
	}
	return best, found
}

// SetChunkMapMax changes how many chunks may stay mapped (cMax). Lowering
// it takes effect at the next mapping.
func (m *Memory) SetChunkMapMax(n int) error {
	if n < 1 || n > MaxPageID>>ChunkIDShift {
		return fmt.Errorf("phys: chunk map size %d out of range", n)
	}
	m.chunks.max = n
	m.chunks.countdown = min(m.chunks.countdown, m.chunks.ageingInterval())
	return nil
}

// pageTLBEntry caches one guest page: its descriptor and the bytes a read
// sees. Any change of the page's backing drops the entry (invalidate), so
// the cached facts never go stale.
type pageTLBEntry struct {
	key      uint64 // guest page number + 1; 0 when empty
	page     *Page
	rng      *Range
	bytes    *[x86.PageSize]byte // nil for MMIO; the zero page when unbacked
	writable bool                // writes may go to bytes directly
	// plainRead and plainWrite say that no access handler wants to see
	// reads or writes of the page, so the fast paths may skip the hook.
	plainRead, plainWrite bool
	mc                    *mappedChunk // the chunk bytes belong to, nil for the zero page
}

func pageKey(gpa x86.GPA) (key uint64, idx int) {
	pn := x86.PageNumber(gpa)
	return pn + 1, int(pn % pageTLBSize)
}

// pageEntry finds the page holding gpa through the page TLB, filling the
// entry on a miss. Nil means no range holds gpa.
func (m *Memory) pageEntry(gpa x86.GPA) *pageTLBEntry {
	key, idx := pageKey(gpa)
	e := &m.ptlb[idx]
	if e.key == key {
		m.st.PageTLBHits++
		return e
	}
	m.st.PageTLBMisses++
	p, r, ok := m.Lookup(gpa)
	if !ok {
		return nil
	}
	m.fillEntry(e, key, p, r)
	return e
}

func (m *Memory) fillEntry(e *pageTLBEntry, key uint64, p *Page, r *Range) {
	m.dropEntry(e)
	e.key, e.page, e.rng = key, p, r
	e.plainRead = p.PhysHandler() < HandlerAll
	e.plainWrite = p.PhysHandler() < HandlerWrite
	switch {
	case p.Type() == TypeMMIO:
	case p.Frame() == 0:
		e.bytes = m.zeroBytes
	default:
		f := p.Frame()
		mc := m.chunks.lookup(m.host, uint32(f>>ChunkIDShift))
		mc.pageRefs++
		e.mc = mc
		e.bytes = mc.chunk.bytes[f%PagesPerChunk]
		e.writable = p.Writable() && e.plainWrite
	}
}

func (m *Memory) dropEntry(e *pageTLBEntry) {
	if e.mc != nil {
		e.mc.pageRefs--
	}
	*e = pageTLBEntry{}
}

// invalidate drops the page TLB entry of the page holding gpa, if cached.
func (m *Memory) invalidate(gpa x86.GPA) {
	key, idx := pageKey(gpa)
	if m.ptlb[idx].key == key {
		m.dropEntry(&m.ptlb[idx])
	}
}

// checkTLBs verifies that every cached fact still holds.
func (m *Memory) checkTLBs() error {
	cm := &m.chunks
	refs := make(map[*mappedChunk]int)
	for i := range m.ptlb {
		e := &m.ptlb[i]
		if e.key == 0 {
			continue
		}
		gpa := x86.GPA((e.key - 1) << x86.PageShift)
		p, r, ok := m.Lookup(gpa)
		if !ok || p != e.page || r != e.rng {
			return fmt.Errorf("page TLB entry %d for %v names the wrong descriptor", i, gpa)
		}
		want := m.readView(*p)
		if p.Type() == TypeMMIO {
			want = nil
		}
		plainW := p.PhysHandler() < HandlerWrite
		if e.bytes != want || e.writable != (p.Writable() && plainW) ||
			e.plainWrite != plainW || e.plainRead != (p.PhysHandler() < HandlerAll) {
			return fmt.Errorf("page TLB entry %d for %v is stale (%v)", i, gpa, *p)
		}
		if e.mc != nil {
			if cm.mapped[uint32(p.Frame()>>ChunkIDShift)] != e.mc {
				return fmt.Errorf("page TLB entry %d for %v points to an unmapped chunk", i, gpa)
			}
			refs[e.mc]++
		}
	}
	for _, id := range slices.Sorted(maps.Keys(cm.mapped)) {
		mc := cm.mapped[id]
		if refs[mc] != mc.pageRefs {
			return fmt.Errorf("chunk %d has %d page TLB references, counted %d", id, mc.pageRefs, refs[mc])
		}
		if mc.chunk == nil || mc.chunk != m.host.chunks[id] {
			return fmt.Errorf("mapped chunk %d does not match the host chunk", id)
		}
	}
	for i, e := range cm.tlb {
		if e.mc != nil && (cm.mapped[e.id] != e.mc || int(e.id%chunkTLBSize) != i) {
			return fmt.Errorf("chunk TLB entry %d (chunk %d) is stale", i, e.id)
		}
	}
	return nil
}
