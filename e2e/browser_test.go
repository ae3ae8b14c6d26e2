//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

type status struct {
	Source   string  `json:"source"`
	Event    uint64  `json:"event"`
	Total    uint64  `json:"total"`
	Playing  bool    `json:"playing"`
	Busy     bool    `json:"busy"`
	View     string  `json:"view"`
	VA       string  `json:"va"`
	Selected bool    `json:"selected"`
	Walk     string  `json:"walk"`
	Overlay  string  `json:"overlay"`
	Error    string  `json:"error"`
	Matches  uint64  `json:"matches"`
	Searched uint64  `json:"searched"`
	Frames   uint64  `json:"frames"`
	Location string  `json:"location"`
	FPS      float64 `json:"fps"`
	Speed    string  `json:"speed"`
	Costs    struct {
		Seconds  float64 `json:"seconds"`
		Ticks    int     `json:"ticks"`
		Pictures int     `json:"pictures"`
		Update   float64 `json:"update"`
		Layout   float64 `json:"layout"`
		Raster   float64 `json:"raster"`
		Upload   float64 `json:"upload"`
	} `json:"costs"`
}

// serveDemo starts `explorer serve` on a free port and returns its URL.
func serveDemo(t *testing.T) string {
	dir := root(t)
	need(t, filepath.Join(dir, "bin", "explorer"))
	need(t, filepath.Join(dir, "web", "explorer.wasm"))
	cmd := exec.Command(filepath.Join(dir, "bin", "explorer"), "serve", "--addr", "127.0.0.1:0", "--dir", filepath.Join(dir, "web"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("explorer serve: %v", err)
	}
	_, rest, ok := strings.Cut(line, "http://")
	if !ok {
		t.Fatalf("explorer serve said %q", line)
	}
	addr, _, _ := strings.Cut(rest, "/")
	return "http://" + addr + "/"
}

func browser(t *testing.T) context.Context {
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Fatal("no /usr/bin/chromium: make browser-deps installs it")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath("/usr/bin/chromium"),
		chromedp.Headless, chromedp.NoSandbox, chromedp.NoFirstRun,
		// Ebiten needs WebGL2: SwiftShader provides it on the CPU.
		chromedp.Flag("use-angle", "swiftshader"),
		chromedp.Flag("enable-unsafe-swiftshader", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	return ctx
}

func state(t *testing.T, ctx context.Context) status {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.pgmState ? pgmState() : ""`))
	if err != nil {
		t.Fatalf("reading the state: %v", err)
	}
	var st status
	if s != "" {
		if err := json.Unmarshal([]byte(s), &st); err != nil {
			t.Fatalf("state %q: %v", s, err)
		}
	}
	return st
}

// waitFor polls the state until ok holds.
func waitFor(t *testing.T, ctx context.Context, what string, d time.Duration, ok func(status) bool) status {
	t.Helper()
	end := time.Now().Add(d)
	for {
		st := state(t, ctx)
		if ok(st) {
			return st
		}
		if time.Now().After(end) {
			page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("waiting %v for %s: state %+v; page says %q", d, what, st, page)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func shot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	// Two animation frames: the canvas shows the latest upload.
	chromedp.Run(ctx, chromedp.Evaluate[int](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(0))))`, chromedp.EvalAwaitPromise))
	data, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	checkNotBlank(t, name, data)
	save(t, dir, name, data)
}

