//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/pgm-explorer/pgm-explorer/viz"
)

// frameTexts is what pgmTexts() reports: the texts of the last frame.
type frameTexts struct {
	Width, Height int
	Scale         float64
	Texts         []struct {
		X, Y, W, H int
		Size       int      `json:"size"`
		Face       int      `json:"face"`
		Color      [4]uint8 `json:"color"`
		Panel      string   `json:"panel"`
		Text       string   `json:"text"`
	}
}

func texts(t *testing.T, ctx context.Context) frameTexts {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`pgmTexts()`))
	if err != nil {
		t.Fatal(err)
	}
	var ft frameTexts
	if err := json.Unmarshal([]byte(s), &ft); err != nil {
		t.Fatal(err)
	}
	return ft
}

// openAt opens the demo in a viewport of w x h CSS pixels at a device
// scale, at a fragment, and waits for its first settled frame.
func openAt(t *testing.T, url string, w, h int, scale float64, frag string) context.Context {
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(w), int64(h), chromedp.EmulateScale(scale)), chromedp.Navigate(url+frag)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the first frame", 90*time.Second, func(s status) bool { return s.Frames > 0 && !s.Busy })
	return ctx
}

func call[P any](t *testing.T, ctx context.Context, c cdp.Command[P, cdp.Empty], p P) {
	t.Helper()
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, c, p)
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
}

// tap presses and releases the left button at once, at CSS pixels
// (x, y): shorter than a tick of the game loop.
func tap(t *testing.T, ctx context.Context, x, y float64) {
	t.Helper()
	for _, typ := range []input.DispatchMouseEventType{chromedp.MousePressed, chromedp.MouseReleased} {
		call(t, ctx, input.DispatchMouseEvent, input.DispatchMouseEventParams{Type: typ, X: x, Y: y, Button: input.MouseButtonLeft, ClickCount: 1})
	}
}

// control is the centre, in CSS pixels, of the control bar's text s.
func control(t *testing.T, ctx context.Context, s string) (float64, float64) {
	t.Helper()
	ft := texts(t, ctx)
	for _, tx := range ft.Texts {
		if tx.Panel == "controls" && tx.Text == s {
			return (float64(tx.X) + float64(tx.W)/2) / ft.Scale, (float64(tx.Y) + float64(tx.H)/2) / ft.Scale
		}
	}
	t.Fatalf("no %q in the control bar", s)
	return 0, 0
}

