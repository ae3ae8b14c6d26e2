package viz

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// fitSlow is the fitting fitB replaced, one character at a time: the
// reference its answers must equal.
func fitSlow(f Face, size, w int, b []byte) ([]byte, bool) {
	if measureBytes(f, size, b) <= w {
		return b, true
	}
	ell := Measure(f, size, "…")
	for len(b) > 0 {
		n := len(b) - 1
		for n > 0 && b[n]&0xc0 == 0x80 {
			n--
		}
		b = b[:n]
		if measureBytes(f, size, b)+ell <= w {
			return append(b, "…"...), true
		}
	}
	return b, false
}

// TestFitMatchesSlow: for random texts (ASCII, accented letters, CJK,
// emoji, control bytes) and widths, fitB cuts where trimming one
// character at a time would.
func TestFitMatchesSlow(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	pieces := []string{"a", "W", " ", "i", "é", "中", "😀", "\x01", "…", "mm", "0x1f"}
	for i := range 3000 {
		var sb strings.Builder
		for range rng.IntN(80) {
			sb.WriteString(pieces[rng.IntN(len(pieces))])
		}
		s := sb.String()
		f := Face(rng.IntN(2))
		size := 9 + rng.IntN(12)
		w := rng.IntN(Measure(f, size, s) + 20)
		want, wok := fitSlow(f, size, w, []byte(s))
		c := &ctx{b: []byte(s)}
		ok := c.fitB(f, size, w)
		if ok != wok || (ok && string(c.b) != string(want)) {
			t.Fatalf("case %d: fit %q to %d px: %q %v; want %q %v", i, s, w, c.b, ok, want, wok)
		}
	}
}

// TestFitLongLabel: a 60,000-character label is fitted well within a
// frame's time (the old trimming took seconds), many times over as a
// window redrawing would.
func TestFitLongLabel(t *testing.T) {
	label := strings.Repeat("a long label é中 ", 4000)[:60000]
	c := &ctx{b: []byte(label)}
	start := time.Now()
	c.fitB(FaceRegular, 12, 300)
	if el := time.Since(start); el > 50*time.Millisecond {
		t.Fatalf("%v for one fit of a 60,000-character label; want well under a frame", el)
	}
	start = time.Now()
	const redraws = 100
	for range redraws {
		c.b = append(c.b[:0], label...)
		if !c.fitB(FaceRegular, 12, 300) {
			t.Fatal("nothing fits")
		}
	}
	el := time.Since(start)
	t.Logf("%v per fit of a 60,000-character label", el/redraws)
	if w := measureBytes(FaceRegular, 12, c.b); w > 300 || !strings.HasSuffix(string(c.b), "…") {
		t.Errorf("fitted to %d px: %q", w, c.b)
	}
	// One frame at 60 Hz is 16 ms; one fit should be a small part of it.
	if per := el / redraws; per > 2*time.Millisecond {
		t.Errorf("%v per fit of a 60,000-character label; want well under a frame", per)
	}
}
