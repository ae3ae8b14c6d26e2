package traces

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces/internal/synth"
)

// seekEngines are the engines seeking is tested with.
var seekEngines = []struct {
	name string
	new  func(engine.Config) (SeekEngine, error)
}{
	{"shadow", func(c engine.Config) (SeekEngine, error) { return engine.NewShadow(c) }},
	{"ref", func(c engine.Config) (SeekEngine, error) { return engine.NewReference(c) }},
}

// seekTestEvents is the synthetic trace of the seek tests: n events, with
// extra events inserted at the indexes extra gives (in the final trace).
func seekTestEvents(n int, extra map[int]engine.Event) []engine.Event {
	g := synth.New(7)
	evs := make([]engine.Event, 0, n)
	for len(evs) < n {
		if ev, ok := extra[len(evs)]; ok {
			evs = append(evs, ev)
			continue
		}
		evs = append(evs, g.Next())
	}
	return evs
}

// writeTrace writes events as a trace file in dir, in the form its name
// says.
// seekTestTrace writes the n-event seek test trace to a temporary file
// named name (its suffix picks the form) and returns its events and path.
func seekTestTrace(t testing.TB, n int, name string) ([]engine.Event, string) {
	t.Helper()
	evs := seekTestEvents(n, nil)
	path := filepath.Join(t.TempDir(), name)
	writeTrace(t, path, evs)
	return evs, path
}