// TestBrowserFixes drives what a newcomer tripped on, at 1024x640: a
// click shorter than a tick, the tour toggled (the canvas stayed black),
// nothing of the page over the canvas, and the keys after a file is
// picked through "open a trace…"; a question and a what-if branch by the
// keys, the live region; then the size of the text at four screen sizes.
func TestBrowserFixes(t *testing.T) {
	url := serveDemo(t)
	dir := outDir(t)
	ctx := openAt(t, url, 1024, 640, 1, "")

	// A tap on ► steps one event, however short.
	x, y := control(t, ctx, "►")
	tap(t, ctx, x, y)
	waitFor(t, ctx, "a tap on ► to step", 10*time.Second, func(s status) bool { return s.Event == 1 && !s.Busy })
	// The live region says so in words, for a screen reader.
	end := time.Now().Add(10 * time.Second)
	for {
		live, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("live").textContent`))
		if strings.Contains(live, "Event 1 of") {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the live region says %q", live)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// An exercise and a what-if branch, by the keys: the score goes
	// into the link, the branch changes the walk of 0x401000 (here it
	// faults: the page is not mapped yet; with its PT entry made
	// present it reaches a page).
	key(t, ctx, "g43")
	press(t, ctx, '\r', "the go-to prompt", func(s status) bool { return s.Overlay == "" && s.Event == 43 && !s.Busy })
	key(t, ctx, "x")
	waitFor(t, ctx, "a question", 10*time.Second, func(s status) bool { return s.Overlay == "quiz" })
	shot(t, ctx, dir, "fixes-0-question-1024.png")
	key(t, ctx, "1")
	st := waitFor(t, ctx, "the answer", 10*time.Second, func(s status) bool { return strings.Contains(s.Location, "quiz=") && s.Event == 44 })
	press(t, ctx, '\x1b', "Esc to close the question", func(s status) bool { return s.Overlay == "" })
	key(t, ctx, "/401000")
	press(t, ctx, '\r', "0x401000 selected", func(s status) bool { return s.Selected && s.VA == "0x401000" })
	before := state(t, ctx).Walk
	key(t, ctx, "w")
	waitFor(t, ctx, "the what-if prompt", 10*time.Second, func(s status) bool { return s.Overlay == "prompt" })
	// "flip W" becomes "flip P": the missing entry made present. Typed
	// through the page, so that the backspace and the letter keep their
	// order within a tick.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`pgmKey("\bP"); 0`)); err != nil {
		t.Fatal(err)
	}
	st = press(t, ctx, '\r', "the branch", func(s status) bool { return s.Overlay == "" && strings.Contains(s.Source, "what if") && !s.Busy })
	if st.Walk == before || !strings.Contains(st.Walk, "->") {
		t.Errorf("the what-if branch left the walk %q (before %q)", st.Walk, before)
	}
	shot(t, ctx, dir, "fixes-0-whatif-1024.png")
	key(t, ctx, "W")
	st = waitFor(t, ctx, "back to the original", 10*time.Second, func(s status) bool { return s.Source == "modes-tour.txt" && !s.Busy })
	if st.Walk != before {
		t.Errorf("back from the branch the walk is %q, was %q", st.Walk, before)
	}
	press(t, ctx, '\x1b', "Esc", func(s status) bool { return s.Overlay == "" })

	// Space, then t: the picture is there without another input.
	key(t, ctx, " t")
	time.Sleep(1500 * time.Millisecond)
	shot(t, ctx, dir, "fixes-1-tour-off-1024.png")

	// Only the canvas is on the screen: no page element over it.
	for _, p := range [][2]int{{1000, 30}, {1000, 600}, {20, 620}, {512, 320}} {
		tag, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.elementFromPoint(%d, %d).tagName`, p[0], p[1])))
		if err != nil || tag != "CANVAS" {
			t.Errorf("at (%d, %d) the page shows %q over the canvas (%v)", p[0], p[1], tag, err)
		}
	}

	// "open a trace…" opens the file chooser; once a file is picked,
	// keys reach the explorer without a click on the canvas, and space
	// plays rather than opening the chooser again.
	trace := filepath.Join(t.TempDir(), "boot-picked.txt")
	data, err := os.ReadFile(filepath.Join(root(t), "traces", "samples", "boot.txt"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(trace, data, 0o644)
	opened := make(chan cdp.BackendNodeID, 4)
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*page.EventFileChooserOpened); ok {
			opened <- e.BackendNodeID
		}
	}); err != nil {
		t.Fatal(err)
	}
	call(t, ctx, page.SetInterceptFileChooserDialog, page.SetInterceptFileChooserDialogParams{Enabled: true})
	x, y = control(t, ctx, "open a trace…")
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(x, y)); err != nil {
		t.Fatal(err)
	}
	var node cdp.BackendNodeID
	select {
	case node = <-opened:
	case <-time.After(15 * time.Second):
		t.Fatal("open a trace… opened no file chooser")
	}
	call(t, ctx, dom.SetFileInputFiles, dom.SetFileInputFilesParams{Files: []string{trace}, BackendNodeID: node})
	waitFor(t, ctx, "the picked trace", 30*time.Second, func(s status) bool { return s.Source == "boot-picked.txt" && !s.Busy })
	key(t, ctx, "4")
	waitFor(t, ctx, "key 4 after picking a file", 10*time.Second, func(s status) bool { return s.View == "walk" })
	key(t, ctx, " ")
	waitFor(t, ctx, "space to play after picking a file", 10*time.Second, func(s status) bool { return s.Playing || s.Event > 0 })
	select {
	case <-opened:
		t.Error("space opened the file chooser again")
	case <-time.After(time.Second):
	}
	key(t, ctx, " ")
	waitFor(t, ctx, "the replay to pause", 10*time.Second, func(s status) bool { return !s.Playing })

	textSizes(t, ctx, dir)
}

