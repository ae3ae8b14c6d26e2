package app

import (
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/viz"
)

// -shots DIR writes screenshots of the analysis features at 1366x768
// and 1920x1080 to look at; DOCS=../../docs writes the README's (the
// 1366x768 ones, as TestDocsPictures does). Without either the test is
// skipped: it checks nothing the golden frames do not.
var shots = flag.String("shots", "", "write the analysis screenshots into this directory")

func shot(t *testing.T, a *App, name string) {
	t.Helper()
	a.toast = "" // a notice would hide what the picture shows
	a.dirty = true
	l, _ := a.Frame()
	img := viz.Rasterize(l, l.Width, l.Height)
	dir, docs := *shots, os.Getenv("DOCS")
	if docs != "" {
		// The README's pictures: analysis-NAME.png, 1366x768 only.
		base, size, _ := strings.Cut(name, "-1")
		if size != "366x768" {
			return
		}
		dir, name = docs, "analysis-"+base
	}
	f, err := os.Create(filepath.Join(dir, name+".png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

func TestAnalysisShots(t *testing.T) {
	if *shots == "" && os.Getenv("DOCS") == "" {
		t.Skip("neither -shots DIR nor DOCS")
	}
	for _, sz := range [][2]int{{1366, 768}, {1920, 1080}} {
		suffix := "-" + itoa(sz[0]) + "x" + itoa(sz[1])
		a := newTest(t, State{Source: Source{Sample: "multiprocess.txt"}, Event: 0})
		a.Resize(sz[0], sz[1])
		if err := a.SetSearch("gva in 0x10006000..0x10007000 && !ok"); err != nil {
			t.Fatal(err)
		}
		a.settleScans()
		a.NextMatch(1)
		a.NextMatch(1)
		a.Settle()
		shot(t, a, "search"+suffix)
		a.Update(Input{Chars: []rune("s")})
		a.prompt.text = "" // s edits the search shown: start afresh
		a.Update(Input{Chars: []rune("op==w && gva in 0x400000..\r")})
		shot(t, a, "search-error"+suffix)
		a.Update(Input{Keys: []Key{KeyEscape}})
		a.ClearSearch()
		a.ToggleHotSpots()
		a.settleScans()
		a.ChooseHotSpot(0)
		a.settleScans()
		a.NextMatch(1)
		a.Settle()
		shot(t, a, "hotspots"+suffix)
		a.ToggleHotSpots()
		a.ClearSearch()
		a.Seek(1000)
		a.Settle()
		a.MarkMoment()
		a.Seek(2000)
		a.Settle()
		shot(t, a, "changes"+suffix)
		a.MarkMoment()
		a.Select(0x10003000)
		if err := a.Compare("paging=nested"); err != nil {
			t.Fatal(err)
		}
		a.Seek(2600)
		a.Settle()
		a.settleScans()
		shot(t, a, "compare"+suffix)
	}
}

func itoa(n int) string { return string(appendInt(nil, n)) }

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}