func writeTrace(t testing.TB, path string, evs []engine.Event) {
	t.Helper()
	w, err := Create(path, Header{Config: synth.Config()})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if err := w.WriteEvent(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// straightStates replays evs from the start on a new engine and returns
// its saved state after each number of events in at, and the outcomes.
func straightStates(t testing.TB, newEng func(engine.Config) (SeekEngine, error), evs []engine.Event, at []uint64) (map[uint64][]byte, []engine.Outcome) {
	t.Helper()
	eng, err := newEng(synth.Config())
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint64][]byte{}
	at = slices.Sorted(slices.Values(at))
	var outs []engine.Outcome
	for i := 0; ; i++ {
		for len(at) > 0 && at[0] == uint64(i) {
			var b bytes.Buffer
			if err := SaveState(&b, eng); err != nil {
				t.Fatal(err)
			}
			want[at[0]] = b.Bytes()
			at = at[1:]
		}
		if i == len(evs) {
			break
		}
		o, err := eng.Apply(evs[i])
		if err != nil {
			t.Fatalf("straight replay: event %d %s: %v", i, AppendEvent(nil, evs[i]), err)
		}
		outs = append(outs, o)
	}
	return want, outs
}

func saved(t testing.TB, eng SeekEngine) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := SaveState(&b, eng); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// seekTargets are the events the tests seek to: the ends, some
// checkpoints (up to ncps) and the events just before them, and random
// ones, in random order. (Few: every seek and every check saves a whole
// state, which the race detector makes slow.)
func seekTargets(rng *rand.Rand, n uint64, cps []uint64, ncps, random int) []uint64 {
	set := map[uint64]bool{0: true, n: true, n - 1: true}
	cps = slices.Clone(cps)
	rng.Shuffle(len(cps), func(i, j int) { cps[i], cps[j] = cps[j], cps[i] })
	for _, c := range cps[:min(ncps, len(cps))] {
		for _, d := range []uint64{c - 1, c} {
			if d <= n {
				set[d] = true
			}
		}
	}
	for range random {
		set[rng.Uint64N(n+1)] = true
	}
	l := slices.Collect(func(yield func(uint64) bool) {
		for k := range set {
			if !yield(k) {
				return
			}
		}
	})
	slices.Sort(l)
	rng.Shuffle(len(l), func(i, j int) { l[i], l[j] = l[j], l[i] })
	return l
}

// smallSeek spaces checkpoints closely, for short test traces.
func smallSeek() *SeekOptions {
	return &SeekOptions{MaxCheckpoints: 16, MinInterval: 500}
}

// TestSeekMatchesReplay: after Seek(n), the engine saves the same bytes as
// an engine that replayed events 0..n-1, and Next returns event n; for
// both engines, over many targets in random order (so that seeks go
// backwards, forwards, within one interval and across).
func TestSeekMatchesReplay(t *testing.T) {
	t.Parallel()
	const n = 24_000
	evs, path := seekTestTrace(t, n, "t.pgmt")
	for _, e := range seekEngines {
		t.Run(e.name, func(t *testing.T) {
			eng, _ := e.new(synth.Config())
			s, err := OpenSeeker(path, eng, &SeekOptions{MaxCheckpoints: 16, MinInterval: 500, NoCache: true})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Len() != n || s.Damage() != nil {
				t.Fatalf("Len %d, Damage %v; want %d, nil", s.Len(), s.Damage(), n)
			}
			cps := s.Checkpoints()
			if len(cps) != 16 || cps[0] != 0 || s.Interval() != n/16 {
				t.Fatalf("checkpoints %v (interval %d); want 16, every %d", cps, s.Interval(), n/16)
			}
			if eng.Events() != 0 {
				t.Fatalf("after OpenSeeker the engine is at event %d, want 0", eng.Events())
			}
			rng := rand.New(rand.NewPCG(1, 2))
			targets := seekTargets(rng, n, cps, 6, 8)
			// Seeks a few events on from the last: the continuing path.
			for i := range len(targets) / 4 {
				if k := targets[4*i] + 7; k <= n {
					targets = slices.Insert(targets, 4*i+1, k)
				}
			}
			want, _ := straightStates(t, e.new, evs, targets)
			for _, k := range targets {
				if err := s.Seek(k); err != nil {
					t.Fatalf("Seek(%d): %v", k, err)
				}
				if got := saved(t, eng); !bytes.Equal(got, want[k]) {
					t.Fatalf("Seek(%d): the saved state differs from a straight replay's (%d bytes, want %d)", k, len(got), len(want[k]))
				}
				ev, err := s.Next()
				switch {
				case k == n && err != io.EOF:
					t.Fatalf("Seek(%d) (the end), Next: %v, %v; want io.EOF", k, ev, err)
				case k < n && (err != nil || ev != evs[k]):
					t.Fatalf("Seek(%d), Next: %v, %v; want %v", k, ev, err, evs[k])
				}
			}
		})
	}
}

// TestSeekSnapshotsAndVirtHandlers: a trace with save and restore events
// and virtual handlers, which saved states do not hold: after a seek the
// rest of the trace replays with the outcomes of a straight replay (all
// of them on the reference CPU; what the guest sees on the shadow
// engine, whose TLB and shadow tables start afresh).
func TestSeekSnapshotsAndVirtHandlers(t *testing.T) {
	t.Parallel()
	const n = 20_000
	const code, heap = 0x400000, 0x10000000
	extra := map[int]engine.Event{
		2000:  {Kind: engine.EvVirtHandler, Size: uint8(engine.VirtAll), Addr: code, Value: 4 << 12, Text: "code-watch"},
		3500:  {Kind: engine.EvSave, Text: "a"},
		5000:  {Kind: engine.EvSave, Text: "b"},
		7000:  {Kind: engine.EvRestore, Text: "a"},
		8500:  {Kind: engine.EvVirtUnhandler, Addr: code},
		10500: {Kind: engine.EvVirtHandler, Size: uint8(engine.VirtWrite), Addr: heap, Value: 2 << 12, Text: "heap-watch"},
		13000: {Kind: engine.EvRestore, Text: "b"},
		14500: {Kind: engine.EvSave, Text: "a"},
		16500: {Kind: engine.EvRestore, Text: "a"},
		18000: {Kind: engine.EvRestore, Text: "b"},
	}
	evs := seekTestEvents(n, extra)
	path := filepath.Join(t.TempDir(), "t.pgmt")
	writeTrace(t, path, evs)
	const follow = 200 // events compared after each seek
	for _, e := range seekEngines {
		t.Run(e.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			eng, _ := e.new(synth.Config())
			s, err := OpenSeeker(path, eng, smallSeek())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			targets := seekTargets(rng, n-follow, s.Checkpoints(), 3, 4)
			for k := range extra {
				targets = append(targets, uint64(k), uint64(k+1))
			}
			want, outs := straightStates(t, e.new, evs, targets)
			hits := 0
			for _, k := range targets {
				if err := s.Seek(k); err != nil {
					t.Fatalf("Seek(%d): %v", k, err)
				}
				if got := saved(t, eng); !bytes.Equal(got, want[k]) {
					t.Fatalf("Seek(%d): the saved state differs from a straight replay's", k)
				}
				for i := k; i < k+follow && i < n; i++ {
					ev, err := s.Next()
					if err != nil {
						t.Fatal(err)
					}
					o, err := eng.Apply(ev)
					if err != nil {
						t.Fatalf("after Seek(%d): event %d: %v", k, i, err)
					}
					w := outs[i]
					if w.Handler == "code-watch" || w.Handler == "heap-watch" {
						hits++
					}
					if e.name == "ref" && !reflect.DeepEqual(o, w) {
						t.Fatalf("after Seek(%d): event %d: outcome\n%+v\nwant\n%+v", k, i, o, w)
					}
					if o.OK != w.OK || o.Value != w.Value || o.Fault != w.Fault || o.GPA != w.GPA {
						t.Fatalf("after Seek(%d): event %d: the guest sees\n%+v\nwant\n%+v", k, i, o, w)
					}
				}
			}
			if hits == 0 {
				t.Error("no virtual handler was hit after a seek: the test does not test them")
			}
		})
	}
}

