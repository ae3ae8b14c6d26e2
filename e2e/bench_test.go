//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestBenchUI measures what BENCHMARKS.md records of the interactive
// explorer (make bench-ui; it takes about a minute and a half): the size
// of the WebAssembly build, the time to the first frame in headless
// Chromium, frames and events per second while replaying in the browser
// and, under Xvfb, on the desktop. It is not part of make test: the
// figures depend on the machine and its load, and it asserts nothing
// about them.
func TestBenchUI(t *testing.T) {
	if os.Getenv("BENCH_UI") == "" {
		t.Skip("set BENCH_UI=1 (make bench-ui does)")
	}
	url := serveDemo(t)
	var out strings.Builder
	say := func(format string, a ...any) {
		fmt.Fprintf(&out, format+"\n", a...)
		t.Logf(format, a...)
	}

	// The WebAssembly build, as the server sends it (gzip, best compression).
	raw, err := os.Stat(filepath.Join(root(t), "web", "explorer.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", url+"explorer.wasm", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	gz, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	say("wasm: %d bytes raw (%.1f MiB), %d bytes gzipped as served (%.1f MiB, %s)", raw.Size(), mib(raw.Size()), gz, mib(gz), resp.Header.Get("Content-Encoding"))

	// The desktop window under Xvfb, when there is a display, first:
	// the browser, once started, replays until the test ends.
	if os.Getenv("DISPLAY") == "" {
		say("desktop: no DISPLAY (make bench-ui runs this under xvfb-run)")
	} else {
		gui := filepath.Join(root(t), "bin", "explorer-gui")
		need(t, gui)
		for _, speed := range []string{"1000", "inf"} {
			b, err := exec.Command(gui, "--workload", "multiprocess", "--play", "--speed", speed, "--size", "1280x800", "--for", "10s").CombinedOutput()
			if err != nil {
				t.Errorf("explorer-gui --speed %s: %v\n%s", speed, err, b)
			}
			say("desktop under Xvfb, --speed %s:\n  %s", speed, strings.ReplaceAll(strings.TrimSpace(string(b)), "\n", "\n  "))
		}
	}

	// Time to the first frame: navigation start to the page's pgmReady,
	// with the browser's cache off, three times.
	ctx := browser(t)
	err = chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true})
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	var firsts []float64
	for range 3 {
		if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, "the first frame", 90*time.Second, func(s status) bool { return s.Frames > 0 })
		ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.pgmFirstFrame || 0`))
		if err != nil {
			t.Fatal(err)
		}
		firsts = append(firsts, ms)
	}
	slices.Sort(firsts)
	say("first frame in Chromium (localhost, cache off): %.0f, %.0f, %.0f ms", firsts[0], firsts[1], firsts[2])

	// Replaying the live workload in the default view: at 1000 events/s
	// (a new picture every tick), then flat out.
	// (A new fragment alone is applied without a reload; reload anyway,
	// for a page that has done nothing else.)
	if err := chromedp.Do(ctx, chromedp.Navigate(url+"#workload=multiprocess&seed=1&event=0&view=overview"), chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the workload", 90*time.Second, func(s status) bool { return s.Frames > 0 && !s.Busy })
	for _, run := range []struct{ name, keys string }{
		{"1000 events/s", "]]]]] "},     // speed 20 -> 1000, play
		{"flat out", "]]]]]]]]]]]]]]]"}, // -> flat out
	} {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](fmt.Sprintf("pgmKey(%q)", run.keys))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
		a, ta := state(t, ctx), time.Now()
		time.Sleep(10 * time.Second)
		b, tb := state(t, ctx), time.Now()
		d := tb.Sub(ta).Seconds()
		c := b.Costs
		say("browser, %s: %.1f pictures/s, %.0f events/s (%s); Ebiten %.1f frames/s; last second: %d ticks, %.0f ms in Update, per picture %.1f ms layout, %.1f ms rasterising, %.1f ms uploading",
			run.name, float64(b.Frames-a.Frames)/d, float64(b.Event-a.Event)/d, b.Speed, b.FPS,
			c.Ticks, c.Update, per(c.Layout, c.Pictures, c.Seconds), per(c.Raster, c.Pictures, c.Seconds), per(c.Upload, c.Pictures, c.Seconds))
	}

	if p := os.Getenv("BENCH_UI_OUT"); p != "" {
		os.WriteFile(p, []byte(out.String()), 0o644)
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// per turns milliseconds per second into milliseconds per picture.
func per(msPerSecond float64, pictures int, seconds float64) float64 {
	if pictures == 0 {
		return 0
	}
	return msPerSecond * seconds / float64(pictures)
}
