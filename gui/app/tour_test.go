package app

import (
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/viz"
)

// run drives the app with empty input until the player is idle.
func run(a *App) {
	for i := 0; a.p.busy() && i < 100000; i++ {
		a.Update(Input{})
	}
}

// texts is every text drawn in the app's current frame, in order.
func texts(a *App) []string {
	a.dirty = true
	l, _ := a.Frame()
	var out []string
	for i := range l.Prims {
		if p := &l.Prims[i]; p.Op == viz.OpText {
			out = append(out, string(l.TextOf(p)))
		}
	}
	return out
}

func hasText(a *App, sub string) bool {
	for _, s := range texts(a) {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestTourStepShowsItsText: each step of the tour (n, as space does
// at a step) stops once its label's events are applied, before the next
// label; the timeline heading names the label the tour panel shows; and
// the step whose text says an access faults shows that fault.
func TestTourStepShowsItsText(t *testing.T) {
	a := newTest(t, State{Source: Source{Sample: "modes-tour.txt"}})
	a.exercises = false
	labels := a.p.labels
	if len(labels) < 20 {
		t.Fatalf("%d labels", len(labels))
	}
	sawFault := false
	for i, lab := range labels {
		a.StepUntil(UntilLabel)
		run(a)
		want := a.p.total
		if i+1 < len(labels) {
			want = labels[i+1].Event
		}
		if got := a.p.pos(); got != want {
			t.Fatalf("step %d (%.40q): stopped at %d, want %d (just before the next label)", i+1, lab.Text, got, want)
		}
		cur, ok := a.p.currentLabel()
		if !ok || cur.Event != lab.Event {
			t.Fatalf("step %d: the tour panel shows %v", i+1, cur)
		}
		if !hasText(a, "label at "+strconv.FormatUint(lab.Event, 10)+": ") {
			t.Errorf("step %d: the timeline heading does not name label %d: %q", i+1, lab.Event, texts(a))
		}
		if !hasText(a, "Step "+strconv.Itoa(i+1)+" of ") {
			t.Errorf("step %d: the tour panel does not say so", i+1)
		}
		if strings.Contains(lab.Text, "raises a page fault") {
			sawFault = true
			o := a.p.recent.LastAccess()
			if o == nil || o.Path != engine.PathGuestFault || o.Event.Addr != 0x401000 {
				t.Errorf("step %d says reading 0x401000 faults; the last access is %+v", i+1, o)
			}
		}
	}
	if !sawFault {
		t.Error("no step about a page fault")
	}
	// Past the last step, n stays and says so.
	end := a.p.pos()
	a.StepUntil(UntilLabel)
	run(a)
	if a.p.pos() != end || !strings.Contains(a.toast, "no further step") {
		t.Errorf("n at the end: at %d (was %d), message %q", a.p.pos(), end, a.toast)
	}
	// p goes back a step at a time.
	a.PrevLabel()
	run(a)
	if got := a.p.pos(); got != labels[len(labels)-1].Event {
		t.Errorf("p from the last step: at %d, want %d", got, labels[len(labels)-1].Event)
	}
}

// TestNothingAhead: f, m and n with nothing ahead keep the place and
// say so; F and M go back to the previous fault and mode change.
func TestNothingAhead(t *testing.T) {
	tourOff := false
	a, err := New(Options{State: State{Source: Source{Sample: "modes-tour.txt"}}, Tour: &tourOff})
	if err != nil {
		t.Fatal(err)
	}
	a.Settle()
	var faults, modes []uint64
	for _, l := range []struct {
		u   Until
		dst *[]uint64
	}{{UntilFault, &faults}, {UntilMode, &modes}} {
		a.Seek(0)
		a.Settle()
		for {
			before := a.p.pos()
			a.StepUntil(l.u)
			run(a)
			if a.p.pos() == before {
				if want := "no further " + l.u.String(); !strings.Contains(a.toast, want) {
					t.Errorf("%v with nothing ahead: message %q, want %q", l.u, a.toast, want)
				}
				break
			}
			*l.dst = append(*l.dst, a.p.pos()-1)
		}
	}
	if len(faults) < 5 || len(modes) < 5 {
		t.Fatalf("faults %v, modes %v", faults, modes)
	}
	// Back through every fault from the end, then nothing earlier.
	a.Seek(a.p.total)
	a.Settle()
	for i := len(faults) - 1; i >= 0; i-- {
		a.PrevFault()
		run(a)
		if got := a.p.pos(); got != faults[i]+1 || !UntilFault.matches(&a.p.last) {
			t.Fatalf("F #%d: at %d on %v, want just after the fault at %d", len(faults)-i, got, a.p.last.Path, faults[i])
		}
	}
	a.toast = ""
	a.PrevFault()
	run(a)
	if a.p.pos() != faults[0]+1 || !strings.Contains(a.toast, "no earlier fault") {
		t.Errorf("F before the first fault: at %d, message %q", a.p.pos(), a.toast)
	}
	a.Seek(a.p.total)
	a.Settle()
	a.PrevMode()
	run(a)
	if got := a.p.pos(); got != modes[len(modes)-1]+1 {
		t.Errorf("M from the end: at %d, want %d", got, modes[len(modes)-1]+1)
	}
	// The keys reach them.
	a.Seek(a.p.total)
	a.Settle()
	a.Update(Input{Chars: []rune{'F'}})
	run(a)
	if got := a.p.pos(); got != faults[len(faults)-1]+1 {
		t.Errorf("key F: at %d", got)
	}
}

// TestFileStatsMatchReplay: a trace opened from a file shows at an event
// the statistics and pool of a replay from the start, not those of the
// pass that indexed it.
func TestFileStatsMatchReplay(t *testing.T) {
	const at = 2000
	path := filepath.Join("..", "..", "traces", "samples", "multiprocess.txt")
	want := newTest(t, State{Source: Source{Sample: "multiprocess.txt"}, Event: at})
	// The binary form too: its first open builds checkpoints.
	bin := filepath.Join(t.TempDir(), "multiprocess.pgmt")
	convert(t, path, bin)
	for _, src := range []Source{{File: path}, {File: path}, {File: bin}, {File: bin}} {
		got := newTest(t, State{Source: src, Event: at})
		if got.p.pos() != at {
			t.Fatalf("at %d", got.p.pos())
		}
		for _, name := range []string{"/PGM/R3/Page/MapTlbHits", "/PGM/SyncPT"} {
			g, _ := got.p.eng.Stats().Lookup(name)
			w, _ := want.p.eng.Stats().Lookup(name)
			if g != w {
				t.Errorf("%s at %d: %+v from the file, %+v replayed", name, at, g, w)
			}
		}
		if g, w := got.p.eng.Pool().UsedHigh, want.p.eng.Pool().UsedHigh; g != w {
			t.Errorf("pool peak at %d: %d from the file, %d replayed", at, g, w)
		}
		got.p.close()
	}
}

// TestTourChapters walks the whole tour: every step rings the element
// its "Look at" names (inside that panel), the hypervisor chapters show
// what their text says in the events of the step (with nested paging for
// the nested chapter, in view 5 for the mappings), and going back to a
// shadow step puts the trace's own engine back.
func TestTourChapters(t *testing.T) {
	a := newTest(t, State{Source: Source{Sample: "modes-tour.txt"}})
	a.exercises = false
	wantPath := map[string]engine.Path{
		"The TLB (translation lookaside buffer)": engine.PathTLBHit,
		"A sync on a fault":                      engine.PathSyncPage,
		"Dirty-bit tracking by write protection": engine.PathDirtyTrap,
		"Write monitoring":                       engine.PathMonitorWrite,
		"The 2D walk":                            engine.PathNestedWalk,
		"A nested fault":                         engine.PathNestedFault,
		"SMEP (supervisor-mode":                  engine.PathSMEPFault,
		"stac and clac":                          engine.PathSMAPFault,
		"Now the program's write":                engine.PathKeyFault,
	}
	seen := map[string]bool{}
	sawNoFlushHit := false
	for i := range a.p.labels {
		a.StepUntil(UntilLabel)
		run(a)
		run(a) // a step that changes the engine replays once more
		lab, _ := a.p.currentLabel()
		st := tourStepFor(lab.Text)
		if st == nil {
			t.Fatalf("step %d (%.50q) has no Look at", i+1, lab.Text)
		}
		a.dirty = true
		l, _ := a.Frame()
		r, ok := a.lookRect()
		var panel viz.Rect
		for _, p := range l.Panels {
			if p.Name == st.look.panel {
				panel = p.R
			}
		}
		ringed := false
		for _, p := range l.Panels {
			ringed = ringed || p.Name == "look"
		}
		if !ok || !ringed || panel.Empty() || !r.In(panel) {
			t.Errorf("step %d (%.50q): Look at %q: ring %v %v in panel %v, drawn %v", i+1, lab.Text, st.look.panel, r, ok, panel, ringed)
		}
		if got := a.p.cfg.Paging == engine.PagingNested; got != st.nested {
			t.Errorf("step %d (%.50q): nested paging %v, want %v", i+1, lab.Text, got, st.nested)
		}
		if va, ok := a.model.SelectedVA(); st.va != 0 && (!ok || va != st.va) {
			t.Errorf("step %d (%.50q): the walk follows %#x, want %#x", i+1, lab.Text, uint64(va), uint64(st.va))
		}
		if st.setView && a.view != st.view {
			t.Errorf("step %d (%.50q): view %v, want %v", i+1, lab.Text, a.view, st.view)
		}
		// The PCID step: a read right after a CR3 load with bit 63 hits
		// the TLB (the point of the step, not any tlb-hit of it).
		if strings.Contains(lab.Text, "CR3 bit 63") {
			for j := 1; j < a.p.recent.Len(); j++ {
				prev, o := a.p.recent.At(j-1), a.p.recent.At(j)
				if o.Index > lab.Event && prev.Event.Kind == engine.EvCR3 && prev.Event.Value&(1<<63) != 0 && o.Path == engine.PathTLBHit {
					sawNoFlushHit = true
				}
			}
		}
		for key, path := range wantPath {
			if !strings.Contains(lab.Text, key) {
				continue
			}
			seen[key] = true
			found := false
			for j := 0; j < a.p.recent.Len(); j++ {
				if o := a.p.recent.At(j); o.Index > lab.Event && o.Path == path {
					found = true
				}
			}
			if !found {
				t.Errorf("step %d (%.50q): no %v among its events", i+1, lab.Text, path)
			}
		}
	}
	if !sawNoFlushHit {
		t.Error("the PCID step shows no tlb-hit right after a CR3 load with bit 63")
	}
	if len(seen) != len(wantPath) {
		t.Errorf("steps found: %v", seen)
	}
	// Back from the nested chapter to a shadow one.
	if err := a.GoTo("Write monitoring"); err != nil {
		t.Fatal(err)
	}
	run(a)
	run(a)
	if a.p.cfg.Paging != engine.PagingShadow {
		t.Errorf("back at a shadow step, paging is %v", a.p.cfg.Paging)
	}
}

// TestLiveText: the words a screen reader gets name the step, the
// position, the last event and the walk.
func TestLiveText(t *testing.T) {
	a := newTest(t, State{Source: Source{Sample: "modes-tour.txt"}})
	a.exercises = false
	a.StepUntil(UntilLabel)
	run(a)
	for range 8 {
		a.StepUntil(UntilLabel)
		run(a)
	}
	s := a.LiveText()
	for _, want := range []string{"Step 9 of 51: Virtual 0x401000", "Look at: the walk stops", "Event 44 of 217, paused", "Last event: ", "Walk: 0x"} {
		if !strings.Contains(s, want) {
			t.Errorf("live text %q lacks %q", s, want)
		}
	}
}

// TestTourAsks: with exercises on (the default), the tour's question
// steps stop before their first access and ask, with the explanation
// held back; answering (right, then wrong) shows the access and the rest
// of the step, and the explanation.
func TestTourAsks(t *testing.T) {
	a := newTest(t, State{Source: Source{Sample: "modes-tour.txt"}})
	asked := 0
	for i := range a.p.labels {
		a.StepUntil(UntilLabel)
		run(a)
		run(a)
		run(a)
		lab, _ := a.p.currentLabel()
		st := tourStepFor(lab.Text)
		if !st.ask {
			if a.quiz != nil {
				t.Fatalf("step %d asked %q", i+1, a.quiz.ask)
			}
			continue
		}
		q := a.quiz
		if q == nil {
			t.Fatalf("step %d (%.40q) asked nothing", i+1, lab.Text)
		}
		if a.p.pos() != q.event || a.p.last.Event.Kind.Access() && a.p.last.Index > lab.Event {
			t.Errorf("step %d: asked at %d after an access of the step", i+1, a.p.pos())
		}
		if _, _, text := a.tourText(); strings.Contains(text, lab.Text[:20]) || hasText(a, lab.Text[:20]) {
			t.Errorf("step %d: the explanation shows before the answer", i+1)
		}
		choice := q.right
		if asked%2 == 1 {
			choice = (q.right + 1) % len(q.choices)
		}
		asked++
		a.Answer(choice)
		run(a)
		want := a.p.total
		if i+1 < len(a.p.labels) {
			want = a.p.labels[i+1].Event
		}
		if a.p.pos() != want {
			t.Errorf("step %d: after the answer at %d, want the step's end %d", i+1, a.p.pos(), want)
		}
		if _, _, text := a.tourText(); text != lab.Text {
			t.Errorf("step %d: after the answer the panel says %q", i+1, text)
		}
		a.Update(Input{Keys: []Key{KeyEnter}})
	}
	if asked < 4 || a.score.Asked != asked || a.score.Right != (asked+1)/2 {
		t.Errorf("asked %d, score %+v", asked, a.score)
	}
}

// convert writes the trace at from in the form to's name says.
func convert(t *testing.T, from, to string) {
	t.Helper()
	rd, err := traces.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	w, err := traces.Create(to, rd.Header())
	if err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		if err := w.WriteEvent(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLinuxTour: the real Linux sample opens with the tour on; each of
// its labels has a step that says more than the importer's heading,
// rings its element, opens its view and follows its address, and the
// screen shows what the text says (key 1 in the walk, 2 MiB pages of
// the direct map, the modern bits in the mode bar).
func TestLinuxTour(t *testing.T) {
	a := newTest(t, State{Source: Source{Sample: "linux.txt"}})
	if !a.tour {
		t.Fatal("the tour is off for linux.txt")
	}
	want := map[string][]string{
		"registers: CR0":                       {"SMEP", "SMAP", "PKE", "LA57", "PKRU", "0x55555550"},
		"user mappings, one read per region":   {" K1", "PML5"},
		"kernel mappings, one read per region": {"PW-ADSGX", "PML5"},
		"the vCPU at RIP":                      {"read, user"},
	}
	for i := range a.p.labels {
		a.StepUntil(UntilLabel)
		run(a)
		run(a)
		lab, _ := a.p.currentLabel()
		st := tourStepFor(lab.Text)
		if st == nil || st.text == "" {
			t.Fatalf("step %d (%.50q) has no step of its own", i+1, lab.Text)
		}
		if _, _, body := a.tourText(); body != st.text {
			t.Errorf("step %d: the panel says %.60q", i+1, body)
		}
		a.dirty = true
		l, _ := a.Frame()
		r, ok := a.lookRect()
		var panel viz.Rect
		for _, p := range l.Panels {
			if p.Name == st.look.panel {
				panel = p.R
			}
		}
		if !ok || panel.Empty() || !r.In(panel) {
			t.Errorf("step %d (%.50q): Look at %q: ring %v in panel %v", i+1, lab.Text, st.look.panel, r, panel)
		}
		if va, ok := a.model.SelectedVA(); st.va != 0 && (!ok || va != st.va) {
			t.Errorf("step %d: the walk follows %#x, want %#x", i+1, uint64(va), uint64(st.va))
		}
		if st.setView && a.view != st.view {
			t.Errorf("step %d: view %v, want %v", i+1, a.view, st.view)
		}
		for key, subs := range want {
			if !strings.Contains(lab.Text, key) {
				continue
			}
			delete(want, key)
			for _, s := range subs {
				if !hasText(a, s) {
					t.Errorf("step %d (%s): nothing on the screen says %q", i+1, key, s)
				}
			}
		}
	}
	if len(want) != 0 {
		t.Errorf("steps not reached: %v", want)
	}
}

// TestPickerModernMMU: the scenario list offers the multiprocess
// workload with PCIDs, SMEP and SMAP on; choosing it runs the workload
// with those parameters, and the mode bar shows them.
func TestPickerModernMMU(t *testing.T) {
	a := newTest(t, State{Source: Source{Sample: "modes-tour.txt"}})
	a.openPicker()
	i := -1
	for j, it := range a.picker.items {
		if it.kind == pickWorkload && strings.Contains(it.note, "pcid=true smap=true") {
			i = j
		}
	}
	if i < 0 {
		t.Fatal("no multiprocess entry with PCIDs, SMEP and SMAP")
	}
	a.pick(i)
	if a.prompt == nil {
		t.Fatal("choosing it asked for nothing")
	}
	a.Update(Input{Keys: []Key{KeyEnter}})
	if a.prompt != nil {
		t.Fatalf("the prompt stayed: %q", a.prompt.err)
	}
	if src := a.p.src; src.Workload != "multiprocess" || src.Params["pcid"] != "true" || src.Params["smap"] != "true" {
		t.Fatalf("opened %+v", src)
	}
	a.p.playing = false
	a.Seek(3000)
	a.Settle()
	for _, s := range []string{"PCIDE", "SMEP", "SMAP", "PCID", "AC"} {
		if !hasText(a, s) {
			t.Errorf("at event 3000 the screen lacks %q", s)
		}
	}
}

// TestLiveTextModern: at the tour's protection-key fault the words a
// screen reader gets name the features in force and the refusing rule.
func TestLiveTextModern(t *testing.T) {
	a := newTest(t, State{Source: Source{Sample: "modes-tour.txt"}})
	a.exercises = false
	if err := a.GoTo("Now the program's write"); err != nil {
		t.Fatal(err)
	}
	run(a)
	run(a)
	s := a.LiveText()
	for _, want := range []string{"PCID 1, SMEP, SMAP (AC=0), PKE (PKRU 0x80)", "pkey-fault: key 3: write disabled"} {
		if !strings.Contains(s, want) {
			t.Errorf("live text %q lacks %q", s, want)
		}
	}
}

// TestFaultKeyModern: f stops at a fault SMEP caused as at any other
// guest fault.
func TestFaultKeyModern(t *testing.T) {
	tourOff := false
	a, err := New(Options{State: State{Source: Source{Sample: "modes-tour.txt"}}, Tour: &tourOff})
	if err != nil {
		t.Fatal(err)
	}
	a.Settle()
	if err := a.GoTo("SMEP (supervisor-mode"); err != nil {
		t.Fatal(err)
	}
	a.Settle()
	a.StepUntil(UntilFault)
	run(a)
	if a.p.last.Path != engine.PathSMEPFault {
		t.Errorf("f from the SMEP step stopped after %v at %d", a.p.last.Path, a.p.pos())
	}
}

// TestDescribeModern: hovering over the key fault's event says which
// rule refused it, and a leaf with a protection key says its key.
func TestDescribeModern(t *testing.T) {
	a := newTest(t, State{Source: Source{Sample: "modes-tour.txt"}})
	a.exercises = false
	if err := a.GoTo("Now the program's write"); err != nil {
		t.Fatal(err)
	}
	run(a)
	run(a)
	o := a.p.recent.LastAccess()
	if o == nil || o.Path != engine.PathKeyFault {
		t.Fatalf("the last access is %+v", o)
	}
	tip := strings.Join(a.describe(viz.HitID{Kind: viz.HitOutcome, Event: o.Index, Addr: o.Event.Addr}), "\n")
	if !strings.Contains(tip, "key 3: write disabled") {
		t.Errorf("the event's tooltip %q does not say the rule", tip)
	}
	v := engine.EntryView{Entry: x86.Entry(0x200067 | 3<<x86.KeyShift), Leaf: true, Covers: 4096}
	if l := strings.Join(entryLines(v, true), "\n"); !strings.Contains(l, "protection key 3 (PKRU bits 6 and 7") {
		t.Errorf("a leaf with key 3: %q", l)
	}
	if l := strings.Join(entryLines(v, false), "\n"); strings.Contains(l, "protection key") {
		t.Errorf("a PAE entry's bits 62:59 read as a key: %q", l)
	}
}

// TestFileLoadOnePass: opening a binary trace builds its checkpoints and
// its timeline in one replay; opening it again takes the checkpoints
// from the cache and replays once for the timeline. Both give the
// timeline and labels of the same trace opened as a sample.
func TestFileLoadOnePass(t *testing.T) {
	want := newTest(t, State{Source: Source{Sample: "multiprocess.txt"}})
	if want.p.timeline == nil || want.p.timeline.Events == 0 {
		t.Fatal("the sample has no timeline")
	}
	bin := filepath.Join(t.TempDir(), "multiprocess.pgmt")
	convert(t, filepath.Join("..", "..", "traces", "samples", "multiprocess.txt"), bin)
	for i, replayed := range []bool{true, false} {
		got := newTest(t, State{Source: Source{File: bin}})
		if got.p.ss.Replayed() != replayed {
			t.Errorf("open %d: checkpoints replayed %v, want %v", i+1, got.p.ss.Replayed(), replayed)
		}
		if !reflect.DeepEqual(got.p.timeline, want.p.timeline) {
			t.Errorf("open %d: the timeline differs from the sample's: %d events, %d buckets; want %d, %d",
				i+1, got.p.timeline.Events, len(got.p.timeline.Buckets), want.p.timeline.Events, len(want.p.timeline.Buckets))
		}
		if !reflect.DeepEqual(got.p.labels, want.p.labels) || len(got.p.labels) == 0 {
			t.Errorf("open %d: %d labels, want the sample's %d", i+1, len(got.p.labels), len(want.p.labels))
		}
		got.p.close()
	}
}