// TestSeekCache: the checkpoints are kept next to the trace and reused;
// a damaged, stale or foreign cache is rebuilt, never trusted, and a
// state damaged inside a sound index is caught when a seek reads it.
func TestSeekCache(t *testing.T) {
	t.Parallel()
	const n = 8000
	evs := seekTestEvents(n, nil)
	dir := t.TempDir()
	path := filepath.Join(dir, "t.pgmt")
	writeTrace(t, path, evs)
	rng := rand.New(rand.NewPCG(5, 6))
	targets := seekTargets(rng, n, nil, 0, 3)
	want, _ := straightStates(t, seekEngines[0].new, evs, targets)
	idx := path + ".idx"
	cacheOpts := func() *SeekOptions { return &SeekOptions{MaxCheckpoints: 6, MinInterval: 500} }

	// open opens a seeker with the cache and checks every target.
	open := func(t *testing.T, wantReused bool) *Seeker {
		t.Helper()
		eng, _ := engine.NewShadow(synth.Config())
		s, err := OpenSeeker(path, eng, cacheOpts())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if c := s.Cache(); c.Path != idx || c.Reused != wantReused || c.Err != nil {
			t.Fatalf("Cache() = %+v; want %s, reused %v", c, idx, wantReused)
		}
		if s.Len() != n || len(s.Checkpoints()) != 6 {
			t.Fatalf("Len %d, %d checkpoints", s.Len(), len(s.Checkpoints()))
		}
		for _, k := range targets {
			if err := s.Seek(k); err != nil {
				t.Fatalf("Seek(%d): %v", k, err)
			}
			if !bytes.Equal(saved(t, eng), want[k]) {
				t.Fatalf("Seek(%d): the saved state differs from a straight replay's", k)
			}
		}
		return s
	}
	open(t, false)
	sound, err := os.ReadFile(idx)
	if err != nil {
		t.Fatal(err)
	}
	open(t, true)

	indexLen := int(uint32(sound[12]) | uint32(sound[13])<<8 | uint32(sound[14])<<16 | uint32(sound[15])<<24)
	damage := []struct {
		name string
		edit func([]byte) []byte
	}{
		{"empty", func([]byte) []byte { return nil }},
		{"garbage", func(b []byte) []byte { return bytes.Repeat([]byte("x"), len(b)) }},
		{"cut in the index", func(b []byte) []byte { return b[:seekCacheHead+indexLen/2] }},
		{"cut in the states", func(b []byte) []byte { return b[:len(b)-100] }},
		{"byte of the index", func(b []byte) []byte { b[seekCacheHead+indexLen/3] ^= 0x40; return b }},
		{"version", func(b []byte) []byte { b[8]++; return b }},
		{"index length", func(b []byte) []byte { b[15] = 0x7f; return b }},
		{"longer", func(b []byte) []byte { return append(b, 0) }},
	}
	for _, d := range damage {
		t.Run(d.name, func(t *testing.T) {
			if err := os.WriteFile(idx, d.edit(bytes.Clone(sound)), 0o644); err != nil {
				t.Fatal(err)
			}
			open(t, false)
			if b, _ := os.ReadFile(idx); !bytes.Equal(b, sound) {
				t.Fatal("the rebuilt cache differs from the first")
			}
		})
	}
	t.Run("every bit of the index", func(t *testing.T) {
		// Each flipped bit of the head or the index makes the cache
		// unusable (it is rebuilt), never read as something else:
		// every bit of the head, of the index's ends and of a sample.
		s0 := open(t, true)
		st, _ := os.Stat(path)
		var at []int
		for i := range seekCacheHead + 12 {
			at = append(at, i, seekCacheHead+indexLen-1-i)
		}
		for range 24 {
			at = append(at, seekCacheHead+rng.IntN(indexLen))
		}
		for _, i := range at {
			for bit := range 8 {
				b := bytes.Clone(sound)
				b[i] ^= 1 << bit
				if err := os.WriteFile(idx, b, 0o644); err != nil {
					t.Fatal(err)
				}
				if _, ok := s0.readCacheFile(idx, st, s0.cps[0]); ok {
					t.Fatalf("byte %d bit %d flipped: the cache is still taken", i, bit)
				}
			}
		}
		os.WriteFile(idx, sound, 0o644)
	})
	t.Run("trace changed", func(t *testing.T) {
		os.WriteFile(idx, sound, 0o644)
		st, _ := os.Stat(path)
		os.Chtimes(path, st.ModTime(), st.ModTime().Add(1e9))
		open(t, false)
	})
	t.Run("other engine", func(t *testing.T) {
		eng, _ := engine.NewReference(synth.Config())
		s, err := OpenSeeker(path, eng, cacheOpts())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if s.Cache().Reused {
			t.Fatal("a cache built with the shadow engine was used with the reference CPU")
		}
	})
	t.Run("state damaged", func(t *testing.T) {
		// Rebuild for the shadow engine, then spoil the last state: the
		// index is sound, so the cache is used until the seek that
		// reads that state, which starts from an earlier checkpoint and
		// removes the cache.
		os.Remove(idx)
		open(t, false)
		b, _ := os.ReadFile(idx)
		b[len(b)-10] ^= 1
		os.WriteFile(idx, b, 0o644)
		s := open(t, true)
		if err := s.Seek(n); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(idx); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the damaged cache is still there (%v)", err)
		}
		open(t, false)
	})
	t.Run("crafted index", func(t *testing.T) {
		// Index bytes changed with the CRC made to match: whatever
		// they say, opening neither panics nor allocates wildly.
		// The key (trace size, time, engine) comes first: a change
		// there is a plain mismatch. Change what follows.
		s0 := open(t, true)
		st, _ := os.Stat(path)
		keyLen := len(s0.appendKey(nil, st, s0.cps[0].block))
		for i := range 12 {
			b := bytes.Clone(sound)
			at := seekCacheHead + keyLen + rng.IntN(indexLen-keyLen)
			b[at] = byte(rng.Uint32())
			if i%3 == 0 {
				b[at] = 0xff
			}
			copy(b[16:], le32(crcOf(b[seekCacheHead:seekCacheHead+indexLen])))
			os.WriteFile(idx, b, 0o644)
			eng, _ := engine.NewShadow(synth.Config())
			s, err := OpenSeeker(path, eng, cacheOpts())
			if err != nil {
				t.Fatalf("mutation at %d: %v", at, err)
			}
			for _, k := range targets[:4] {
				s.Seek(k) // an error, or a wrong state: not a panic
			}
			s.Close()
		}
	})
}

