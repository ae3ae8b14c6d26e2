package viz

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// HitKind says what lies under a point.
type HitKind uint8

const (
	HitNone      HitKind = iota
	HitEntry             // an entry of a page table (guest, shadow or nested)
	HitGuestPage         // a guest physical page (or a group of pages) of the memory map
	HitPoolPage          // a page of the shadow pool
	HitCounter           // a statistics counter
	HitTimeline          // a position on the timeline
	HitOutcome           // a line of the event log
	HitWalkLevel         // a level of the walk inspector
	HitLinear            // a 4 MiB slot of the guest's linear space below 4 GiB (mappings panel)
)

var hitNames = [...]string{"none", "entry", "guest-page", "pool-page", "counter", "timeline", "outcome", "walk-level", "linear"}

func (k HitKind) String() string {
	if int(k) < len(hitNames) {
		return hitNames[k]
	}
	return "hit?"
}

// Hier names a page-table hierarchy.
type Hier uint8

const (
	HierGuest  Hier = iota // the guest's own tables (guest-physical addresses)
	HierShadow             // the shadow tables (host-physical addresses)
	HierNested             // the nested tables of nested paging (guest-physical to host)
	// HierIntermediate is the hypervisor's intermediate context: the
	// tables the world switch runs on (host-physical addresses).
	HierIntermediate
)

var hierNames = [...]string{"guest", "shadow", "nested", "intermediate"}

func (h Hier) String() string {
	if int(h) < len(hierNames) {
		return hierNames[h]
	}
	return "hier?"
}

// HitID describes what is at a place of the frame. Which fields mean
// something depends on Kind:
//
//   - HitEntry: Hier, Level, Table (the table's guest-physical address
//     for guest tables, host-physical for shadow and nested ones), Index
//     (the entry's index in its table) and Addr (the first address the
//     entry covers: a virtual address, or guest-physical for nested).
//   - HitGuestPage: Addr is the page's guest-physical address, Count the
//     number of pages the cell stands for (1 unless the map is dense).
//   - HitPoolPage: Index is the pool page index.
//   - HitCounter: Name is the statistic's path.
//   - HitTimeline: Event is the event index at that position.
//   - HitOutcome: Event is the outcome's event index, Addr its address.
//   - HitWalkLevel: Hier and Level; Index is the entry index.
//   - HitLinear: Addr is the slot's first linear address, Index its
//     number (the 32-bit page-directory index), Name the hypervisor
//     mapping there ("" for none).
type HitID struct {
	Kind  HitKind
	Hier  Hier
	Level x86.LevelKind
	Table uint64
	Index int
	Addr  uint64
	Count uint64
	Event uint64
	Name  string
}

func (h HitID) String() string {
	switch h.Kind {
	case HitEntry:
		return fmt.Sprintf("%v %v entry %d of table %#x (covers %#x)", h.Hier, h.Level, h.Index, h.Table, h.Addr)
	case HitGuestPage:
		return fmt.Sprintf("guest page %#x (%d pages)", h.Addr, h.Count)
	case HitPoolPage:
		return fmt.Sprintf("pool page %d", h.Index)
	case HitCounter:
		return "counter " + h.Name
	case HitTimeline:
		return fmt.Sprintf("timeline event %d", h.Event)
	case HitOutcome:
		return fmt.Sprintf("outcome of event %d", h.Event)
	case HitWalkLevel:
		return fmt.Sprintf("walk %v %v index %d", h.Hier, h.Level, h.Index)
	case HitLinear:
		if h.Name != "" {
			return fmt.Sprintf("linear slot %d at %#x (mapping %s)", h.Index, h.Addr, h.Name)
		}
		return fmt.Sprintf("linear slot %d at %#x", h.Index, h.Addr)
	}
	return "nothing"
}

// Region is a rectangle of the frame that answers hit tests. A grid
// region (Cols > 0) stands for N cells laid out row by row with a pitch
// of Pitch pixels: the cell under a point adds its number times Step to
// ID.Index and times Stride to ID.Addr (and, for the timeline, Event).
type Region struct {
	R      Rect
	ID     HitID
	Cols   int    // 0: the whole rectangle is one target
	Pitch  int    // cell pitch in pixels (grids)
	N      int    // number of cells (grids)
	Step   int    // index increment per cell
	Stride uint64 // address (or event) increment per cell
	// Span: the region is a horizontal scale of N cells over its
	// width, whatever the height (the timeline).
	Span bool
	// VABits, when not 0, sign-extends the computed Addr from bit
	// VABits-1 (long-mode virtual addresses).
	VABits uint8
}

// Hit adds a region answering id over r.
func (l *List) Hit(r Rect, id HitID) {
	if r.Empty() {
		return
	}
	l.Regions = append(l.Regions, Region{R: r, ID: id})
}

// HitGrid adds a grid region: n cells, cols per row, pitch pixels apart,
// starting at (x, y). Cell k answers id with Index + k*step and Addr
// (Event for the timeline) + k*stride.
func (l *List) HitGrid(x, y, cols, n, pitch, step int, stride uint64, id HitID) bool {
	if cols <= 0 || n <= 0 || pitch <= 0 {
		return false
	}
	rows := (n + cols - 1) / cols
	l.Regions = append(l.Regions, Region{R: Rect{x, y, min(cols, n) * pitch, rows * pitch}, ID: id, Cols: cols, Pitch: pitch, N: n, Step: step, Stride: stride})
	return true
}

// HitSpan adds a horizontal scale: the pixel column x of r answers id
// with Event + k*stride, k = (x - r.X) * n / r.W.
func (l *List) HitSpan(r Rect, n int, stride uint64, id HitID) {
	if r.Empty() || n <= 0 {
		return
	}
	l.Regions = append(l.Regions, Region{R: r, ID: id, N: n, Stride: stride, Span: true})
}

// HitGridVA is HitGrid for cells that cover virtual addresses of a
// format with vaBits-bit canonical addresses (0: no sign extension).
func (l *List) HitGridVA(x, y, cols, n, pitch int, stride uint64, vaBits uint8, id HitID) {
	if l.HitGrid(x, y, cols, n, pitch, 1, stride, id) && vaBits > 0 {
		l.Regions[len(l.Regions)-1].VABits = vaBits
	}
}

// HitTest returns what is under the pixel (x, y): the topmost region
// (the last added) that contains it. Gaps between the cells of a grid
// belong to the cell before them.
func (l *List) HitTest(x, y int) (HitID, bool) {
	for i := len(l.Regions) - 1; i >= 0; i-- {
		r := &l.Regions[i]
		if !r.R.Contains(x, y) {
			continue
		}
		if r.Cols == 0 && !r.Span {
			return r.ID, true
		}
		var k int
		if r.Span {
			k = int(int64(x-r.R.X) * int64(r.N) / int64(r.R.W))
		} else {
			col, row := (x-r.R.X)/r.Pitch, (y-r.R.Y)/r.Pitch
			k = row*r.Cols + col
			if col >= r.Cols || k >= r.N {
				continue
			}
		}
		id := r.ID
		id.Index += k * r.Step
		if id.Kind == HitTimeline {
			id.Event += uint64(k) * r.Stride
		} else {
			id.Addr += uint64(k) * r.Stride
			if b := r.VABits; b > 0 && b < 64 {
				id.Addr &= 1<<b - 1
				if id.Addr&(1<<(b-1)) != 0 {
					id.Addr |= ^uint64(0) << b
				}
			}
		}
		return id, true
	}
	return HitID{}, false
}
