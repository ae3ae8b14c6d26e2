//go:build e2e

package e2e

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pgm-explorer/pgm-explorer/gui/app"
	"github.com/pgm-explorer/pgm-explorer/gui/x86guest"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit"
	"github.com/pgm-explorer/pgm-explorer/viz"
)

// The moment the x86 tests look at: the multiproc guest has built its
// page directories and the kernel's table, turned paging on, and its #PF
// handler (in the guest's IDT) has just mapped the page of 0x401010 on
// demand; the access that faulted has been retried and went through
// (events 2697-2698). The walk follows that address.
const (
	x86At = 2700
	x86VA = 0x401010
)

// TestDesktopX86 runs a live x86 guest in the desktop window under Xvfb
// (make e2e-desktop; Unicorn comes from make unicorn) and compares the
// window's own screenshot with two pictures of the same moment drawn
// without it, from a recording of the same guest (explorer record
// --x86): `explorer render`, the PNG renderer of the command line, and
// the explorer's app run headlessly. The window must show what both
// show; the guest runs twice, so this also checks that it runs the same.
func TestDesktopX86(t *testing.T) {
	if os.Getenv("DISPLAY") == "" {
		t.Fatal("no DISPLAY: run under xvfb-run -a (make e2e-desktop does)")
	}
	dir := root(t)
	out := outDir(t)
	gui := filepath.Join(dir, "bin", "explorer-gui")
	explorer := filepath.Join(dir, "bin", "explorer")
	need(t, gui)
	need(t, explorer)
	tmp := t.TempDir()
	trace := filepath.Join(tmp, "multiproc.pgmt")
	record := exec.Command(explorer, "record", "--x86", "multiproc", "-o", trace)
	record.Dir = dir // where make unicorn put the library
	if b, err := record.CombinedOutput(); err != nil {
		t.Fatalf("explorer record --x86 (make unicorn installs what it needs): %v\n%s", err, b)
	}

	va := "0x" + strconv.FormatUint(x86VA, 16)
	shotPath := filepath.Join(out, "x86-desktop-1-multiproc-at2700.png")
	cmd := exec.Command(gui, "--x86", "multiproc", "--at", strconv.Itoa(x86At), "--va", va, "--size", "1280x800", "--screenshot", shotPath, "--exit")
	cmd.Dir = dir
	if b, err := runFor(cmd, 60*time.Second); err != nil {
		t.Fatalf("explorer-gui --x86: %v\n%s", err, b)
	}
	data, err := os.ReadFile(shotPath)
	if err != nil {
		t.Fatal(err)
	}
	got := checkNotBlank(t, "x86-desktop-1-multiproc-at2700.png", data)
	t.Logf("screenshot %s", shotPath)

	// The headless app, on the recording's events under the window's
	// title: the same picture, every panel of it.
	list := readList(t, trace)
	a, err := app.New(app.Options{State: app.State{Source: app.Source{Events: list}, Event: x86At, VA: x86VA, HasVA: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Settle(); err != nil {
		t.Fatal(err)
	}
	want, err := a.PNG()
	if err != nil {
		t.Fatal(err)
	}
	if st := a.Status(); st.Event != x86At || !strings.HasPrefix(st.Walk, va+" -> ") {
		t.Fatalf("the recording at %d: %+v, want the walk of %s to go through", x86At, st, va)
	}
	save(t, out, "x86-desktop-1-expected.png", want)
	compare(t, "the headless app", got, decode(t, want), nil)

	// explorer render at the size of the window's panels. It titles the
	// picture with the file's name and knows the run only up to the
	// moment drawn (no "of 6037", a timeline of the events so far), so
	// the mode bar and the timeline differ by design; the rest must not.
	l, _ := a.Frame()
	rendered := filepath.Join(out, "x86-desktop-1-render.png")
	if b, err := exec.Command(explorer, "render", trace, "--at", strconv.Itoa(x86At), "--va", va,
		"--size", "1280x"+strconv.Itoa(a.VizHeight()), "-o", rendered).CombinedOutput(); err != nil {
		t.Fatalf("explorer render: %v\n%s", err, b)
	}
	data, err = os.ReadFile(rendered)
	if err != nil {
		t.Fatal(err)
	}
	var panels []viz.Panel
	for _, p := range l.Panels {
		if slices.Contains([]string{"hierarchy", "walk", "memory", "pool", "stats", "log"}, p.Name) {
			panels = append(panels, p)
		}
	}
	if len(panels) < 5 {
		t.Fatalf("the overview has panels %v", l.Panels)
	}
	compare(t, "explorer render", got, decode(t, data), panels)
}

// readList reads a trace into the list of events the window holds.
func readList(t *testing.T, path string) *app.EventList {
	t.Helper()
	h, evs := testkit.ReadTrace(t, path)
	return &app.EventList{Name: "x86-multiproc", Title: x86guest.Title("multiproc"), Header: h, Events: evs}
}

func decode(t *testing.T, data []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// compare fails when more than one pixel in a thousand of want differs
// in got (the tolerance desktop_test.go allows the window), over the
// given panels, or all of want when there are none.
func compare(t *testing.T, what string, got, want image.Image, panels []viz.Panel) {
	t.Helper()
	if panels == nil {
		b := want.Bounds()
		panels = []viz.Panel{{Name: "all", R: viz.R(b.Min.X, b.Min.Y, b.Dx(), b.Dy())}}
	}
	var d, n int
	var worst []string
	for _, p := range panels {
		r := image.Rect(p.R.X, p.R.Y, p.R.X+p.R.W, p.R.Y+p.R.H).Intersect(want.Bounds())
		pd, pn := diffIn(got, want, r)
		d, n = d+pd, n+pn
		if pd > 0 {
			worst = append(worst, p.Name+" "+strconv.Itoa(pd))
		}
	}
	if n == 0 {
		t.Fatalf("%s: nothing to compare", what)
	}
	if d > n/1000 {
		t.Errorf("the window differs from %s in %d of %d pixels (%s)", what, d, n, strings.Join(worst, ", "))
	} else {
		t.Logf("window vs %s: %d of %d pixels differ", what, d, n)
	}
}

func diffIn(got, want image.Image, r image.Rectangle) (d, n int) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, _ := got.At(x, y).RGBA()
			r2, g2, b2, _ := want.At(x, y).RGBA()
			n++
			if r1>>8 != r2>>8 || g1>>8 != g2>>8 || b1>>8 != b2>>8 {
				d++
			}
		}
	}
	return d, n
}

// TestBrowserX86 opens the browser demo on the recording of a live x86
// guest that ships as a sample trace (make x86-samples: the browser
// cannot run Unicorn) through the link state, runs to the next page
// fault, plays on, and opens a second link at the moment the desktop
// test looks at, following the address whose page the guest's #PF
// handler has just mapped.
//
// It moves with keys that are characters and with links rather than
// through the prompts: an Enter given through the pgmKey hook after the
// app has gone idle was sometimes lost (seen while the UI was being
// reworked), which is not what this test is about.
func TestBrowserX86(t *testing.T) {
	url := serveDemo(t)
	ctx := browser(t)
	dir := outDir(t)
	const sample = "x86-multiproc.txt"
	if err := chromedp.Do(ctx, chromedp.Navigate(url+"#trace="+sample+"&event=2400&view=overview")); err != nil {
		t.Fatal(err)
	}
	st := waitFor(t, ctx, "the x86 sample", 90*time.Second, func(s status) bool { return s.Frames > 0 && !s.Busy && s.Event == 2400 })
	if st.Source != sample || st.Total < x86At || st.Error != "" {
		t.Fatalf("the demo opened %+v, want %s at event 2400 without error", st, sample)
	}
	shot(t, ctx, dir, "x86-browser-1-multiproc-at2400.png")

	// Focus the canvas and run to the next fault: the guest touches a
	// page of its process that is not mapped yet.
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(400, 300)); err != nil {
		t.Fatal(err)
	}
	key(t, ctx, "f")
	st = waitFor(t, ctx, "the next fault", 30*time.Second, func(s status) bool { return s.Event > 2400 && !s.Busy })
	if !strings.Contains(st.Walk, "#PF") {
		t.Errorf("stopped at %+v, want the last access's walk to fault (#PF)", st)
	}
	// Play on: the event index moves.
	at := st.Event
	key(t, ctx, " ")
	waitFor(t, ctx, "the replay to advance", 30*time.Second, func(s status) bool { return s.Event > at+2 })
	key(t, ctx, " ")
	st = waitFor(t, ctx, "the replay to stop", 30*time.Second, func(s status) bool { return !s.Playing })
	t.Logf("played from %d to %d", at, st.Event)
	shot(t, ctx, dir, "x86-browser-2-multiproc-played.png")

	// A link to the moment of the desktop test, following the address
	// the handler has just mapped (a new fragment alone does not
	// reload the page).
	link := url + "#trace=" + sample + "&event=" + strconv.Itoa(x86At) + "&va=0x" + strconv.FormatUint(x86VA, 16) + "&view=overview"
	if err := chromedp.Do(ctx, chromedp.Navigate(link), chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	st = waitFor(t, ctx, "the linked moment", 90*time.Second, func(s status) bool { return s.Frames > 0 && !s.Busy && s.Event == x86At })
	if !st.Selected || st.VA != "0x401010" || !strings.Contains(st.Walk, "-> 0x101010") {
		t.Errorf("at event %d: %+v, want 0x401010 followed to the page the handler mapped (0x101010)", x86At, st)
	}
	shot(t, ctx, dir, "x86-browser-3-multiproc-at2700.png")
}