// TestSeekNoCacheDir: when no cache can be written, the checkpoints stay
// in memory and the seeker works the same.
func TestSeekNoCacheDir(t *testing.T) {
	evs := seekTestEvents(5000, nil)
	path := filepath.Join(t.TempDir(), "t.pgmt")
	writeTrace(t, path, evs)
	eng, _ := engine.NewReference(synth.Config())
	opt := smallSeek()
	opt.CachePath = filepath.Join(path, "not-a-dir", "t.idx") // under a file: cannot be created
	s, err := OpenSeeker(path, eng, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if c := s.Cache(); c.Path != "" || c.Err == nil {
		t.Fatalf("Cache() = %+v; want no path and an error", c)
	}
	want, _ := straightStates(t, seekEngines[1].new, evs, []uint64{4321})
	if err := s.Seek(4321); err != nil || !bytes.Equal(saved(t, eng), want[4321]) {
		t.Fatalf("Seek(4321): %v, or the state differs", err)
	}
}

// TestSeekPastEnd: a seek beyond the last event fails and changes nothing.
func TestSeekPastEnd(t *testing.T) {
	const n = 5000
	evs, path := seekTestTrace(t, n, "t.pgmt")
	eng, _ := engine.NewShadow(synth.Config())
	s, err := OpenSeeker(path, eng, &SeekOptions{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Seek(1234); err != nil {
		t.Fatal(err)
	}
	before := saved(t, eng)
	for _, k := range []uint64{n + 1, n + 1000, 1 << 62} {
		err := s.Seek(k)
		if !errors.Is(err, ErrSeekRange) {
			t.Fatalf("Seek(%d) = %v; want ErrSeekRange", k, err)
		}
		if !bytes.Equal(saved(t, eng), before) || eng.Events() != 1234 {
			t.Fatalf("Seek(%d) failed but changed the engine", k)
		}
	}
	if ev, err := s.Next(); err != nil || ev != evs[1234] {
		t.Fatalf("Next after the failed seeks: %v, %v; want event 1234", ev, err)
	}
	if err := s.Seek(n); err != nil {
		t.Fatalf("Seek(Len) = %v; want the end", err)
	}
}

// TestSeekTruncated: a trace cut short replays, with checkpoints, up to
// the damage; a seek beyond says where the damage is.
func TestSeekTruncated(t *testing.T) {
	t.Parallel()
	const n = 40_000
	evs := seekTestEvents(n, nil)
	dir := t.TempDir()
	full := filepath.Join(dir, "full.pgmt")
	writeTrace(t, full, evs)
	data, _ := os.ReadFile(full)
	path := filepath.Join(dir, "cut.pgmt")
	cut := len(data) * 3 / 5
	os.WriteFile(path, data[:cut], 0o644)
	// What a reader gets from the cut file.
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var good uint64
	for {
		if _, err = f.Next(); err != nil {
			break
		}
		good++
	}
	f.Close()
	if !errors.Is(err, ErrTruncated) || good == 0 || good >= n {
		t.Fatalf("the cut file reads %d events then %v", good, err)
	}
	for _, reuse := range []bool{false, true} {
		eng, _ := engine.NewShadow(synth.Config())
		s, err := OpenSeeker(path, eng, smallSeek())
		if err != nil {
			t.Fatal(err)
		}
		if s.Cache().Reused != reuse {
			t.Fatalf("Cache() = %+v, want reused %v", s.Cache(), reuse)
		}
		if s.Len() != good || !errors.Is(s.Damage(), ErrTruncated) {
			t.Fatalf("Len %d, Damage %v; want %d and a truncated trace", s.Len(), s.Damage(), good)
		}
		cps := s.Checkpoints()
		if len(cps) > 16 || cps[len(cps)-1] > good {
			t.Fatalf("checkpoints %v beyond the damage at %d, or too many", cps, good)
		}
		want, _ := straightStates(t, seekEngines[0].new, evs[:good], []uint64{good, good / 2})
		for _, k := range []uint64{good, good / 2} {
			if err := s.Seek(k); err != nil || !bytes.Equal(saved(t, eng), want[k]) {
				t.Fatalf("Seek(%d): %v, or the state differs", k, err)
			}
		}
		err = s.Seek(good + 1)
		if !errors.Is(err, ErrSeekRange) || !errors.Is(err, ErrTruncated) ||
			!bytes.Contains([]byte(err.Error()), fmt.Appendf(nil, "ends at byte %d", cut)) {
			t.Fatalf("Seek past the damage: %v; want ErrSeekRange, ErrTruncated and where", err)
		}
		s.Close()
	}
}

// TestSeekRefusedEvent: an event the engine refuses ends the trace for
// seeking, as the damage of a truncated one does.
func TestSeekRefusedEvent(t *testing.T) {
	evs := seekTestEvents(3000, map[int]engine.Event{2500: {Kind: engine.EvRestore, Text: "never-saved"}})
	path := filepath.Join(t.TempDir(), "t.pgmt")
	writeTrace(t, path, evs)
	eng, _ := engine.NewReference(synth.Config())
	s, err := OpenSeeker(path, eng, smallSeek())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Len() != 2500 || !errors.Is(s.Damage(), engine.ErrNoSnapshot) {
		t.Fatalf("Len %d, Damage %v; want 2500, no snapshot", s.Len(), s.Damage())
	}
	if err := s.Seek(2500); err != nil {
		t.Fatal(err)
	}
	if ev, err := s.Next(); err != nil || ev != evs[2500] {
		t.Fatalf("Next at the refused event: %v, %v", ev, err)
	}
	if err := s.Seek(2501); !errors.Is(err, ErrSeekRange) {
		t.Fatalf("Seek past the refused event: %v", err)
	}
}

// TestSeekText: a text trace seeks by replaying from the start.
func TestSeekText(t *testing.T) {
	const n = 4000
	evs, path := seekTestTrace(t, n, "t.txt")
	eng, _ := engine.NewShadow(synth.Config())
	s, err := OpenSeeker(path, eng, smallSeek())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Form() != FormText || s.Len() != n || !slices.Equal(s.Checkpoints(), []uint64{0}) || s.Cache().Path != "" {
		t.Fatalf("form %v, Len %d, checkpoints %v, cache %+v", s.Form(), s.Len(), s.Checkpoints(), s.Cache())
	}
	if _, err := os.Stat(path + ".idx"); err == nil {
		t.Fatal("a cache was written for a text trace")
	}
	targets := []uint64{3000, 10, n, 2999, 0}
	want, _ := straightStates(t, seekEngines[0].new, evs, targets)
	for _, k := range targets {
		if err := s.Seek(k); err != nil || !bytes.Equal(saved(t, eng), want[k]) {
			t.Fatalf("Seek(%d): %v, or the state differs", k, err)
		}
	}
}

// TestSeekBudget: with little room, checkpoints are thinned out to fit.
func TestSeekBudget(t *testing.T) {
	t.Parallel()
	const n = 30_000
	evs, path := seekTestTrace(t, n, "t.pgmt")
	eng, _ := engine.NewShadow(synth.Config())
	var calls []uint64
	opt := &SeekOptions{MaxCheckpoints: 64, MinInterval: 500, MaxBytes: 200 << 10, NoCache: true,
		Progress: func(done, total uint64) { calls = append(calls, done) }}
	s, err := OpenSeeker(path, eng, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.bytesHeld(nil); got > opt.MaxBytes || len(s.Checkpoints()) < 2 || len(s.Checkpoints()) >= 60 {
		t.Fatalf("%d checkpoints holding %d bytes; want fewer than 60 within %d", len(s.Checkpoints()), got, opt.MaxBytes)
	}
	for _, c := range s.Checkpoints() {
		if c%s.Interval() != 0 {
			t.Fatalf("checkpoint %d is not a multiple of the interval %d", c, s.Interval())
		}
	}
	if len(calls) == 0 || calls[len(calls)-1] != n || !slices.IsSorted(calls) {
		t.Fatalf("progress calls %v; want increasing, ending at %d", calls, n)
	}
	want, _ := straightStates(t, seekEngines[0].new, evs, []uint64{n - 1})
	if err := s.Seek(n - 1); err != nil || !bytes.Equal(saved(t, eng), want[n-1]) {
		t.Fatalf("Seek: %v, or the state differs", err)
	}
}

func TestSeekUsedEngine(t *testing.T) {
	evs := seekTestEvents(100, nil)
	path := filepath.Join(t.TempDir(), "t.pgmt")
	writeTrace(t, path, evs)
	eng, _ := engine.NewShadow(synth.Config())
	eng.Apply(evs[0])
	if _, err := OpenSeeker(path, eng, nil); err == nil {
		t.Fatal("OpenSeeker took an engine that had applied an event")
	}
}

// TestResumeAt: a reader resumed at a block Block reported reads the
// same events from there; a wrong event index is caught.
func TestResumeAt(t *testing.T) {
	evs := seekTestEvents(100_000, nil)
	data := encodeBinary(t, synthHeader(), evs)
	r, err := NewBinaryReader(bytes.NewReader(data), "t")
	if err != nil {
		t.Fatal(err)
	}
	if off, first := r.Block(); off != -1 || first != -1 {
		t.Fatalf("Block before the first event: %d, %d", off, first)
	}
	type block struct{ off, first int64 }
	var blocks []block
	for i := range evs {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
		off, first := r.Block()
		if len(blocks) == 0 || blocks[len(blocks)-1].off != off {
			if first != int64(i) || data[off] != 0xc6 && data[off] != 0xc5 && data[off] != 0xc4 {
				t.Fatalf("event %d: block at %d (msgpack code %#x) starting at event %d", i, off, data[off], first)
			}
			blocks = append(blocks, block{off, first})
		}
	}
	if len(blocks) < 3 {
		t.Fatalf("%d blocks; the test wants several", len(blocks))
	}
	for _, b := range blocks {
		rr := r.ResumeAt(bytes.NewReader(data[b.off:]), b.off, b.first)
		for i := b.first; i < int64(len(evs)); i++ {
			ev, err := rr.Next()
			if err != nil || ev != evs[i] {
				t.Fatalf("resumed at %d: event %d: %v, %v; want %v", b.off, i, ev, err, evs[i])
			}
		}
		if _, err := rr.Next(); err != io.EOF {
			t.Fatalf("resumed at %d: at the end: %v", b.off, err)
		}
	}
	b := blocks[1]
	_, err = r.ResumeAt(bytes.NewReader(data[b.off:]), b.off, b.first+1).Next()
	var fe *FormatError
	if !errors.Is(err, ErrCorrupt) || !errors.As(err, &fe) || fe.Offset != b.off+2 && fe.Offset < b.off {
		t.Fatalf("resumed with a wrong event index: %v; want ErrCorrupt at the block", err)
	}
}

func TestTrailerCount(t *testing.T) {
	for _, n := range []uint64{0, 5, 127, 128, 255, 256, 65535, 65536, 1 << 32, 1<<64 - 1} {
		var buf bytes.Buffer
		w := NewBinaryWriter(&buf)
		if err := w.WriteHeader(synthHeader()); err != nil {
			t.Fatal(err)
		}
		w.Close()
		// Replace the trailer's count by n.
		b := buf.Bytes()
		i := bytes.LastIndex(b, []byte("\x81\xa6events"))
		b = appendMsgpackUint(b[:i+8], n)
		path := filepath.Join(t.TempDir(), "t")
		os.WriteFile(path, b, 0o644)
		f, _ := os.Open(path)
		got, ok := trailerCount(f, int64(len(b)))
		f.Close()
		if !ok || got != n {
			t.Errorf("trailer count %d: got %d, %v", n, got, ok)
		}
		f, _ = os.Open(path)
		if _, ok := trailerCount(f, int64(len(b)-1)); ok {
			t.Errorf("trailer count %d cut by one byte: read a count", n)
		}
		f.Close()
	}
}

func le32(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }

func crcOf(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

func appendMsgpackUint(b []byte, v uint64) []byte {
	switch {
	case v < 128:
		return append(b, byte(v))
	case v < 1<<8:
		return append(b, 0xcc, byte(v))
	case v < 1<<16:
		return append(b, 0xcd, byte(v>>8), byte(v))
	case v < 1<<32:
		return append(b, 0xce, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	b = append(b, 0xcf)
	for s := 56; s >= 0; s -= 8 {
		b = append(b, byte(v>>s))
	}
	return b
}

// TestSeekObserve: the replay that builds the checkpoints shows Observe
// every event's outcome, in order, as a replay from the start gives them
// (with the checkpoints it saves in between changing nothing); opened
// again from the cache, the Seeker replays nothing and says so.
func TestSeekObserve(t *testing.T) {
	t.Parallel()
	const n = 6000
	evs, path := seekTestTrace(t, n, "t.pgmt")
	_, want := straightStates(t, seekEngines[0].new, evs, nil)
	for i, replayed := range []bool{true, false} {
		eng, _ := seekEngines[0].new(synth.Config())
		var got []engine.Outcome
		opt := smallSeek()
		opt.Observe = func(o *engine.Outcome) { got = append(got, *o) }
		s, err := OpenSeeker(path, eng, opt)
		if err != nil {
			t.Fatal(err)
		}
		if s.Replayed() != replayed {
			t.Errorf("open %d: Replayed %v, want %v", i+1, s.Replayed(), replayed)
		}
		if !replayed {
			if len(got) != 0 {
				t.Errorf("open %d, from the cache: Observe saw %d events", i+1, len(got))
			}
		} else if len(got) != len(want) {
			t.Errorf("open %d: Observe saw %d events, want %d", i+1, len(got), len(want))
		} else {
			for k := range want {
				if got[k] != want[k] {
					t.Fatalf("open %d: event %d: Observe saw %+v, want %+v", i+1, k, got[k], want[k])
				}
			}
		}
		s.Close()
	}
}
