package app

import (
	"image"
	"math"
	"testing"
	"time"

	"github.com/pgm-explorer/pgm-explorer/viz"
)

// loop plays a as gui.Run does, at TPS ticks per second for d: Update,
// then Frame, then (when the frame changed) the same rasterisation the
// window does. It returns the events applied per second and the
// pictures made per second.
func loop(a *App, d time.Duration) (evps, fps float64) {
	rd := viz.NewRenderer()
	var img *image.RGBA
	start := time.Now()
	ev0 := a.p.pos()
	frames := 0
	tick := time.Second / TPS
	next := start
	for time.Since(start) < d {
		a.Update(Input{})
		if l, changed := a.Frame(); changed {
			r := image.Rect(0, 0, l.Width, l.Height)
			if img == nil || img.Rect != r {
				img = image.NewRGBA(r)
			}
			white(img.Pix)
			rd.Render(img, l)
			frames++
		}
		// Like Ebiten: a tick that ran late is followed at once by the
		// next, one that ran early waits for its time.
		next = next.Add(tick)
		if w := time.Until(next); w > 0 {
			time.Sleep(w)
		} else if w < -4*tick {
			next = time.Now()
		}
	}
	s := time.Since(start).Seconds()
	return float64(a.p.pos()-ev0) / s, float64(frames) / s
}

// white is gui's: fill by doubling copies.
func white(pix []byte) {
	pix[0] = 255
	for n := 1; n < len(pix); n *= 2 {
		copy(pix[n:], pix[:n])
	}
}

// flatOut opens st and plays it flat out.
func flatOut(tb testing.TB, st State) *App {
	tb.Helper()
	a, err := New(Options{State: st, Speed: math.Inf(1), Play: true})
	if err != nil {
		tb.Fatal(err)
	}
	if err := a.Settle(); err != nil {
		tb.Fatal(err)
	}
	a.p.playing = true
	a.Resize(1280, 800)
	return a
}

// BenchmarkFlatOut runs the window's loop for a second per iteration,
// replaying a live workload flat out at 1280x800, and reports the
// events applied and the pictures made per second of wall time.
func BenchmarkFlatOut(b *testing.B) {
	a := flatOut(b, State{Source: Source{Workload: "multiprocess", Seed: 1}})
	defer a.p.close()
	var ev, fps float64
	for b.Loop() {
		e, f := loop(a, time.Second)
		ev += e
		fps += f
	}
	b.ReportMetric(ev/float64(b.N), "events/s")
	b.ReportMetric(fps/float64(b.N), "frames/s")
	b.ReportMetric(0, "ns/op")
}

// TestFlatOutUsesTheBudget: flat out, a tick replays for its time
// budget (not a fixed number of events), and pictures of the replay are
// capped while what the user does is drawn at once.
func TestFlatOutUsesTheBudget(t *testing.T) {
	a := flatOut(t, State{Source: Source{Workload: "multiprocess", Seed: 1}})
	defer a.p.close()
	a.budget = 20 * time.Millisecond
	a.Frame()
	start := time.Now()
	ev0 := a.p.pos()
	a.Update(Input{})
	if d := time.Since(start); d < a.budget {
		t.Errorf("a flat-out tick took %v, less than its budget %v", d, a.budget)
	}
	if !a.p.late || a.p.pos()-ev0 < clockEvery {
		t.Errorf("a flat-out tick applied %d events, late %v", a.p.pos()-ev0, a.p.late)
	}
	// The replay alone: at most MaxBusyFPS pictures a second.
	a.budget = time.Millisecond
	frames := 0
	const d = 400 * time.Millisecond
	for start := time.Now(); time.Since(start) < d; {
		a.Update(Input{})
		if _, changed := a.Frame(); changed {
			frames++
		}
		time.Sleep(time.Millisecond)
	}
	if max := int(d*MaxBusyFPS/time.Second) + 1; frames > max || frames == 0 {
		t.Errorf("%d pictures in %v flat out, want 1 to %d", frames, d, max)
	}
	// A key is drawn at the next frame, cap or not.
	a.Update(Input{Chars: []rune("3")})
	if _, changed := a.Frame(); !changed || a.view.String() != "memory" {
		t.Errorf("key 3 while flat out: changed %v, view %v", changed, a.view)
	}
	// So is the last picture when the replay stops.
	a.Update(Input{Chars: []rune(" ")})
	if _, changed := a.Frame(); !changed || a.p.playing {
		t.Errorf("pause while flat out: changed %v, playing %v", changed, a.p.playing)
	}
}

// TestBatchesReplayTheSame: a workload replayed in batches on its
// goroutine reaches the same state as one replayed event by event
// through channels.
func TestBatchesReplayTheSame(t *testing.T) {
	src := Source{Workload: "multiprocess", Seed: 2}
	const n = 3000
	batched := newTest(t, State{Source: src, Event: n})
	defer batched.p.close()
	single := newTest(t, State{Source: src})
	defer single.p.close()
	for single.p.pos() < n {
		if !single.p.step() {
			t.Fatalf("stopped at %d: %v", single.p.pos(), single.p.err)
		}
	}
	if b, s := batched.p.last, single.p.last; b != s {
		t.Errorf("event %d: batched %+v, single %+v", n-1, b, s)
	}
	bs, _ := batched.Stats("csv")
	ss, _ := single.Stats("csv")
	if string(bs) != string(ss) {
		t.Errorf("statistics differ after %d events", n)
	}
}