// key types characters through real key events (characters are
// buffered by the page, so none is lost however short the press).
func key(t *testing.T, ctx context.Context, keys string) {
	t.Helper()
	for _, r := range keys {
		for _, k := range kb.Encode(r) {
			dispatch(t, ctx, k)
			if k.Type == input.DispatchKeyEventTypeKeyDown || k.Type == input.DispatchKeyEventTypeRawKeyDown {
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
}

// press taps a key that is not a character (Enter, Esc): down and up at
// once, shorter than a tick of the game loop (ticks can be far apart in
// headless Chromium on a busy machine), and waits until the app shows its
// effect. The page takes such keys from its keydown events, so a tap
// between two ticks must not be lost.
func press(t *testing.T, ctx context.Context, r rune, what string, done func(status) bool) status {
	t.Helper()
	for _, k := range kb.Encode(r) {
		dispatch(t, ctx, k)
	}
	return waitFor(t, ctx, what, 10*time.Second, done)
}

func dispatch(t *testing.T, ctx context.Context, k *input.DispatchKeyEventParams) {
	t.Helper()
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, input.DispatchKeyEvent, *k)
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
}

func TestBrowser(t *testing.T) {
	url := serveDemo(t)
	ctx := browser(t)
	dir := outDir(t)
	start := time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	st := waitFor(t, ctx, "the first frame", 90*time.Second, func(s status) bool { return s.Frames > 0 && !s.Busy })
	t.Logf("first frame after %v: %+v", time.Since(start).Round(time.Millisecond), st)
	if st.Source != "modes-tour.txt" || st.Event != 0 || st.Error != "" {
		t.Errorf("the demo opens at %+v, want the tour at event 0 without error", st)
	}
	shot(t, ctx, dir, "browser-1-start.png")

	// Focus the canvas, then play: the event index moves.
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(400, 300)); err != nil {
		t.Fatal(err)
	}
	key(t, ctx, " ")
	waitFor(t, ctx, "the replay to advance", 30*time.Second, func(s status) bool { return s.Event > 0 })
	key(t, ctx, "n") // stop at the next label, as a student would
	st = waitFor(t, ctx, "the replay to stop", 30*time.Second, func(s status) bool { return !s.Playing && !s.Busy && s.Event >= 5 })
	shot(t, ctx, dir, "browser-2-played.png")

	// Select an address by typing it; the walk follows it.
	key(t, ctx, "g60")
	press(t, ctx, '\r', "Enter to close the go-to prompt", func(s status) bool { return s.Overlay == "" })
	waitFor(t, ctx, "event 60", 30*time.Second, func(s status) bool { return s.Event == 60 && !s.Busy })
	key(t, ctx, "/400010")
	st = press(t, ctx, '\r', "the selected address", func(s status) bool { return s.Selected && s.VA == "0x400010" })
	if !strings.Contains(st.Walk, "-> 0x200010") {
		t.Errorf("walk of 0x400010 at event 60: %q, want it to reach 0x200010", st.Walk)
	}
	key(t, ctx, "4")
	st = waitFor(t, ctx, "the walk view", 10*time.Second, func(s status) bool { return s.View == "walk" })
	shot(t, ctx, dir, "browser-3-walk.png")

	// The URL carries the state: reloading it shows the same picture.
	loc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.hash`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(loc, "event=60") || !strings.Contains(loc, "va=0x400010") || !strings.Contains(loc, "view=walk") {
		t.Errorf("URL fragment %q does not carry the state", loc)
	}
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	st = waitFor(t, ctx, "the reloaded state", 90*time.Second, func(s status) bool { return s.Frames > 0 && !s.Busy && s.Event == 60 })
	if st.VA != "0x400010" || !st.Selected || st.View != "walk" {
		t.Errorf("after reload: %+v, want event 60, 0x400010 selected, walk view", st)
	}

	// A fragment changed without a reload (an edited address bar, back,
	// forward) applies at once: a source of its own, then the tour again
	// at its moment.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`window.notReloaded = true; location.hash = "#trace=boot.txt&event=30&view=memory"; 0`)); err != nil {
		t.Fatal(err)
	}
	st = waitFor(t, ctx, "the edited fragment", 30*time.Second, func(s status) bool { return s.Source == "boot.txt" && s.Event == 30 && !s.Busy })
	if st.View != "memory" || st.Selected {
		t.Errorf("after editing the fragment: %+v, want boot.txt at 30, memory view, nothing selected", st)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`history.back(); 0`)); err != nil {
		t.Fatal(err)
	}
	st = waitFor(t, ctx, "the fragment before, through back", 30*time.Second, func(s status) bool { return s.Source == "modes-tour.txt" && s.Event == 60 && !s.Busy })
	if st.VA != "0x400010" || !st.Selected || st.View != "walk" {
		t.Errorf("after back: %+v, want event 60, 0x400010 selected, walk view", st)
	}
	if kept, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded === true`)); !kept {
		t.Errorf("changing the fragment reloaded the page")
	}

	// Open a trace through the file input.
	trace := filepath.Join(t.TempDir(), "boot-copy.txt")
	data, err := os.ReadFile(filepath.Join(root(t), "traces", "samples", "boot.txt"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(trace, data, 0o644)
	if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{trace}, chromedp.NodeReady)); err != nil {
		t.Fatal(err)
	}
	st = waitFor(t, ctx, "the opened trace", 30*time.Second, func(s status) bool { return s.Source == "boot-copy.txt" && !s.Busy })
	if st.Total == 0 || st.Error != "" {
		t.Errorf("opened trace: %+v", st)
	}
	key(t, ctx, "1/1000")
	press(t, ctx, '\r', "the address typed", func(s status) bool { return s.Selected })
	press(t, ctx, '\x1b', "Esc to follow the last access again", func(s status) bool { return !s.Selected })
	key(t, ctx, "m")
	key(t, ctx, "m")
	waitFor(t, ctx, "a mode change", 30*time.Second, func(s status) bool { return s.Event > 0 && !s.Busy })
	shot(t, ctx, dir, "browser-4-trace.png")

	// A file that is not a trace is refused with a message; the trace stays.
	bad := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(bad, []byte("hello, this is not a trace\n"), 0o644)
	if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{bad}, chromedp.NodeReady)); err != nil {
		t.Fatal(err)
	}
	st = waitFor(t, ctx, "the refusal", 10*time.Second, func(s status) bool { return s.Error != "" })
	if !strings.Contains(st.Error, "not a trace") || st.Source != "boot-copy.txt" {
		t.Errorf("after a bad file: %+v", st)
	}

	// Frames per second while replaying flat out.
	press(t, ctx, '\x1b', "Esc to dismiss the error", func(s status) bool { return s.Error == "" })
	// A fresh page for the measure.
	chromedp.Do(ctx, chromedp.Navigate(url+"#workload=multiprocess&seed=1&event=0&view=overview"), chromedp.Reload())
	waitFor(t, ctx, "the workload", 90*time.Second, func(s status) bool { return s.Frames > 0 && strings.HasPrefix(s.Source, "multiprocess") })
	chromedp.Do(ctx, chromedp.MouseClickXY(400, 300))
	for range 25 {
		key(t, ctx, "]")
	}
	key(t, ctx, " ")
	time.Sleep(3 * time.Second)
	a := state(t, ctx)
	time.Sleep(5 * time.Second)
	b := state(t, ctx)
	t.Logf("flat out in headless Chromium: %.1f frames/s (Ebiten's measure), %.0f frames/s counted, %.0f events/s",
		b.FPS, float64(b.Frames-a.Frames)/5, float64(b.Event-a.Event)/5)
	if b.Event <= a.Event {
		t.Errorf("flat-out replay did not advance: %+v then %+v", a, b)
	}
	shot(t, ctx, dir, "browser-5-flatout.png")
}
