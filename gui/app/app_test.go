package app

import (
	"bytes"
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/viz"
)

// newTest opens st and settles it.
func newTest(t *testing.T, st State) *App {
	t.Helper()
	a, err := New(Options{State: st})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Settle(); err != nil {
		t.Fatal(err)
	}
	return a
}

var update = flag.Bool("update", false, "rewrite the golden frames in testdata/golden")

// snap checks the app's frame against testdata/golden/name.png, pixel
// for pixel (the fonts and the rasteriser are the project's own, so a
// frame is the same on every machine); -update rewrites it. A frame that
// differs is written next to the test's temporary files to look at.
func snap(t *testing.T, a *App, name string) {
	t.Helper()
	a.dirty = true
	l, _ := a.Frame()
	got := viz.Rasterize(l, l.Width, l.Height)
	path := filepath.Join("testdata", "golden", name+".png")
	if *update {
		var b bytes.Buffer
		if err := png.Encode(&b, got); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (go test ./gui/app -run Snapshots -update writes it)", err)
	}
	defer f.Close()
	want, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if want.Bounds() != got.Bounds() {
		t.Errorf("%s: frame %v, golden %v", name, got.Bounds(), want.Bounds())
		return
	}
	n, first := 0, image.Point{-1, -1}
	b := got.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r1, g1, b1, _ := got.At(x, y).RGBA()
			r2, g2, b2, _ := want.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 {
				if n == 0 {
					first = image.Pt(x, y)
				}
				n++
			}
		}
	}
	if n > 0 {
		out := filepath.Join(t.TempDir(), name+".png")
		if f, err := os.Create(out); err == nil {
			png.Encode(f, got)
			f.Close()
		}
		t.Errorf("%s: %d pixels differ from %s, the first at %v; the frame drawn is %s (-update accepts it)", name, n, path, first, out)
	}
}

// TestSnapshots checks whole frames of the window, as a person sees
// them: the tour at a step, the help and scenario overlays, and the
// frame laid out for a small laptop and for a 2x screen.
func TestSnapshots(t *testing.T) {
	a := newTest(t, State{Source: Source{Sample: "modes-tour.txt"}, Event: 60})
	snap(t, a, "tour60")
	a.ToggleHelp()
	snap(t, a, "help")
	a.ToggleHelp()
	a.openPicker()
	snap(t, a, "picker")
	a.picker = nil
	a.Resize(1024, 640)
	snap(t, a, "tour60-1024x640")
	a.SetScale(2)
	a.Resize(2880, 1800)
	snap(t, a, "tour60-1440x900@2")
}

func TestStateRoundTrip(t *testing.T) {
	for _, st := range []State{
		{Source: Source{Sample: "boot.txt"}, Event: 12, View: viz.ViewWalk},
		{Source: Source{Workload: "multiprocess", Seed: 7, Params: map[string]string{"procs": "4"}}, Overrides: Overrides{Host: 3, Paging: 1, PagingSet: true, Pool: 64}, Event: 99, VA: 0xffff800000400010, HasVA: true},
		{Source: Source{File: "my trace.pgmt"}},
	} {
		got, err := DecodeState("#" + st.Encode())
		if err != nil {
			t.Fatalf("%q: %v", st.Encode(), err)
		}
		if got.Encode() != st.Encode() {
			t.Errorf("round trip of %q gave %q", st.Encode(), got.Encode())
		}
	}
	for _, bad := range []string{"event=x", "va=zz", "view=nope", "host=pdp11", "pool=3"} {
		if _, err := DecodeState(bad); err == nil {
			t.Errorf("DecodeState(%q) accepted it", bad)
		}
	}
}

