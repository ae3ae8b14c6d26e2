package qemu

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// PhysReader reads guest-physical memory: a *Core, or a gdbstub in
// physical-memory mode.
type PhysReader interface {
	ReadPhys(gpa uint64, b []byte) error
}

// Limits on what a walk of the guest's tables collects. A real 4-level
// guest of a few GiB has a few hundred to a few thousand table pages;
// Linux's espfix area alone repeats one page table thousands of times,
// which is why leaves are counted separately from pages.
const (
	MaxTablePages = 1 << 16 // 256 MiB of table copies
	MaxLeaves     = 1 << 24 // visits of present leaves in one walk (default of Options.MaxLeaves)
)

// ErrTooBig is matched by errors about a walk that passed a limit.
var ErrTooBig = errors.New("page tables beyond the reader's limits")

// Table is one guest table page (or, for legacy PAE, the 32-byte PDPT)
// as it was read: where it is, at which level it was first reached, and
// its raw bytes.
type Table struct {
	GPA   uint64
	Level x86.LevelKind
	Raw   []byte // Entries * EntrySize bytes
	size  uint8
}

// Entry returns entry i.
func (t *Table) Entry(i int) x86.Entry {
	if t.size == 4 {
		return x86.Entry(binary.LittleEndian.Uint32(t.Raw[i*4:]))
	}
	return x86.Entry(binary.LittleEndian.Uint64(t.Raw[i*8:]))
}

// Len is the number of entries.
func (t *Table) Len() int { return len(t.Raw) / int(t.size) }

// EntrySize is 4 (32-bit paging) or 8.
func (t *Table) EntrySize() uint8 { return t.size }

// Tables are the page tables reachable from one CR3, each page read once
// even when several entries (or levels) point at it.
type Tables struct {
	Format *x86.Format
	Root   uint64            // the top table's address (CR3 with the flag bits masked off)
	Pages  []*Table          // in the order they were reached (breadth first from the root)
	byGPA  map[uint64]*Table // the same, by address
	// NXUsed: a present entry has bit 63 set (reachable tables only),
	// which a guest does only with EFER.NXE on.
	NXUsed bool
	// Dangling counts present entries pointing at a table outside the
	// memory that could be read; they are kept as written but not followed.
	Dangling int
	// LeafLimit bounds the leaves one call of Leaves visits (0: MaxLeaves).
	LeafLimit int
}

// ReadTables reads the tables reachable from cr3 in mode m (a paging
// mode; cr4 for 32-bit PSE; maxPhys as the CPU's MAXPHYADDR). Entries
// are followed whatever their other bits: rights and reserved bits are
// the engine's business when the trace is replayed. m is taken with NX
// on so that bit 63 is not treated as reserved while reading.
func ReadTables(mem PhysReader, m x86.Mode, cr3, cr4 uint64, maxPhys uint8) (*Tables, error) {
	f, err := x86.NewFormat(m.WithNX(), cr4, maxPhys)
	if err != nil {
		return nil, err
	}
	if f.N == 0 {
		return nil, fmt.Errorf("paging is off (%v): there are no page tables to read", m)
	}
	t := &Tables{Format: f, Root: cr3 & f.RootMask, byGPA: map[uint64]*Table{}}
	type item struct {
		gpa   uint64
		level int
	}
	seen := map[item]bool{}
	queue := []item{{t.Root, 0}}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		if seen[it] {
			continue
		}
		seen[it] = true
		lv := &f.Levels[it.level]
		tb, ok := t.byGPA[it.gpa]
		if !ok {
			if len(t.Pages) >= MaxTablePages {
				return nil, fmt.Errorf("%w: more than %d table pages", ErrTooBig, MaxTablePages)
			}
			tb = &Table{GPA: it.gpa, Level: lv.Kind, size: lv.EntrySize, Raw: make([]byte, lv.Entries()*int(lv.EntrySize))}
			if err := mem.ReadPhys(it.gpa, tb.Raw); err != nil {
				if it.level == 0 {
					return nil, fmt.Errorf("CR3 %#x: the top table: %w", cr3, err)
				}
				t.Dangling++
				continue
			}
			if allZero(tb.Raw) {
				// Share one zero page: a hostile core can point many entries at
				// distinct pages it does not store (they read as zeros), and
				// those must not cost a page each.
				tb.Raw = zeroPage[:len(tb.Raw)]
			}
			t.byGPA[it.gpa] = tb
			t.Pages = append(t.Pages, tb)
		}
		for i := 0; i < tb.Len(); i++ {
			e := tb.Entry(i)
			if !e.Present() {
				continue
			}
			if e.NoExec() && f.Mode.PAEFormat() {
				t.NXUsed = true
			}
			if it.level == f.N-1 || lv.Big(e) {
				continue
			}
			queue = append(queue, item{uint64(lv.Table(e)), it.level + 1})
		}
	}
	return t, nil
}

