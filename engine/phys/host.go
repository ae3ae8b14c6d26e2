package phys

import (
	"errors"
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Allocation chunk geometry, as the seed's global memory manager defines
// it: a chunk is 1 MiB of host memory (256 pages); a page id is the host
// frame number, its chunk id the page id shifted right by 8. Id 0 is NIL
// for both, so chunk 0 is never handed out.
const (
	ChunkShift    = 20
	ChunkIDShift  = ChunkShift - x86.PageShift
	PagesPerChunk = 1 << ChunkIDShift
	// MaxPageID is the last valid page id (28 bits: 1 TiB of host memory).
	MaxPageID = 1<<28 - 1
)

// ErrHostFull means every host page id is in use.
var ErrHostFull = errors.New("phys: host memory exhausted")

// Who holds a host frame. Guest frames are only released through guest
// memory operations, so Check can account for every one of them.
type frameOwner uint8

const (
	ownerFree  frameOwner = 0
	ownerZero  frameOwner = 1 // the shared zero page
	ownerGuest frameOwner = 2 // a private or shared guest page
	ownerOther frameOwner = 3 // allocated through Host.Alloc (the shadow pool, ...)
)

const (
	metaOwnerShift = 28
	metaRefsMask   = 1<<metaOwnerShift - 1
)

// hostChunk is one 1 MiB allocation chunk. Bytes are allocated per page
// on demand, so a chunk costs 5 KiB of bookkeeping plus its used pages:
// about 20 bytes per host frame on top of the guest's 8-byte descriptor.
type hostChunk struct {
	id     uint32
	bytes  [PagesPerChunk]*[x86.PageSize]byte
	meta   [PagesPerChunk]uint32  // owner<<28 | reference count
	frozen [PagesPerChunk]*Frozen // who shares the bytes until the next write (freeze.go)
}

// Host simulates host physical memory: an allocator of 4 KiB frames
// grouped in chunks, with reference counts for frames shared between
// guest pages. It is deterministic: freed frames are reused last-in
// first-out, new ones are numbered upwards from chunk 1.
type Host struct {
	chunks []*hostChunk // indexed by chunk id; chunks[0] is nil
	free   []uint32     // freed page ids, reused last-in first-out
	next   uint32       // lowest page id never handed out
	inUse  int          // frames with an owner, the zero page included
	zero   uint32       // page id of the zero page
	frozen int          // frames with a Frozen value (freeze.go)
}

// NewHost returns a host whose first frame is the shared zero page.
func NewHost() *Host {
	h := &Host{chunks: []*hostChunk{nil}, next: PagesPerChunk}
	h.zero, _ = h.alloc(ownerZero)
	return h
}

// ZeroPage is the host address of the shared zero page. Its bytes must
// stay zero; Memory.Check verifies it.
func (h *Host) ZeroPage() x86.HPA { return x86.HPA(uint64(h.zero) << x86.PageShift) }

// Alloc hands out one zero-filled frame with a reference count of 1 for
// a user outside guest memory (the shadow page pool, for instance).
func (h *Host) Alloc() (x86.HPA, error) {
	id, err := h.alloc(ownerOther)
	return x86.HPA(uint64(id) << x86.PageShift), err
}

// Free returns a frame obtained from Alloc. Frames owned by guest memory
// or the zero page are refused, as are frames not in use.
func (h *Host) Free(hpa x86.HPA) error {
	c, i := h.slot(x86.PageNumber(hpa))
	if c == nil || frameOwner(c.meta[i]>>metaOwnerShift) != ownerOther {
		return fmt.Errorf("phys: host frame %v was not allocated with Host.Alloc", hpa)
	}
	h.release(uint32(x86.PageNumber(hpa)))
	return nil
}

// Bytes is the content of the frame holding hpa, nil when that frame is
// not in use.
func (h *Host) Bytes(hpa x86.HPA) *[x86.PageSize]byte {
	c, i := h.slot(x86.PageNumber(hpa))
	if c == nil || c.meta[i] == 0 {
		return nil
	}
	return c.bytes[i]
}

// Refs is the reference count of the frame holding hpa (0 when free).
func (h *Host) Refs(hpa x86.HPA) int {
	c, i := h.slot(x86.PageNumber(hpa))
	if c == nil {
		return 0
	}
	return int(c.meta[i] & metaRefsMask)
}

// InUse is the number of frames in use, the zero page included.
func (h *Host) InUse() int { return h.inUse }

// Chunks is the number of allocation chunks ever created. Chunks are kept
// when they empty: the seed's fragmentation problem is modelled, not solved.
func (h *Host) Chunks() int { return len(h.chunks) - 1 }

// ChunkID is the allocation chunk of a host address.
func ChunkID(hpa x86.HPA) uint32 { return uint32(x86.PageNumber(hpa) >> ChunkIDShift) }

// slot finds the chunk and index of a page id; c is nil for ids that were
// never handed out.
func (h *Host) slot(id uint64) (c *hostChunk, i int) {
	cid := id >> ChunkIDShift
	if id == 0 || cid >= uint64(len(h.chunks)) {
		return nil, 0
	}
	return h.chunks[cid], int(id & (PagesPerChunk - 1))
}

// alloc takes a frame for owner: a freed one if any, else the next new id.
func (h *Host) alloc(owner frameOwner) (uint32, error) {
	var id uint32
	switch {
	case len(h.free) > 0:
		id = h.free[len(h.free)-1]
		h.free = h.free[:len(h.free)-1]
	case h.next <= MaxPageID:
		id = h.next
		h.next++
		if cid := id >> ChunkIDShift; int(cid) == len(h.chunks) {
			h.chunks = append(h.chunks, &hostChunk{id: cid})
		}
	default:
		return 0, ErrHostFull
	}
	c, i := h.slot(uint64(id))
	c.bytes[i] = new([x86.PageSize]byte)
	c.meta[i] = uint32(owner)<<metaOwnerShift | 1
	h.inUse++
	return id, nil
}

// addRef takes one more reference on an in-use frame.
func (h *Host) addRef(id uint32) {
	c, i := h.slot(uint64(id))
	c.meta[i]++
}

// release drops one reference; the last one frees the frame and lets its
// bytes go, so memory given back by sharing or ballooning really returns.
func (h *Host) release(id uint32) {
	c, i := h.slot(uint64(id))
	if c == nil || c.meta[i]&metaRefsMask == 0 || id == h.zero {
		return
	}
	c.meta[i]--
	if c.meta[i]&metaRefsMask != 0 {
		return
	}
	c.meta[i] = 0
	c.bytes[i] = nil
	if c.frozen[i] != nil {
		// The Frozen value keeps the bytes; nobody writes them any more.
		c.frozen[i].id = 0
		c.frozen[i] = nil
		h.frozen--
	}
	h.free = append(h.free, id)
	h.inUse--
}

// owner is who holds the frame with page id id.
func (h *Host) owner(id uint64) frameOwner {
	c, i := h.slot(id)
	if c == nil {
		return ownerFree
	}
	return frameOwner(c.meta[i] >> metaOwnerShift)
}

// frameBytes is the content of an in-use frame (no checks: internal).
func (h *Host) frameBytes(id uint64) *[x86.PageSize]byte {
	c, i := h.slot(id)
	if c == nil {
		return nil
	}
	return c.bytes[i]
}
