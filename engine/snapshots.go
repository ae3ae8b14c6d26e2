package engine

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Snapshots of a trace's save events. A snapshot does not copy the pages
// it keeps: it freezes them (phys.Freeze), sharing the live machine's
// frames until the machine is about to write one, and a page that did not
// change since the last save is the same frozen value in both snapshots.
// So a save costs the pages' descriptors, not their bytes, and memory
// grows only by the pages written after a save (each copied once, at its
// first write).

// MaxSnapshots bounds the named snapshots a trace may keep at once.
const MaxSnapshots = 64

// DefaultSnapshotBytes bounds the guest page bytes the snapshots of a
// trace's save events hold together (a page kept by several snapshots
// counts once): a trace of a few megabytes must not make the program hold
// tens of gigabytes. SetSnapshotLimit changes it.
const DefaultSnapshotBytes = 1 << 30

// ErrNoSnapshot is a restore of a name never saved.
var ErrNoSnapshot = errors.New("no snapshot of that name")

// ErrSnapshotMemory is a save that would take the snapshots over their
// memory limit.
var ErrSnapshotMemory = errors.New("the snapshots would hold more guest memory than the limit")

// snapshots are the states trace save events keep, by name.
type snapshots struct {
	byName map[string]*snapshot
	latest map[uint64]*phys.Frozen // the last saved bytes of each page, by GPA
	refs   map[*phys.Frozen]int    // pages of snapshots holding each frozen page
	total  uint64                  // bytes of the distinct frozen pages held
	limit  uint64                  // on total; 0: DefaultSnapshotBytes
}

// snapshot is one saved state. Its pages carry no Data: their bytes are
// in frozen (by page of st; nil for a ballooned page).
type snapshot struct {
	st     *State
	frozen []*phys.Frozen
}

// SetSnapshotLimit sets the memory the snapshots of save events may hold
// together (bytes of guest pages, each distinct page once); 0 restores
// DefaultSnapshotBytes.
func (g *guest) SetSnapshotLimit(n uint64) { g.snaps.limit = n }

// saveSnapshot keeps the machine's state under name; it replaces what
// name held. Over MaxSnapshots names or the memory limit it fails and
// changes nothing.
func (g *guest) saveSnapshot(name string) error {
	sn := &g.snaps
	if sn.byName == nil {
		sn.byName, sn.latest, sn.refs = map[string]*snapshot{}, map[uint64]*phys.Frozen{}, map[*phys.Frozen]int{}
	}
	old, had := sn.byName[name]
	if !had && len(sn.byName) >= MaxSnapshots {
		return fmt.Errorf("save %q: more than %d snapshots", name, MaxSnapshots)
	}
	snap, err := g.frozenState()
	// Hold the new pages before letting go of the old ones: the pages
	// they share keep their count.
	sn.hold(snap, 1)
	if had {
		sn.hold(old, -1)
	}
	limit := sn.limit
	if limit == 0 {
		limit = DefaultSnapshotBytes
	}
	if err != nil || sn.total > limit {
		n := sn.total
		if had {
			sn.hold(old, 1)
		}
		sn.hold(snap, -1)
		sn.sweep(g.mem, snap)
		if err != nil {
			return fmt.Errorf("save %q: %w", name, err)
		}
		return fmt.Errorf("save %q: %w: %s of pages, the limit is %s", name, ErrSnapshotMemory, phys.FormatSize(n), phys.FormatSize(limit))
	}
	if had {
		sn.sweep(g.mem, old)
	}
	sn.byName[name] = snap
	for i, p := range snap.st.Pages {
		if f := snap.frozen[i]; f != nil {
			sn.latest[p.GPA] = f
		}
	}
	return nil
}

// frozenState is the machine's state with its pages frozen rather than
// copied. A page whose bytes equal those it had at the last save (or
// restore) takes that frozen value, so that unchanged pages are held once
// however many snapshots keep them.
func (g *guest) frozenState() (*snapshot, error) {
	snap := &snapshot{st: g.stateHeader()}
	n := 0
	for _, r := range g.mem.Ranges() {
		n += r.InUse()
	}
	snap.st.Pages, snap.frozen = make([]StatePage, 0, n), make([]*phys.Frozen, 0, n)
	var err error
	g.eachSavedPage(func(gpa x86.GPA, ballooned bool) {
		var f *phys.Frozen
		if !ballooned {
			f = g.snaps.latest[uint64(gpa)]
			if f == nil || !sameBytes(f.Bytes(), g.mem.PageBytes(gpa)) {
				var e error
				if f, e = g.mem.Freeze(gpa); e != nil && err == nil {
					err = e
				}
			}
		}
		snap.st.Pages = append(snap.st.Pages, StatePage{GPA: uint64(gpa), Ballooned: ballooned})
		snap.frozen = append(snap.frozen, f)
	})
	return snap, err
}

// sameBytes is bytes.Equal that does not read a page compared with
// itself (a page frozen and not written since).
func sameBytes(a, b []byte) bool {
	if len(a) > 0 && len(b) > 0 && &a[0] == &b[0] {
		return len(a) == len(b)
	}
	return bytes.Equal(a, b)
}

// hold counts snap's pages as held once more (d = 1) or once less
// (d = -1), and the total of the distinct pages held. A page whose count
// drops to zero stays known until sweep, so that a save that turns out
// to be refused can take its counts back.
func (sn *snapshots) hold(snap *snapshot, d int) {
	for _, f := range snap.frozen {
		if f == nil {
			continue
		}
		sn.refs[f] += d
		switch n := sn.refs[f]; {
		case n == 0:
			sn.total -= x86.PageSize
		case n == 1 && d > 0:
			sn.total += x86.PageSize
		}
	}
}

// sweep forgets the pages of snap that no snapshot holds any more, and
// unfreezes them: their frames need not be copied at their next write,
// and their bytes may go.
func (sn *snapshots) sweep(mem *phys.Memory, snap *snapshot) {
	for i, p := range snap.st.Pages {
		f := snap.frozen[i]
		if n, ok := sn.refs[f]; f == nil || !ok || n != 0 {
			continue
		}
		delete(sn.refs, f)
		if sn.latest[p.GPA] == f {
			delete(sn.latest, p.GPA)
		}
		mem.Unfreeze(f)
	}
}

// restore loads the snapshot a trace saved under name with apply (the
// engine's own way of taking a state); the event counter goes on.
func (g *guest) restore(name string, apply func(*State) error) error {
	snap, ok := g.snaps.byName[name]
	if !ok {
		return fmt.Errorf("restore %q: %w", name, ErrNoSnapshot)
	}
	st := *snap.st
	st.Pages = make([]StatePage, len(snap.st.Pages))
	for i, p := range snap.st.Pages {
		p.Data = snap.frozen[i].Bytes()
		st.Pages[i] = p
	}
	if err := apply(&st); err != nil {
		return err
	}
	// The machine now holds that snapshot's pages: the next save shares
	// them.
	for i, p := range st.Pages {
		if f := snap.frozen[i]; f != nil {
			g.snaps.latest[p.GPA] = f
		}
	}
	return nil
}