// textSizes measures the text of the demo in screenshots at the sizes
// students use, one at device scale 2: no text a person reads may be
// under viz.MinTextSize CSS pixels. Each text's size is checked in the
// pixels the browser shows: the height of its ink in the screenshot
// against the height of the same text drawn alone at a known size. It
// runs on the page TestBrowserFixes opened, to spare a load.
func textSizes(t *testing.T, ctx context.Context, dir string) {
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`location.hash = "#trace=modes-tour.txt&event=100&view=overview"; 0`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "event 100", 30*time.Second, func(s status) bool { return s.Event == 100 && s.View == "overview" && !s.Busy })
	// Notices of what came before (a file opened) cover text for three
	// seconds: let them go.
	time.Sleep(3500 * time.Millisecond)
	for _, sz := range []struct {
		w, h  int
		scale float64
	}{{1024, 640, 1}, {1366, 768, 1}, {1920, 1080, 1}, {1440, 900, 2}} {
		name := fmt.Sprintf("text-%dx%d@%g.png", sz.w, sz.h, sz.scale)
		// One page, resized: the explorer lays the frame out again. A
		// new device scale takes a reload, as on a real screen.
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(sz.w), int64(sz.h), chromedp.EmulateScale(sz.scale))); err != nil {
			t.Fatal(err)
		}
		if sz.scale != 1 {
			if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
			waitFor(t, ctx, "the reloaded page", 90*time.Second, func(s status) bool { return s.Frames > 0 && !s.Busy })
		}
		end := time.Now().Add(30 * time.Second)
		for ft := texts(t, ctx); ft.Width != int(float64(sz.w)*sz.scale) || ft.Height != int(float64(sz.h)*sz.scale); ft = texts(t, ctx) {
			if time.Now().After(end) {
				t.Fatalf("%s: the frame stays %dx%d", name, ft.Width, ft.Height)
			}
			time.Sleep(100 * time.Millisecond)
		}
		data := shotData(t, ctx, dir, name)
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		ft := texts(t, ctx)
		if b := img.Bounds(); b.Dx() != ft.Width || b.Dy() != ft.Height {
			t.Errorf("%s: the screenshot is %dx%d, the frame %dx%d: the browser scales the frame", name, b.Dx(), b.Dy(), ft.Width, ft.Height)
			continue
		}
		measured, smallest, what := 0, 1e9, ""
		for _, tx := range ft.Texts {
			if len([]rune(tx.Text)) < 3 || strings.TrimSpace(tx.Text) == "" {
				continue // a letter in a cell: a mark, its colour says it
			}
			ref := inkHeight(viz.Rasterize(singleText(tx.Text, viz.Face(tx.Face), tx.Size, color.RGBA{tx.Color[0], tx.Color[1], tx.Color[2], tx.Color[3]}), tx.W+4, tx.H+4), image.Rect(2, 2, tx.W+2, tx.H+2))
			got := inkHeight(img, image.Rect(tx.X, tx.Y, tx.X+tx.W, tx.Y+tx.H))
			if ref < 4 || got == 0 {
				continue
			}
			measured++
			css := float64(tx.Size) * float64(got) / float64(ref) / sz.scale
			if css < smallest {
				smallest, what = css, fmt.Sprintf("%q (%s panel)", tx.Text, tx.Panel)
			}
		}
		t.Logf("%s: %d texts measured; the smallest is %.1f CSS px: %s", name, measured, smallest, what)
		if measured < 50 {
			t.Errorf("%s: only %d texts could be measured", name, measured)
		}
		if smallest < viz.MinTextSize-0.5 {
			t.Errorf("%s: %s is %.1f CSS px, under %d", name, what, smallest, viz.MinTextSize)
		}
	}
}

// singleText is a display list with one text at (2, 2).
func singleText(s string, f viz.Face, size int, c color.RGBA) *viz.List {
	var l viz.List
	l.Reset(1, 1)
	l.Text(2, 2, f, size, c, s)
	return &l
}

// inkHeight is the number of rows, from the first to the last, of r that
// hold a pixel far from r's commonest colour (its background).
func inkHeight(img image.Image, r image.Rectangle) int {
	r = r.Intersect(img.Bounds())
	count := map[[3]uint32]int{}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			count[[3]uint32{cr >> 8, cg >> 8, cb >> 8}]++
		}
	}
	var bg [3]uint32
	most := 0
	for c, n := range count {
		if n > most {
			bg, most = c, n
		}
	}
	// Ink is what stands out from the background by at least half the
	// text's own contrast there, so that grey text on a tinted panel
	// measures like black text on white.
	dist := func(x, y int) uint32 {
		cr, cg, cb, _ := img.At(x, y).RGBA()
		return absDiff(cr>>8, bg[0]) + absDiff(cg>>8, bg[1]) + absDiff(cb>>8, bg[2])
	}
	var dmax uint32
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			dmax = max(dmax, dist(x, y))
		}
	}
	first, last := -1, -1
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if d := dist(x, y); d > 60 && d >= dmax/2 {
				if first < 0 {
					first = y
				}
				last = y
				break
			}
		}
	}
	if first < 0 {
		return 0
	}
	return last - first + 1
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// shotData takes and saves a screenshot and returns it.
func shotData(t *testing.T, ctx context.Context, dir, name string) []byte {
	t.Helper()
	chromedp.Run(ctx, chromedp.Evaluate[int](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(0))))`, chromedp.EvalAwaitPromise))
	data, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	checkNotBlank(t, name, data)
	save(t, dir, name, data)
	return data
}
