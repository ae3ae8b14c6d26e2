package phys

import (
	"encoding/binary"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// ShareStats is what one sharing pass did.
type ShareStats struct {
	Scanned     int // allocated RAM pages hashed
	Zeroed      int // all-zero pages returned to the zero page
	Shared      int // pages that became shared (the first copy included)
	FramesFreed int // host frames given back
}

// shareCand is a frame others may fold into: an existing shared frame
// (page nil) or a private page seen earlier in this pass.
type shareCand struct {
	frame uint64
	page  *Page
	gpa   x86.GPA
}

// Share runs one pass of the seed's sharing scan over allocated RAM
// pages, in address order (visiting only pages in use, see inuse.go): hash each page; on equal hashes compare the
// bytes; an all-zero page goes back to the zero page; a page identical to
// an existing shared frame, or to an earlier page, ends up Shared on one
// reference-counted frame and its own frame is freed. Write-monitored
// pages are skipped (they are expected to change soon).
//
// The outcome depends only on page contents and order: the hash merely
// picks candidates, the byte comparison decides, so the result is
// deterministic whatever the hash.
func (m *Memory) Share() ShareStats {
	var st ShareStats
	byHash := make(map[uint64][]shareCand)
	seen := make(map[uint64]bool)
	for _, r := range m.ranges {
		if r.Spec.Type != TypeRAM {
			continue
		}
		r.EachInUse(func(i int) {
			p := r.Pages[i]
			if f := p.Frame(); p.State() == StateShared && !seen[f] {
				seen[f] = true
				h, _ := hashPage(m.host.frameBytes(f))
				byHash[h] = append(byHash[h], shareCand{frame: f})
			}
		})
	}
	for _, r := range m.ranges {
		if r.Spec.Type != TypeRAM {
			continue
		}
		r.EachInUse(func(i int) {
			p := &r.Pages[i]
			if p.State() != StateAllocated {
				return
			}
			st.Scanned++
			f, gpa := p.Frame(), r.GPA(i)
			b := m.host.frameBytes(f)
			h, zero := hashPage(b)
			if zero {
				m.host.release(uint32(f))
				m.transition(p, gpa, p.withBacking(StateZero, 0))
				st.Zeroed++
				st.FramesFreed++
				return
			}
			list := byHash[h]
			j := 0
			for j < len(list) && *m.host.frameBytes(list[j].frame) != *b {
				j++
			}
			if j == len(list) {
				byHash[h] = append(list, shareCand{frame: f, page: p, gpa: gpa})
				return
			}
			c := &list[j]
			if c.page != nil {
				// The earlier page's frame becomes the shared one: no copy,
				// but it loses write access like every shared page.
				m.transition(c.page, c.gpa, c.page.withBacking(StateShared, c.frame))
				c.page = nil
				st.Shared++
			}
			m.host.addRef(uint32(c.frame))
			m.host.release(uint32(f))
			m.transition(p, gpa, p.withBacking(StateShared, c.frame))
			st.Shared++
			st.FramesFreed++
		})
	}
	return st
}

// hashPage is FNV-1a taken a 64-bit word at a time (eight times fewer
// multiplications than bytewise), and reports whether the page is all
// zeros, which costs nothing extra in the same pass.
func hashPage(b *[x86.PageSize]byte) (h uint64, zero bool) {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h = offset
	var or uint64
	for i := 0; i < len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		or |= w
		h = (h ^ w) * prime
	}
	return h, or == 0
}
