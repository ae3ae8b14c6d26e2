//go:build e2e

package e2e

import (
	"bytes"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pgm-explorer/pgm-explorer/analysis"
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/traces/samples"
)

// TestBrowserSearch types a search in the browser build and steps to
// its first match: the count is the one a native replay finds.
func TestBrowserSearch(t *testing.T) {
	const expr = "op==cr3"
	want, first := nativeMatches(t, "multiprocess.txt", expr)
	url := serveDemo(t)
	ctx := browser(t)
	dir := outDir(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(url+"#trace=multiprocess.txt&event=0")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the sample", 90*time.Second, func(s status) bool {
		return s.Frames > 0 && !s.Busy && s.Source == "multiprocess.txt" && s.Total == 4000
	})
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(400, 300)); err != nil {
		t.Fatal(err)
	}
	key(t, ctx, "s"+expr)
	press(t, ctx, '\r', "Enter to search", func(s status) bool { return s.Overlay == "" })
	st := waitFor(t, ctx, "the search over the whole trace", 30*time.Second, func(s status) bool { return s.Searched == 4000 })
	if st.Matches != want {
		t.Errorf("the browser found %d matches of %s, a native replay %d", st.Matches, expr, want)
	}
	key(t, ctx, ".")
	st = waitFor(t, ctx, "the first match", 30*time.Second, func(s status) bool { return s.Event == first+1 && !s.Busy })
	shot(t, ctx, dir, "browser-search.png")
}

func nativeMatches(t *testing.T, sample, expr string) (n, first uint64) {
	t.Helper()
	data, err := samples.Read(sample)
	if err != nil {
		t.Fatal(err)
	}
	rd, _, err := traces.NewReader(bytes.NewReader(data), sample)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.NewShadow(rd.Header().Config)
	if err != nil {
		t.Fatal(err)
	}
	f, err := analysis.Parse(expr)
	if err != nil {
		t.Fatal(err)
	}
	s := analysis.NewSearch(f, 1<<20, eng)
	for {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		o, err := eng.Apply(ev)
		if err != nil {
			t.Fatal(err)
		}
		s.Add(&o)
	}
	if s.Total == 0 {
		t.Fatalf("no %s in %s", expr, sample)
	}
	return s.Total, s.Matches()[0]
}
