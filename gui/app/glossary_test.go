package app

import (
	"regexp"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/viz"
)

// numberish is a value rather than a word: an address, a count, a file.
var numberish = regexp.MustCompile(`^(0x[0-9a-f_]+|[0-9,]+|event .*|.*\.txt|[0-9a-f]+)$`)

// TestGlossary: every word of the mode bar, every path in Recent events
// and every legend has an explanation at each step of the tour, and
// hovering shows it (a statistic shows what it counts).
func TestGlossary(t *testing.T) {
	missing := map[string]bool{}
	// The Linux sample's tour first (a real kernel's registers), then the
	// guided tour, whose app the hover checks below use.
	var a *App
	for _, sample := range []string{"linux.txt", "modes-tour.txt"} {
		a = newTest(t, State{Source: Source{Sample: sample}})
		a.exercises = false
		glossaryMissing(a, missing)
	}
	for m := range missing {
		t.Errorf("no glossary entry for %q", m)
	}

	// Hover: the mode bar's "switcher", then a statistic.
	a.SetView(viz.ViewOverview)
	a.dirty = true
	l, _ := a.Frame()
	hover := func(want string) string {
		for i := range l.Prims {
			p := &l.Prims[i]
			if p.Op == viz.OpText && string(l.TextOf(p)) == want {
				a.Update(Input{MouseX: int(p.X) + 2, MouseY: int(p.Y) + 2, MouseIn: true})
				return strings.Join(tooltip(a), "\n")
			}
		}
		t.Fatalf("no %q on the screen", want)
		return ""
	}
	if tip := hover("switcher"); !strings.Contains(tip, "moves the processor between") {
		t.Errorf("hovering switcher: %q", tip)
	}
	a.SetView(viz.ViewMemory)
	a.dirty = true
	l, _ = a.Frame()
	for _, r := range l.Regions {
		if r.ID.Kind != viz.HitCounter {
			continue
		}
		a.Update(Input{MouseX: r.R.X + 2, MouseY: r.R.Y + 2, MouseIn: true})
		s, _ := a.p.eng.Stats().Lookup(r.ID.Name)
		first, _, _ := strings.Cut(s.Desc, " ")
		if tip := strings.Join(tooltip(a), " "); s.Desc == "" || !strings.Contains(tip, first) {
			t.Errorf("hovering %s: %q, want what it counts (%q)", r.ID.Name, tip, s.Desc)
		}
		return
	}
	t.Error("no statistic on the screen")
}

// tooltip is the text of the tooltip the frame draws, if any.
func tooltip(a *App) []string {
	a.dirty = true
	l, _ := a.Frame()
	var out []string
	for i := range l.Prims {
		p := &l.Prims[i]
		if p.Op == viz.OpText && l.Panels[p.Panel].Name == "tooltip" {
			out = append(out, string(l.TextOf(p)))
		}
	}
	return out
}

// TestGlossaryModern: the words of today's MMU explain themselves, a
// protection key in an entry is read as one, and a word that merely
// starts with K is not.
func TestGlossaryModern(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"PCID", "process-context identifier"},
		{"PCIDE", "CR4 bit 17"},
		{"SMEP", "execution prevention"},
		{"SMAP", "access prevention"},
		{"AC", "RFLAGS.AC"},
		{"PKE", "protection keys"},
		{"PKRU", "rights register"},
		{"→ 0x200000 K3", "K3: the page's protection key"},
		{"→ 0x200000 K12", "K12: the page's protection key"},
		{"#PF smep-fault", "smep-fault"},
		{"#PF pkey-fault", "pkey-fault"},
		{"/PGM/PCID/NoFlushLoads", "/PGM/PCID"},
		{"#PF to the guest: key 3: write disabled, error code 0x27 = present + write + user + protection key", "protection key"},
	} {
		if got := glossaryFor(tc.text); !strings.Contains(got, tc.want) {
			t.Errorf("%q explains as %q, want %q in it", tc.text, got, tc.want)
		}
	}
	if got := glossaryFor("label at 45: Kernels live in the upper half"); strings.Contains(got, "protection key") {
		t.Errorf("a word starting with K reads as a key: %q", got)
	}
}

// glossaryMissing steps a tour through its labels and records every word
// of the mode bar and path of Recent events without an explanation.
func glossaryMissing(a *App, missing map[string]bool) {
	for range a.p.labels {
		a.StepUntil(UntilLabel)
		run(a)
		run(a)
		a.dirty = true
		l, _ := a.Frame()
		for i := range l.Prims {
			p := &l.Prims[i]
			if p.Op != viz.OpText {
				continue
			}
			s := strings.TrimSpace(string(l.TextOf(p)))
			panel := l.Panels[p.Panel].Name
			check := panel == "mode" && !numberish.MatchString(s) && len(s) > 2 && strings.ToUpper(s) != s
			check = check || panel == "mode" && len(s) > 1 && strings.ToUpper(s) == s && !numberish.MatchString(s)
			check = check || panel == "log" && strings.Contains(s, "-") && !strings.Contains(s, " ")
			if check && glossaryFor(s) == "" {
				missing[panel+": "+s] = true
			}
		}
	}
}

// TestGlossaryRegisterBits: every bit name the mode bar can show has an
// explanation of its own (a wide window shows the minor ones too).
func TestGlossaryRegisterBits(t *testing.T) {
	for _, name := range viz.RegisterBitNames() {
		if got := glossaryFor(name); !strings.HasPrefix(got, name+":") {
			t.Errorf("%s explains as %q", name, got)
		}
	}
}