func TestControls(t *testing.T) {
	a := newTest(t, State{Source: Source{Sample: "modes-tour.txt"}})
	if st := a.Status(); st.Event != 0 || st.Total != 217 {
		t.Fatalf("start: %+v", st)
	}
	type step struct {
		do   func()
		want uint64
	}
	for i, s := range []step{
		{func() { a.Step(3) }, 3},
		{func() { a.Step(-1) }, 2},
		{func() { a.StepUntil(UntilLabel) }, 9}, // the tour: the first step ends before the label at index 9
		{func() { a.StepUntil(UntilFault) }, 0},
		{func() { a.GoTo("60") }, 60},
		{func() { a.GoTo("canonical") }, 0},
		{func() { a.Seek(1000) }, 217},
		{func() { a.PrevLabel() }, 0},
	} {
		s.do()
		for a.p.busy() {
			a.Update(Input{})
		}
		got := a.p.pos()
		switch {
		case s.want == 0 && i == 3:
			if a.p.last.Path.String() != "guest-fault" && a.p.last.Path.String() != "gp" {
				t.Errorf("step %d: stopped at %d on %v, not a fault", i, got, a.p.last.Path)
			}
		case s.want == 0:
			if got == 0 {
				t.Errorf("step %d: did not move", i)
			}
		case got != s.want:
			t.Errorf("step %d: at %d, want %d", i, got, s.want)
		}
	}
	a.Update(Input{Chars: []rune("/400010\r")})
	if st := a.Status(); st.VA != "0x400010" || !st.Selected {
		t.Errorf("typing an address: %+v", st)
	}
	a.Update(Input{Chars: []rune("4")})
	if a.Status().View != "walk" {
		t.Errorf("key 4: view %s", a.Status().View)
	}
	if err := a.OpenData("junk.txt", []byte("not a trace\n")); err == nil || a.Status().Source != "modes-tour.txt" {
		t.Errorf("opening junk: %v, source %s", err, a.Status().Source)
	}
}

func TestTourTipsCoverTheTour(t *testing.T) {
	a := newTest(t, State{Source: Source{Sample: "modes-tour.txt"}})
	seen := map[string]string{}
	for _, l := range a.p.labels {
		tip := tourTip(l.Text)
		if tip == "" {
			t.Errorf("no tip for %q", l.Text)
			continue
		}
		if prev, ok := seen[tip]; ok {
			t.Errorf("tip %q for both %q and %q", tip, prev, l.Text)
		}
		seen[tip] = l.Text
	}
}

func TestWorkloadReplay(t *testing.T) {
	a := newTest(t, State{Source: Source{Workload: "multiprocess", Seed: 1}, Event: 3000})
	if a.p.pos() != 3000 {
		t.Fatalf("at %d", a.p.pos())
	}
	a.Seek(100)
	a.Settle()
	if a.p.pos() != 100 || a.p.err != nil {
		t.Fatalf("seek back: at %d, %v", a.p.pos(), a.p.err)
	}
}

// TestCounterClick: clicking a statistic shows where it changed on the
// timeline; clicking it again puts the timeline back.
func TestCounterClick(t *testing.T) {
	a := newTest(t, State{Source: Source{Sample: "multiprocess.txt"}, Event: 2500})
	a.dirty = true
	a.Frame()
	var x, y int
	var name string
	for y = 0; y < a.vizH && name == ""; y++ {
		for x = 0; x < 1280; x += 4 {
			if id, ok := a.list.HitTest(x, y); ok && id.Kind == viz.HitCounter {
				name = id.Name
				break
			}
		}
	}
	if name == "" {
		t.Fatal("no counter in the frame")
	}
	click := func() {
		a.Update(Input{MouseX: x, MouseY: y, MouseIn: true, Pressed: true, Down: true})
		a.Update(Input{MouseX: x, MouseY: y, MouseIn: true, Released: true})
		a.Frame()
	}
	click()
	if got := a.VizModel().Counter; got != name {
		t.Fatalf("after clicking %s at (%d,%d), the timeline shows %q", name, x, y, got)
	}
	if d, ok := a.p.timeline.StatDeltas(name, nil); !ok || len(d) == 0 {
		t.Errorf("%s: the timeline has no samples (%v, %d spans)", name, ok, len(d))
	}
	click()
	if got := a.VizModel().Counter; got != "" {
		t.Errorf("a second click left %q on the timeline", got)
	}
}
