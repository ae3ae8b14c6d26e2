package engine_test

import (
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
)

// TestPathNumbers pins the outcome paths: the numbers are stable and the
// names are the vocabulary of `--outcomes=jsonl`.
func TestPathNumbers(t *testing.T) {
	tests := []struct {
		path engine.Path
		num  uint8
		name string
	}{
		{engine.PathNone, 0, ""},
		{engine.PathWalk, 1, "walk"},
		{engine.PathIdentity, 2, "identity"},
		{engine.PathTLBHit, 3, "tlb-hit"},
		{engine.PathShadowHit, 4, "shadow-hit"},
		{engine.PathSyncPage, 5, "sync-page"},
		{engine.PathSyncPT, 6, "sync-pt"},
		{engine.PathDirtyTrap, 7, "dirty-trap"},
		{engine.PathAccessedTrap, 8, "accessed-trap"},
		{engine.PathGuestFault, 9, "guest-fault"},
		{engine.PathGP, 10, "gp"},
		{engine.PathHandler, 11, "handler"},
		{engine.PathPoolEvict, 12, "pool-evict"},
		{engine.PathNestedWalk, 13, "nested-walk"},
		{engine.PathPhys, 14, "phys"},
		{engine.PathMonitorWrite, 15, "pt-write"},
		{engine.PathWPEmulation, 16, "wp-emulation"},
		{engine.PathNestedFault, 17, "nested-fault"},
		{engine.PathSMEPFault, 18, "smep-fault"},
		{engine.PathSMAPFault, 19, "smap-fault"},
		{engine.PathKeyFault, 20, "pkey-fault"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if uint8(tc.path) != tc.num {
				t.Errorf("number = %d, want %d", uint8(tc.path), tc.num)
			}
			if got := tc.path.String(); got != tc.name {
				t.Errorf("String() = %q, want %q", got, tc.name)
			}
		})
	}
	// Paths past the known ones print as numbers. (New paths are added
	// at the end; 255 stays unknown.)
	if got, want := engine.Path(255).String(), "Path(255)"; got != want {
		t.Errorf("Path(255).String() = %q, want %q", got, want)
	}
}

func TestNotesDistinct(t *testing.T) {
	all := []engine.Notes{engine.NoteModeChange, engine.NoteCR3Load, engine.NoteTLBFlush,
		engine.NoteTLBFlushAll, engine.NotePoolEvict, engine.NotePoolFlush, engine.NoteLabel}
	var seen engine.Notes
	for i, n := range all {
		if n == 0 || n&(n-1) != 0 {
			t.Errorf("note %d = %#x is not a single bit", i, uint32(n))
		}
		if seen&n != 0 {
			t.Errorf("note %d = %#x reuses a bit", i, uint32(n))
		}
		seen |= n
	}
}

func TestReported(t *testing.T) {
	tests := []struct {
		ev   engine.Event
		want bool
	}{
		{engine.Event{Kind: engine.EvRead, Size: 4}, true},
		{engine.Event{Kind: engine.EvWrite, Size: 4}, true},
		{engine.Event{Kind: engine.EvExec}, true},
		{engine.Event{Kind: engine.EvPhysRead, Size: 4}, true},
		{engine.Event{Kind: engine.EvPhysWrite, Size: 4}, false},
		{engine.Event{Kind: engine.EvCR0}, false},
		{engine.Event{Kind: engine.EvCR3}, false},
		{engine.Event{Kind: engine.EvCR4}, false},
		{engine.Event{Kind: engine.EvEFER}, false},
		{engine.Event{Kind: engine.EvCPL}, false},
		{engine.Event{Kind: engine.EvInvlpg}, false},
		{engine.Event{Kind: engine.EvLabel}, false},
	}
	for _, tc := range tests {
		t.Run(tc.ev.Op(), func(t *testing.T) {
			o := engine.Outcome{Event: tc.ev}
			if got := o.Reported(); got != tc.want {
				t.Errorf("Reported() = %v, want %v", got, tc.want)
			}
		})
	}
}
