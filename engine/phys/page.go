package phys

import "fmt"

// Page is the descriptor of one guest physical page, packed into 8 bytes
// so that a 4 GiB guest costs 8 MiB of descriptors and nothing else until
// it touches memory. The seed budgets 16 bytes per page; we keep half.
//
// Bit layout (pinned by a test; saved states depend on it):
//
//	63..62  tracking: cRefs (0 none, 1 one shadow PT, 3 extent list)
//	61..48  tracking: shadow pool index or extent list head
//	47      spare, always zero
//	46      written-to: a write-monitored page has been written
//	45..44  virtual handler state
//	43..42  physical handler state
//	41..39  PageState
//	38..36  PageType
//	35..0   host frame number (HPA >> 12); 0 means none
//
// The tracking half-word sits where the seed kept it (bits 48..63 of its
// HCPhys word), so the constants of its encoding carry over unchanged.
//
// The zero value is a RAM page in state Zero with no frame, no handler and
// no tracking: a freshly allocated descriptor array needs no initialising.
// A page in state Zero or Ballooned always has frame 0; the shared zero
// page backs Zero pages implicitly (Memory.HostAddr names it).
type Page uint64

const (
	frameBits            = 36
	frameMask       Page = 1<<frameBits - 1
	typeShift            = 36
	typeMask        Page = 7 << typeShift
	stateShift           = 39
	stateMask       Page = 7 << stateShift
	physShift            = 42
	physMask        Page = 3 << physShift
	virtShift            = 44
	virtMask        Page = 3 << virtShift
	writtenBit      Page = 1 << 46
	spareBit        Page = 1 << 47
	trackShift           = 48
	trackMask       Page = 0xffff << trackShift
	maxFrame             = uint64(frameMask)
	backingStateMsk      = frameMask | stateMask | writtenBit
)

// Tracking half-word encoding (see Page): the top two bits count shadow
// page tables, the low fourteen name one pool page or an extent list.
const (
	TrackRefsShift            = 14
	TrackIdxMask       uint16 = 0x3fff
	TrackRefsPhysExt   uint16 = 3      // TrackIndex is the head of an extent list
	TrackIdxOverflowed uint16 = 0x3fff // with TrackRefsPhysExt: too many to track
)

// MakeTracking packs a reference count (0..3) and a pool index (0..0x3fff).
func MakeTracking(refs uint16, idx uint16) uint16 {
	return (refs&3)<<TrackRefsShift | idx&TrackIdxMask
}

// TrackRefs is the count part of a tracking half-word.
func TrackRefs(t uint16) uint16 { return t >> TrackRefsShift }

// TrackIndex is the index part of a tracking half-word.
func TrackIndex(t uint16) uint16 { return t & TrackIdxMask }

// makePage builds a descriptor with no handler and no tracking.
func makePage(t PageType, s PageState, frame uint64) Page {
	return Page(frame)&frameMask | Page(t)<<typeShift&typeMask | Page(s)<<stateShift&stateMask
}

// Type is what the page is (RAM, ROM, MMIO ...).
func (p Page) Type() PageType { return PageType((p & typeMask) >> typeShift) }

// State is how the page is backed.
func (p Page) State() PageState { return PageState((p & stateMask) >> stateShift) }

// Frame is the host frame number of a private or shared page, 0 for none.
func (p Page) Frame() uint64 { return uint64(p & frameMask) }

// PhysHandler is the state of the physical access handlers covering the page.
func (p Page) PhysHandler() HandlerState { return HandlerState((p & physMask) >> physShift) }

// VirtHandler is the state of the virtual access handlers covering the page.
func (p Page) VirtHandler() HandlerState { return HandlerState((p & virtMask) >> virtShift) }

// Handler is the stronger of the two handler states: the one that decides
// whether an access traps.
func (p Page) Handler() HandlerState { return max(p.PhysHandler(), p.VirtHandler()) }

// Tracking is the shadow-PT tracking half-word (see MakeTracking).
func (p Page) Tracking() uint16 { return uint16(p >> trackShift) }

// WrittenTo reports that the page was written while write-monitored.
func (p Page) WrittenTo() bool { return p&writtenBit != 0 }

// SetPhysHandler records the physical handler state; it never changes
// the backing, so it needs no notification.
func (p *Page) SetPhysHandler(h HandlerState) {
	*p = *p&^physMask | Page(h&3)<<physShift
}

// SetVirtHandler records the virtual handler state.
func (p *Page) SetVirtHandler(h HandlerState) {
	*p = *p&^virtMask | Page(h&3)<<virtShift
}

// SetTracking stores the shadow-PT tracking half-word.
func (p *Page) SetTracking(t uint16) {
	*p = *p&^trackMask | Page(t)<<trackShift
}

// withBacking returns p with a new state and frame, clearing written-to;
// handler and tracking bits are kept because they describe the guest
// page, not the host memory behind it.
func (p Page) withBacking(s PageState, frame uint64) Page {
	return p&^backingStateMsk | Page(frame)&frameMask | Page(s)<<stateShift&stateMask
}

// Backed reports whether the page type has bytes behind it (RAM-like or
// ROM); MMIO and reserved pages have none.
func (t PageType) Backed() bool { return t <= TypeROM }

// Writable reports whether guest writes reach the page's bytes.
func (t PageType) Writable() bool { return t <= TypeROMShadow }

// Writable reports whether the page may be written in place right now:
// a RAM-like page with a private frame that nobody monitors. A shadow PTE
// may map the page writable only when this holds (handlers aside).
func (p Page) Writable() bool {
	return p.Type().Writable() && p.State() == StateAllocated
}

// private reports whether the page owns a frame alone.
func (p Page) private() bool {
	s := p.State()
	return s == StateAllocated || s == StateWriteMonitored
}

// String is a short description for dumps: "RAM allocated frame=0x123 phys=write".
func (p Page) String() string {
	s := fmt.Sprintf("%v %v", p.Type(), p.State())
	if f := p.Frame(); f != 0 {
		s += fmt.Sprintf(" frame=%#x", f)
	}
	if p.WrittenTo() {
		s += " written"
	}
	if h := p.PhysHandler(); h != HandlerNone {
		s += " phys=" + h.String()
	}
	if h := p.VirtHandler(); h != HandlerNone {
		s += " virt=" + h.String()
	}
	if t := p.Tracking(); t != 0 {
		s += fmt.Sprintf(" track=%d/%#x", TrackRefs(t), TrackIndex(t))
	}
	return s
}