// Leaf is a present leaf reached from the root: a page and the rights
// accumulated on the way (RW and US ANDed, NX ORed over the levels).
type Leaf struct {
	VA    uint64 // canonical linear address of the page
	Size  uint64 // 4 KiB, 2 MiB, 4 MiB or 1 GiB
	PA    uint64 // physical base of the page
	Entry x86.Entry
	Level x86.LevelKind
	User  bool
	Write bool
	NX    bool
}

// Leaves visits every present leaf in address order, through the tables
// read (an entry pointing at a table that could not be read is skipped).
// It stops when visit returns false, or with an error matching ErrTooBig
// after MaxLeaves leaves (tables that point back at themselves can make
// the number explode).
func (t *Tables) Leaves(visit func(Leaf) bool) error {
	f := t.Format
	n, limit := 0, t.LeafLimit
	if limit <= 0 {
		limit = MaxLeaves
	}
	var walk func(tb *Table, level int, va uint64, user, write, nx bool) (bool, error)
	walk = func(tb *Table, level int, va uint64, user, write, nx bool) (bool, error) {
		lv := &f.Levels[level]
		for i := 0; i < tb.Len(); i++ {
			e := tb.Entry(i)
			if !e.Present() {
				continue
			}
			a := va | uint64(i)<<lv.Shift
			u, w, x := user && e.User(), write && e.Writable(), nx || (f.NX && e.NoExec())
			if lv.Register {
				u, w, x = user, write, nx
			}
			if level == f.N-1 || lv.Big(e) {
				if n++; n > limit {
					return false, fmt.Errorf("%w: more than %d leaves (tables that point back at themselves?)", ErrTooBig, limit)
				}
				l := Leaf{VA: t.canonical(a), Size: lv.Covers(), PA: uint64(lv.PageBase(e)), Entry: e, Level: lv.Kind, User: u, Write: w, NX: x}
				if !visit(l) {
					return false, nil
				}
				continue
			}
			next, ok := t.byGPA[uint64(lv.Table(e))]
			if !ok {
				continue
			}
			if more, err := walk(next, level+1, a, u, w, x); !more || err != nil {
				return false, err
			}
		}
		return true, nil
	}
	root, ok := t.byGPA[t.Root]
	if !ok {
		return nil
	}
	_, err := walk(root, 0, 0, true, true, false)
	return err
}

// canonical sign-extends a linear address of a long-mode format.
func (t *Tables) canonical(va uint64) uint64 {
	b := t.Format.VABits
	if !t.Format.Mode.Long() || b >= 64 {
		return va
	}
	if va&(1<<(b-1)) != 0 {
		va |= ^uint64(0) << b
	}
	return va
}

// Translate walks va through the tables read, without rights checks,
// as QEMU's gva2gpa does: the physical address, or false when va is not
// mapped (or its walk leaves the tables that could be read).
func (t *Tables) Translate(va uint64) (uint64, bool) {
	f := t.Format
	if !f.Canonical(x86.GVA(va)) {
		return 0, false
	}
	va = uint64(f.Linear(x86.GVA(va)))
	tb, ok := t.byGPA[t.Root]
	for level := 0; ok; level++ {
		lv := &f.Levels[level]
		e := tb.Entry(int(lv.Index(x86.GVA(va))))
		if !e.Present() {
			return 0, false
		}
		if level == f.N-1 || lv.Big(e) {
			return uint64(lv.PageBase(e)) + va&(lv.Covers()-1), true
		}
		tb, ok = t.byGPA[uint64(lv.Table(e))]
	}
	return 0, false
}

var zeroPage [4096]byte

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
