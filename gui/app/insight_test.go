package app

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/analysis"
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces/samples"
	"github.com/pgm-explorer/pgm-explorer/viz"
)

// countMatches replays the sample through a fresh engine and returns
// the indexes a filter matches: the expectation the window's search
// must meet, computed the plain way.
func countMatches(t *testing.T, a *App, expr string) []uint64 {
	t.Helper()
	f, err := analysis.Parse(expr)
	if err != nil {
		t.Fatal(err)
	}
	st, err := openScanSource(a.p.src)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng, err := engine.NewShadow(a.p.cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr := analysis.Tracker{Eng: eng}
	var got []uint64
	var prev *engine.Outcome
	for {
		ev, err := st.Next(prev)
		if err != nil {
			break
		}
		o, err := eng.Apply(ev)
		if err != nil {
			t.Fatal(err)
		}
		prev = &o
		r := tr.Next(&o)
		if f.Match(&r) {
			got = append(got, o.Index)
		}
	}
	return got
}

func TestSearchMarksAndSteps(t *testing.T) {
	a := newTest(t, State{Source: Source{Sample: "multiprocess.txt"}, Event: 0})
	const expr = "path==sync-page && op==w"
	want := countMatches(t, a, expr)
	if len(want) < 3 {
		t.Fatalf("the sample has %d matches of %s: pick another filter", len(want), expr)
	}
	a.Update(Input{Chars: []rune("s" + expr + "\r")})
	if a.prompt != nil {
		t.Fatalf("the prompt stayed open: %q", a.prompt.err)
	}
	a.settleScans()
	kept, total := a.SearchMatches()
	if total != uint64(len(want)) || len(kept) != len(want) || kept[0] != want[0] || kept[len(kept)-1] != want[len(want)-1] {
		t.Fatalf("matches %d (%v…), want %d (%v…)", total, kept[:min(3, len(kept))], len(want), want[:3])
	}
	// . goes just after the first match, then the second; , back.
	for i, s := range []struct {
		c    rune
		want uint64
	}{{'.', want[0] + 1}, {'.', want[1] + 1}, {'.', want[2] + 1}, {',', want[1] + 1}} {
		a.Update(Input{Chars: []rune{s.c}})
		a.Settle()
		if a.p.pos() != s.want {
			t.Errorf("step %d (%c): at %d, want %d", i, s.c, a.p.pos(), s.want)
		}
		if o := a.p.last; o.Index != s.want-1 || o.Path != engine.PathSyncPage {
			t.Errorf("step %d: the event shown is %d on %v", i, o.Index, o.Path)
		}
	}
	// The marks reach the timeline, with a text that says it all.
	a.Frame()
	m := a.VizModel().Marks
	if m == nil || len(m.Events) != len(want) || !m.Done || !strings.Contains(m.Text, expr) {
		t.Fatalf("timeline marks: %+v", m)
	}
	if !strings.Contains(m.Text, "in all") {
		t.Errorf("the text does not say the whole trace was searched: %q", m.Text)
	}
}

func TestSearchBadExpression(t *testing.T) {
	a := newTest(t, State{Source: Source{Sample: "boot.txt"}})
	a.Update(Input{Chars: []rune("spath==sync-page && gva in 0x1000\r")})
	if a.prompt == nil || a.prompt.err == "" {
		t.Fatal("a bad filter closed the prompt")
	}
	if a.prompt.errCol != 33 {
		t.Errorf("error at column %d (%s), want 33 (just past the end, where .. is missing)", a.prompt.errCol, a.prompt.err)
	}
	var pe *analysis.ParseError
	if err := a.SetSearch("op=="); !errors.As(err, &pe) {
		t.Errorf("SetSearch(op==): %v, not a ParseError", err)
	}
	// Esc closes the prompt without a search.
	a.Update(Input{Keys: []Key{KeyEscape}})
	if a.prompt != nil || a.ins.search != nil {
		t.Error("Esc left the prompt or a search")
	}
}

// TestSearchLiveWorkload: a live workload has no end; the search covers
// what the player replayed, and says so.
func TestSearchLiveWorkload(t *testing.T) {
	a := newTest(t, State{Source: Source{Workload: "multiprocess", Seed: 1}, Event: 2000})
	if err := a.SetSearch("op==cr3"); err != nil {
		t.Fatal(err)
	}
	a.settleScans()
	n, done := a.ins.scanned(scanSearch)
	if n != 2000 || done {
		t.Fatalf("scanned %d (done %v), want the 2000 replayed", n, done)
	}
	if m := a.searchMarks(); !strings.Contains(m.Text, "replayed so far") {
		t.Errorf("text %q", m.Text)
	}
	a.Seek(3000)
	a.Settle()
	a.settleScans()
	if n, _ := a.ins.scanned(scanSearch); n != 3000 {
		t.Errorf("after replaying to 3000 the search covers %d", n)
	}
}

func TestHotSpots(t *testing.T) {
	a := newTest(t, State{Source: Source{Sample: "multiprocess.txt"}, Event: 100})
	a.Update(Input{Chars: []rune("a")})
	if a.ins.hot == nil || a.view != viz.ViewWalk {
		t.Fatal("a did not open the hot spots beside the walk")
	}
	a.settleScans()
	rep := a.ins.hot.report()
	if len(rep.Rows) == 0 || rep.Events != a.p.total {
		t.Fatalf("report of %d events, %d rows", rep.Events, len(rep.Rows))
	}
	// The top page's events, counted the plain way.
	top := rep.Rows[0]
	expr := "gva in " + hexs(top.Key) + ".." + hexs(top.Key+0x1000)
	want := countMatches(t, a, expr)
	a.Update(Input{Keys: []Key{KeyEnter}})
	a.settleScans()
	if !a.hasVA || uint64(a.va) != top.Key {
		t.Errorf("the walk follows %#x (%v), want the page %#x", a.va, a.hasVA, top.Key)
	}
	kept, total := a.SearchMatches()
	if total != uint64(len(want)) || top.Events != total || len(kept) == 0 {
		t.Errorf("marked %d events of page %#x, want %d (the row says %d)", total, top.Key, len(want), top.Events)
	}
	// → to the next key kind until pool pages: the memory view, a ring.
	for a.ins.hot.by != analysis.ByPoolPage {
		a.Update(Input{Keys: []Key{KeyRight}})
	}
	a.settleScans()
	if a.view != viz.ViewMemory {
		t.Errorf("pool pages in view %v", a.view)
	}
	a.Update(Input{Keys: []Key{KeyEnter}})
	a.dirty = true
	l, _ := a.Frame()
	ringed := false
	for _, p := range l.Panels {
		ringed = ringed || p.Name == "ring"
	}
	if !ringed || a.ins.hot.ring < 0 {
		t.Errorf("no pool page ringed (ring %d)", a.ins.hot.ring)
	}
	a.Update(Input{Chars: []rune("a")})
	if a.ins.hot != nil || a.view != viz.ViewOverview {
		t.Errorf("a again: hot %v, view %v", a.ins.hot != nil, a.view)
	}
}

// replayTo replays the app's source through a fresh engine to event n.
func replayTo(t *testing.T, a *App, n uint64) *engine.Shadow {
	t.Helper()
	st, err := openScanSource(a.p.src)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng, err := engine.NewShadow(a.p.cfg)
	if err != nil {
		t.Fatal(err)
	}
	for eng.Events() < n {
		ev, err := st.Next(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := eng.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	return eng
}

func TestWhatChanged(t *testing.T) {
	a := newTest(t, State{Source: Source{Sample: "multiprocess.txt"}, Event: 1000})
	a.Update(Input{Chars: []rune("d")})
	if a.ins.moment == nil || a.changes() != nil {
		t.Fatal("d did not mark the moment, or shows changes at the moment itself")
	}
	a.Seek(1400)
	a.Settle()
	m := a.changes()
	if m == nil {
		t.Fatal("no changes after moving")
	}
	// The expectation: both moments replayed apart, both address
	// spaces walked in each (the one loaded later existed at 1000 too).
	e0 := replayTo(t, a, 1000)
	e1 := replayTo(t, a, 1400)
	spaces := []uint64{e0.Regs().CR3, e1.Regs().CR3}
	if spaces[0] == spaces[1] {
		t.Fatal("the sample does not switch address spaces between 1000 and 1400: pick other moments")
	}
	want := analysis.Diff(analysis.TakeSnapshot(e0, spaces, diffBudget), analysis.TakeSnapshot(e1, spaces, diffBudget))
	for _, c := range [][2][]analysis.EntryChange{{m.diff.Guest, want.Guest}, {m.diff.Shadow, want.Shadow}} {
		ga, gr, gc := analysis.Count(c[0])
		wa, wr, wc := analysis.Count(c[1])
		if ga != wa || gr != wr || gc != wc {
			t.Errorf("changes +%d -%d ~%d, want +%d -%d ~%d", ga, gr, gc, wa, wr, wc)
		}
	}
	if len(m.diff.Stats) != len(want.Stats) || len(m.diff.Pool) != len(want.Pool) {
		t.Errorf("%d statistics, %d pool pages changed; want %d, %d", len(m.diff.Stats), len(m.diff.Pool), len(want.Stats), len(want.Pool))
	}
	// The frame outlines changed entries, and only those.
	a.dirty = true
	l, _ := a.Frame()
	outlined := 0
	for _, p := range l.Panels {
		if p.Name != "changed" {
			continue
		}
		outlined++
		id, ok := l.HitTest(p.R.X+p.R.W/2, p.R.Y+p.R.H/2)
		set := m.guest
		if id.Hier != viz.HierGuest {
			set = m.shadow
		}
		if _, hit := set[entryAt{id.Addr, id.Level}]; !ok || id.Kind != viz.HitEntry || !hit {
			t.Errorf("outlined %v, which did not change", id)
		}
	}
	if outlined == 0 {
		t.Error("no entry outlined")
	}
	text := strings.Join(changeLines(m, 5), "\n")
	if !strings.Contains(text, "registers: cr3") || !strings.Contains(text, "TLB/") {
		t.Errorf("the panel's text:\n%s", text)
	}
	a.Seek(1000)
	a.Settle()
	a.MarkMoment()
	if a.ins.moment != nil {
		t.Error("d at the marked moment did not forget it")
	}
}

func TestCompare(t *testing.T) {
	a := newTest(t, State{Source: Source{Sample: "multiprocess.txt"}, Event: 1500})
	a.Update(Input{Chars: []rune("v")})
	if a.prompt == nil || a.prompt.text != "paging=nested" {
		t.Fatalf("v: prompt %+v", a.prompt)
	}
	a.Update(Input{Chars: []rune("\r")})
	a.settleScans()
	c := a.ins.cmp
	if c == nil || c.cfg.Paging != engine.PagingNested || c.b.eng.Events() != 1500 {
		t.Fatalf("compare: %+v", c)
	}
	// The cost curves end where explorer compare's totals do.
	cmp, err := analysis.NewComparer(a.p.cfg, "", "paging=nested", analysis.DefaultCosts, 1<<62, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := openScanSource(a.p.src)
	for {
		ev, err := st.Next(nil)
		if err != nil {
			break
		}
		if err := cmp.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	n := len(c.curve[0]) - 1
	for i := range 2 {
		if want := cmp.Model.Cycles(&cmp.Sides[i].Work); !c.done || c.curve[i][n] != want {
			t.Errorf("side %d: curve ends at %v (done %v), want %v", i, c.curve[i][n], c.done, want)
		}
	}
	if len(cmp.Mismatches) > 0 {
		t.Errorf("guest-visible differences: %+v", cmp.Mismatches[0])
	}
	// Linked cursor: B follows the player back and forth.
	for _, to := range []uint64{2500, 700} {
		a.Seek(to)
		a.Settle()
		a.settleScans()
		if got := c.b.eng.Events(); got != to {
			t.Errorf("after seeking to %d, B is at %d", to, got)
		}
	}
	// Both walk the same guest tables; the delta column is B - A.
	e1 := replayTo(t, a, 700)
	ds := statDeltas([2]*engine.Shadow{a.p.eng, c.b.eng})
	if len(ds) == 0 {
		t.Fatal("shadow and nested paging count nothing differently")
	}
	for k := 1; k < len(ds); k++ {
		d0 := min(ds[k-1].v[0]-ds[k-1].v[1], ds[k-1].v[1]-ds[k-1].v[0])
		d1 := min(ds[k].v[0]-ds[k].v[1], ds[k].v[1]-ds[k].v[0])
		if d1 > d0 {
			t.Fatalf("deltas not largest first: %v then %v", ds[k-1], ds[k])
		}
	}
	if e1.Stats().AppendValues(nil)[0] != a.p.eng.Stats().AppendValues(nil)[0] {
		t.Error("A is not the configuration replayed")
	}
	a.dirty = true
	l, _ := a.Frame()
	if _, ok := a.panelRect("compare"); !ok || l == nil {
		t.Error("no split screen in the frame")
	}
	if err := a.Compare("paging=sideways"); err == nil {
		t.Error("a bad spec was accepted")
	}
	a.Update(Input{Chars: []rune("v")})
	if a.ins.cmp != nil {
		t.Error("v did not close the split screen")
	}
}

// TestAnalysisSnapshots checks the frames of the analysis features
// pixel for pixel (testdata/golden, -update rewrites them): the search's
// strip, the hot spots panel, the split screen and what changed.
func TestAnalysisSnapshots(t *testing.T) {
	a := newTest(t, State{Source: Source{Sample: "multiprocess.txt"}})
	if err := a.SetSearch("gva in 0x10006000..0x10007000 && !ok"); err != nil {
		t.Fatal(err)
	}
	a.settleScans()
	a.NextMatch(1)
	a.Settle()
	a.toast = ""
	snap(t, a, "search")
	a.ClearSearch()
	a.ToggleHotSpots()
	a.settleScans()
	a.ChooseHotSpot(0)
	a.settleScans()
	a.toast = ""
	snap(t, a, "hotspots")
	a.ToggleHotSpots()
	a.ClearSearch()
	a.Seek(1000)
	a.Settle()
	a.MarkMoment()
	a.Seek(2000)
	a.Settle()
	a.toast = ""
	snap(t, a, "changes")
	a.MarkMoment()
	if err := a.Compare("paging=nested"); err != nil {
		t.Fatal(err)
	}
	a.settleScans()
	a.toast = ""
	snap(t, a, "compare")
}

// TestCompareFromPicker: the picker's configuration rows, then v,
// compare side by side instead of replacing the replay.
func TestCompareFromPicker(t *testing.T) {
	a := newTest(t, State{Source: Source{Sample: "multiprocess.txt"}, Event: 300})
	a.openPicker()
	for i, it := range a.picker.items {
		if it.kind == pickPool {
			a.picker.sel = i
		}
	}
	a.Update(Input{Keys: []Key{KeyLeft}}) // a smaller pool
	want := applyOverrides(a.p.cfg, a.picker.ovr)
	if want.PoolPages == a.p.cfg.PoolPages {
		t.Fatal("← did not change the pool")
	}
	player := a.p
	a.Update(Input{Chars: []rune("v")})
	a.settleScans()
	c := a.ins.cmp
	if a.picker != nil || c == nil || a.p != player {
		t.Fatalf("v: picker %v, compare %v, replay replaced %v", a.picker != nil, c != nil, a.p != player)
	}
	if c.cfg.PoolPages != want.PoolPages || c.cfg.Paging != want.Paging || c.cfg.Host != want.Host || c.b.eng.Events() != 300 {
		t.Errorf("B is %+v at %d, want the pool of %d at 300", c.cfg, c.b.eng.Events(), want.PoolPages)
	}
}

// TestCompareLiveWorkload: a live workload's cost curves follow the
// replay, choosing each event from the outcome of the last.
func TestCompareLiveWorkload(t *testing.T) {
	a := newTest(t, State{Source: Source{Workload: "multiprocess", Seed: 2}, Event: 1500})
	if err := a.Compare("paging=nested"); err != nil {
		t.Fatal(err)
	}
	a.settleScans()
	c := a.ins.cmp
	if c.err != nil || c.cmp.Events != 1500 || c.b.eng.Events() != 1500 || c.cmp.Mismatched != 0 {
		t.Fatalf("curves to %d (%v), B at %d, %d mismatches", c.cmp.Events, c.err, c.b.eng.Events(), c.cmp.Mismatched)
	}
	ca, cb, ok := c.costAt(1500)
	if !ok || ca <= 0 || cb <= 0 {
		t.Errorf("cost at 1500: %v %v %v", ca, cb, ok)
	}
	// B's engine went through the same events as A's: same guest view.
	if a.p.eng.Regs() != c.b.eng.Regs() {
		t.Errorf("registers differ: %+v, %+v", a.p.eng.Regs(), c.b.eng.Regs())
	}
	a.Seek(2500)
	a.Settle()
	a.settleScans()
	if c.cmp.Events != 2500 {
		t.Errorf("after replaying to 2500 the curves reach %d", c.cmp.Events)
	}
}

// TestWhatChangedFile: in a trace file, seeks load checkpoints into a
// fresh engine, so the two moments come from a replay of their own;
// the diff is the one a continuous replay gives.
func TestWhatChangedFile(t *testing.T) {
	data, err := samples.Read("multiprocess.txt")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "multiprocess.txt")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	a := newTest(t, State{Source: Source{File: path}, Event: 2000})
	if !a.p.checkpointed() {
		t.Fatal("the file is not read through checkpoints")
	}
	a.MarkMoment()
	a.Seek(1000)
	a.Settle()
	if a.changes() != nil {
		t.Fatal("changes before the replay got there")
	}
	a.settleScans()
	m := a.changes()
	if m == nil {
		t.Fatal("no changes once the replay is done")
	}
	mem := newTest(t, State{Source: Source{Sample: "multiprocess.txt"}})
	e0, e1 := replayTo(t, mem, 1000), replayTo(t, mem, 2000)
	spaces := []uint64{e0.Regs().CR3, e1.Regs().CR3}
	want := analysis.Diff(analysis.TakeSnapshot(e0, spaces, diffBudget), analysis.TakeSnapshot(e1, spaces, diffBudget))
	if m.diff.From != 1000 || m.diff.To != 2000 {
		t.Errorf("diff from %d to %d", m.diff.From, m.diff.To)
	}
	for i, c := range [][2][]analysis.EntryChange{{m.diff.Guest, want.Guest}, {m.diff.Shadow, want.Shadow}} {
		ga, gr, gc := analysis.Count(c[0])
		wa, wr, wc := analysis.Count(c[1])
		if ga != wa || gr != wr || gc != wc {
			t.Errorf("%d: changes +%d -%d ~%d, want +%d -%d ~%d", i, ga, gr, gc, wa, wr, wc)
		}
	}
	if len(m.diff.Stats) != len(want.Stats) || len(m.diff.Pool) != len(want.Pool) {
		t.Errorf("%d statistics, %d pool pages changed; want %d, %d", len(m.diff.Stats), len(m.diff.Pool), len(want.Stats), len(want.Pool))
	}
	// Moving the later moment on continues the same replay.
	a.Seek(2500)
	a.Settle()
	a.settleScans()
	if m := a.changes(); m == nil || m.diff.To != 2500 || m.diff.From != 2000 {
		t.Errorf("after moving to 2500: %+v", m)
	}
}

// TestCompareFile: in a trace file both sides are continuous replays,
// so the statistics compare (the player's engine restarts at seeks).
func TestCompareFile(t *testing.T) {
	data, err := samples.Read("multiprocess.txt")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "multiprocess.txt")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	a := newTest(t, State{Source: Source{File: path}, Event: 3000})
	if err := a.Compare("pool=64"); err != nil {
		t.Fatal(err)
	}
	a.Seek(1200)
	a.Settle()
	a.settleScans()
	c := a.ins.cmp
	if !c.caughtUp(a.p) {
		t.Fatalf("sides at %d and %d, the player at %d", c.engines(a.p)[0].Events(), c.engines(a.p)[1].Events(), a.p.pos())
	}
	mem := newTest(t, State{Source: Source{Sample: "multiprocess.txt"}})
	want := replayTo(t, mem, 1200).Stats().AppendValues(nil)
	got := c.engines(a.p)[0].Stats().AppendValues(nil)
	if len(got) != len(want) {
		t.Fatalf("%d statistics, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("statistic %d of A: %d, a continuous replay has %d", i, got[i], want[i])
		}
	}
}

// TestHotSpotsInEveryView: the panel stays in sight whatever the view.
func TestHotSpotsInEveryView(t *testing.T) {
	a := newTest(t, State{Source: Source{Sample: "boot.txt"}})
	a.ToggleHotSpots()
	a.settleScans()
	for v := range viz.ViewNames() {
		a.SetView(viz.View(v))
		a.dirty = true
		l, _ := a.Frame()
		found := false
		for _, p := range l.Panels {
			found = found || p.Name == "hotspots"
		}
		if !found || len(a.ins.hot.rects) == 0 {
			t.Errorf("view %v: hot spots drawn %v, %d rows", viz.View(v), found, len(a.ins.hot.rects))
		}
	}
}

// TestHotSpotMarksEveryKind: choosing the top row of every key kind
// marks as many events as the row counts, guest tables and pool pages
// (which no filter names) included.
func TestHotSpotMarksEveryKind(t *testing.T) {
	a := newTest(t, State{Source: Source{Sample: "multiprocess.txt"}, Event: 10})
	a.Reconfigure(Overrides{Pool: 32}) // a pool that churns
	a.Settle()
	a.ToggleHotSpots()
	for k := analysis.KeyKind(0); k < hotKinds; k++ {
		a.SetHotBy(k)
		a.settleScans()
		rep := a.ins.hot.report()
		if len(rep.Rows) == 0 {
			t.Errorf("%v: no rows", k)
			continue
		}
		a.ChooseHotSpot(0)
		a.settleScans()
		kept, total := a.SearchMatches()
		want := rep.Rows[0].Events
		if k == analysis.ByPoolPage && total <= want && 2*total >= want {
			// A pool page's row counts its changes, one event can free
			// and take it again: the marks are the distinct events.
			want = total
		}
		if total != want || len(kept) == 0 {
			t.Errorf("%v: row %s counts %d events, %d marked", k, rep.KeyName(rep.Rows[0].Key), rep.Rows[0].Events, total)
		}
	}
}
