package traces

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces/internal/synth"
)

// FuzzSeekCache feeds arbitrary bytes as the sidecar checkpoint file of a
// trace. The file is untrusted input (another program, a full disk or a
// crash may have left anything there), so whatever it holds, opening must
// not panic or allocate without bound, and every seek must land on the
// state a straight replay reaches: a cache that does not check out is
// rebuilt, never believed.
func FuzzSeekCache(f *testing.F) {
	const n = 3000
	evs := seekTestEvents(n, nil)
	dir := f.TempDir()
	path := filepath.Join(dir, "t.pgmt")
	writeTrace(f, path, evs)
	targets := []uint64{0, 1, 777, 1500, 2999, n}
	want, _ := straightStates(f, seekEngines[0].new, evs, targets)
	opts := func(cache string) *SeekOptions {
		return &SeekOptions{MaxCheckpoints: 4, MinInterval: 500, CachePath: cache}
	}

	// The sound cache is the most useful seed: mutations of it get past
	// the magic and the version into the index and the states.
	seedPath := filepath.Join(dir, "seed.idx")
	eng, _ := engine.NewShadow(synth.Config())
	s, err := OpenSeeker(path, eng, opts(seedPath))
	if err != nil {
		f.Fatal(err)
	}
	s.Close()
	sound, err := os.ReadFile(seedPath)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sound)
	f.Add(sound[:len(sound)/2])
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, data []byte) {
		cache := filepath.Join(t.TempDir(), "t.idx")
		if err := os.WriteFile(cache, data, 0o644); err != nil {
			t.Fatal(err)
		}
		eng, _ := engine.NewShadow(synth.Config())
		s, err := OpenSeeker(path, eng, opts(cache))
		if err != nil {
			t.Fatalf("OpenSeeker with a damaged cache: %v (want a rebuild)", err)
		}
		defer s.Close()
		for _, k := range targets {
			if err := s.Seek(k); err != nil {
				t.Fatalf("Seek(%d): %v", k, err)
			}
			if !bytes.Equal(saved(t, eng), want[k]) {
				t.Fatalf("Seek(%d): the state differs from a straight replay's (cache reused: %v)", k, s.Cache().Reused)
			}
		}
	})
}
