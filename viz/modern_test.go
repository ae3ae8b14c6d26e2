package viz

import (
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
)

// texts is every text of a laid-out frame, by panel name.
func panelTexts(l *List) map[string][]string {
	out := map[string][]string{}
	for i := range l.Prims {
		p := &l.Prims[i]
		if p.Op == OpText {
			name := l.Panels[p.Panel].Name
			out[name] = append(out[name], string(l.TextOf(p)))
		}
	}
	return out
}

func containsAll(t *testing.T, what string, got []string, want []string) {
	t.Helper()
	all := strings.Join(got, " | ")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("%s lacks %q: %s", what, w, all)
		}
	}
}

// TestModernRights: at each fault of the modern guest the walk names
// the rule in words, beside the leaf and under the walk with the error
// code; the mode bar shows PCID, SMEP, SMAP, PKE, AC and PKRU in full at
// the smallest window; a leaf's protection key is in its entry.
func TestModernRights(t *testing.T) {
	for _, tc := range []struct {
		name, sample, at string
		va               uint64
		w, h             int // 0: the smallest window
		view             View
		mode, walk, hier []string
	}{
		{name: "smep", sample: "x86-modern.txt", at: "3241", view: ViewWalk,
			mode: []string{"PCIDE", "SMEP", "SMAP", "PKE", "PCID", "AC", "PKRU"},
			walk: []string{"fault: SMEP", "#PF to the guest: SMEP: supervisor fetch from a user page, error code 0x11 = present + fetch"}},
		{name: "smap", sample: "x86-modern.txt", at: "3298", view: ViewWalk,
			walk: []string{"fault: SMAP", "SMAP: supervisor read of a user page with AC=0, error code 0x1 = present", "SMEP, SMAP and protection keys depend"}},
		{name: "key", sample: "x86-modern.txt", at: "3475", view: ViewWalk,
			mode: []string{"PCID", "1", "AC", "PKRU", "0x8"},
			walk: []string{"fault: key 1", " K1", "key 1: write disabled, error code 0x23 = present + write + protection key"}},
		{name: "linux", sample: "linux.txt", view: ViewHierarchy, va: 0x7f5ef3f49000, w: 1920, h: 1080,
			mode: []string{"LA57", "SMEP", "SMAP", "PKE", "CPL", "AC", "PKRU", "0x55555550"},
			hier: []string{"K1 → 0x293b000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.w == 0 {
				tc.w, tc.h = MinWidth, MinHeight
			}
			m := replay(t, scenario{sample: tc.sample, at: tc.at, view: tc.view, va: tc.va, hasVA: tc.va != 0, w: tc.w, h: tc.h})
			var l List
			Layout(m, &l)
			checkList(t, &l)
			got := panelTexts(&l)
			containsAll(t, "the mode bar", got["mode"], tc.mode)
			containsAll(t, "the walk", got["walk"], tc.walk)
			containsAll(t, "the hierarchy", got["hierarchy"], tc.hier)
			for _, s := range got["mode"] {
				if strings.HasSuffix(s, "…") {
					t.Errorf("the mode bar cuts %q", s)
				}
			}
		})
	}
}

// TestTimelineModernFaults: faults that SMEP, SMAP or a key caused are
// the guest's faults on the timeline, not the hypervisor's traps.
func TestTimelineModernFaults(t *testing.T) {
	tl := NewTimeline(64)
	var want, modern uint32
	replaySample(t, "x86-modern.txt", func(_ *engine.Shadow, o *engine.Outcome) {
		tl.Add(o)
		if !o.Event.Kind.Access() {
			return
		}
		switch o.Path {
		case engine.PathSMEPFault, engine.PathSMAPFault, engine.PathKeyFault:
			modern++
			want++
		case engine.PathGuestFault, engine.PathGP:
			want++
		}
	})
	var faults uint32
	for i := range tl.Buckets {
		faults += tl.Buckets[i].Faults
	}
	if modern < 4 || faults != want {
		t.Errorf("x86-modern.txt: the timeline counts %d guest faults, want %d (%d of them SMEP, SMAP or key faults, want at least 4)", faults, want, modern)
	}
	for _, p := range []engine.Path{engine.PathSMEPFault, engine.PathSMAPFault, engine.PathKeyFault, engine.PathGuestFault, engine.PathGP} {
		if !GuestFault(p) || pathColor(p) != Vermilion {
			t.Errorf("%v: guest fault %v, colour %v", p, GuestFault(p), pathColor(p))
		}
	}
	for _, p := range []engine.Path{engine.PathTLBHit, engine.PathSyncPage, engine.PathDirtyTrap} {
		if GuestFault(p) {
			t.Errorf("%v counted as a guest fault", p)
		}
	}
}
