package engine

import (
	"errors"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/phys"
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
