package engine

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// TestSnapshotsSharePages: snapshots of save events keep a page that did
// not change once, however many hold it; a changed page costs its own
// copy; the total is capped, and a save over the cap is an error that
// leaves the snapshots as they were.
func TestSnapshotsSharePages(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Ranges = []phys.RangeSpec{{Type: phys.TypeRAM, Start: 0, Size: 64 << 20, Name: "ram"}}
	s, err := NewShadow(cfg)
	if err != nil {
		t.Fatal(err)
	}
	apply := func(ev Event) error {
		_, err := s.Apply(ev)
		return err
	}
	const pages = 1000
	for i := range uint64(pages) {
		if err := apply(Event{Kind: EvPhysWrite, Size: 8, Addr: i << 12, Value: i + 1}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"a", "b", "c", "d", "a"} {
		if err := apply(Event{Kind: EvSave, Text: name}); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := s.snaps.total, uint64(pages*4096); got != want {
		t.Fatalf("4 snapshots of the same %d pages hold %d bytes; want %d (each page once)", pages, got, want)
	}
	// One page changes: the next snapshot adds that page only.
	if err := apply(Event{Kind: EvPhysWrite, Size: 8, Addr: 5 << 12, Value: 99}); err != nil {
		t.Fatal(err)
	}
	if err := apply(Event{Kind: EvSave, Text: "e"}); err != nil {
		t.Fatal(err)
	}
	if got, want := s.snaps.total, uint64((pages+1)*4096); got != want {
		t.Fatalf("after one page changed: %d bytes; want %d", got, want)
	}
	// Restores see each snapshot's own bytes.
	for _, tc := range []struct {
		name string
		want uint64
	}{{"e", 99}, {"a", 6}} {
		if err := apply(Event{Kind: EvRestore, Text: tc.name}); err != nil {
			t.Fatal(err)
		}
		if got := s.mem.Read(5<<12, 8); got != tc.want {
			t.Errorf("after restore %s: page 5 holds %d, want %d", tc.name, got, tc.want)
		}
	}
	// Dropping a name's pages: saving "e" again now shares everything
	// with "a" (the machine is back to a's state), so page 5's second
	// version is freed.
	if err := apply(Event{Kind: EvSave, Text: "e"}); err != nil {
		t.Fatal(err)
	}
	if got, want := s.snaps.total, uint64(pages*4096); got != want {
		t.Errorf("after saving e again: %d bytes; want %d", got, want)
	}

	// The cap.
	s.SetSnapshotLimit(pages*4096 + 4096)
	for i := range uint64(2) {
		apply(Event{Kind: EvPhysWrite, Size: 8, Addr: (pages + i) << 12, Value: 7})
	}
	before := s.snaps.total
	err = apply(Event{Kind: EvSave, Text: "f"})
	if !errors.Is(err, ErrSnapshotMemory) || !strings.Contains(err.Error(), `save "f"`) || !strings.Contains(err.Error(), "the limit is") {
		t.Fatalf("save over the limit: %v", err)
	}
	if s.snaps.total != before || s.snaps.byName["f"] != nil {
		t.Errorf("a refused save changed the snapshots: %d bytes (was %d)", s.snaps.total, before)
	}
	if err := apply(Event{Kind: EvRestore, Text: "f"}); !errors.Is(err, ErrNoSnapshot) {
		t.Errorf("restore of the refused snapshot: %v", err)
	}
}

// TestSnapshotsShareLiveFrames: a save does not copy the pages it keeps
// (it allocates far less than their bytes); they stay shared with the
// live machine until it writes them, each written page is copied once,
// and every snapshot still restores its own bytes, on both engines and
// whichever way the write reaches the page (a physical write, a guest
// write through the TLB, the accessed and dirty bits of a walk).
func TestSnapshotsShareLiveFrames(t *testing.T) {
	const pages = 2000
	cfg := DefaultConfig()
	cfg.Ranges = []phys.RangeSpec{{Type: phys.TypeRAM, Start: 0, Size: 64 << 20, Name: "ram"}}
	for _, kind := range []string{"shadow", "reference"} {
		t.Run(kind, func(t *testing.T) {
			var e interface {
				Apply(Event) (Outcome, error)
			}
			var g *guest
			if kind == "shadow" {
				s, err := NewShadow(cfg)
				if err != nil {
					t.Fatal(err)
				}
				e, g = s, &s.guest
			} else {
				r, err := NewReference(cfg)
				if err != nil {
					t.Fatal(err)
				}
				e, g = r, &r.guest
			}
			apply := func(ev Event) Outcome {
				t.Helper()
				o, err := e.Apply(ev)
				if err != nil {
					t.Fatalf("%s: %v", ev.Op(), err)
				}
				return o
			}
			// 32-bit paging: the page directory at 40 MiB maps the first
			// 4 MiB with a page table after it, identity.
			const pd, pt = 40 << 20, 40<<20 + 4096
			for i := range uint64(pages) {
				apply(Event{Kind: EvPhysWrite, Size: 8, Addr: (16 + i) << 12, Value: i + 1})
			}
			apply(Event{Kind: EvPhysWrite, Size: 4, Addr: pd, Value: pt | 7})
			for i := range uint64(1024) {
				apply(Event{Kind: EvPhysWrite, Size: 4, Addr: pt + 4*i, Value: i<<12 | 7})
			}
			apply(Event{Kind: EvCR3, Value: pd})
			apply(Event{Kind: EvCR0, Value: x86.CR0PE | x86.CR0PG})

			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			apply(Event{Kind: EvSave, Text: "a"})
			runtime.ReadMemStats(&after)
			held := uint64(pages+2) * 4096
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > held/4 {
				t.Errorf("a save of %d pages allocated %d bytes: it copies them", pages+2, alloc)
			}
			if n := g.mem.Frozen(); n != pages+2 {
				t.Errorf("%d frames shared with the snapshot, want %d", n, pages+2)
			}
			// Writes of every kind: a physical write, a guest write (the
			// TLB path, twice: the second one hits), a read whose walk
			// sets accessed bits in the tables.
			apply(Event{Kind: EvPhysWrite, Size: 8, Addr: 16 << 12, Value: 1000})
			apply(Event{Kind: EvWrite, Size: 8, Addr: 17 << 12, Value: 1001})
			apply(Event{Kind: EvWrite, Size: 8, Addr: 17<<12 + 8, Value: 1002})
			apply(Event{Kind: EvRead, Size: 8, Addr: 18 << 12})
			if o := apply(Event{Kind: EvRead, Size: 8, Addr: 17 << 12}); o.Value != 1001 {
				t.Fatalf("the live machine reads %d after writing 1001", o.Value)
			}
			if n := g.mem.Frozen(); n != pages+2-4 {
				t.Errorf("after writing 2 data pages and 2 table pages, %d frames shared, want %d", n, pages+2-4)
			}
			if err := g.mem.Check(); err != nil {
				t.Fatal(err)
			}
			apply(Event{Kind: EvSave, Text: "b"})
			if got, want := g.snaps.total, uint64(pages+2+4)*4096; got != want {
				t.Errorf("two snapshots hold %d bytes, want %d (the 4 written pages twice)", got, want)
			}
			apply(Event{Kind: EvRestore, Text: "a"})
			for i, want := range []uint64{1, 2, 0, 4} {
				addr := uint64(16+i) << 12
				if i == 2 {
					addr = 17<<12 + 8
				}
				if got := apply(Event{Kind: EvRead, Size: 8, Addr: addr}).Value; got != want {
					t.Errorf("restored a: %#x holds %d, want %d", addr, got, want)
				}
			}
			apply(Event{Kind: EvRestore, Text: "b"})
			if got := apply(Event{Kind: EvRead, Size: 8, Addr: 17<<12 + 8}).Value; got != 1002 {
				t.Errorf("restored b: 17<<12+8 holds %d, want 1002", got)
			}
			// Saving both names again over the same machine lets the
			// pages only "a" held go: they are no longer shared.
			apply(Event{Kind: EvSave, Text: "a"})
			if got, want := g.snaps.total, uint64(pages+2)*4096; got != want {
				t.Errorf("two snapshots of the same machine hold %d bytes, want %d", got, want)
			}
			if err := g.mem.Check(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
