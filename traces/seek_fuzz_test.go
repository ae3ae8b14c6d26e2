package traces

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
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
//
// Each input must be cheap, or the fuzzer reaches nothing: a short trace
// (a rebuild replays it), a few seeks, no fsync of rebuilt caches, and
// the index's CRC made to match, so that mutations get past it into the
// index and the states instead of being rejected at the door (the CRC
// itself is tested bit by bit in TestSeekCache).
func FuzzSeekCache(f *testing.F) {
	const n = 400
	evs := seekTestEvents(n, nil)
	dir := f.TempDir()
	path := filepath.Join(dir, "t.pgmt")
	writeTrace(f, path, evs)
	targets := []uint64{0, 177, 399, n}
	want, _ := straightStates(f, seekEngines[0].new, evs, targets)
	opts := func(cache string) *SeekOptions {
		return &SeekOptions{MaxCheckpoints: 4, MinInterval: 100, CachePath: cache}
	}
	syncCaches = false
	defer func() { syncCaches = true }()

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

	// A seeker on the sound cache parses each input first: a cache it
	// refuses is rebuilt by OpenSeeker, which TestSeekCache covers, so
	// only the caches that pass every check (the interesting, rare ones)
	// pay for a seeker of their own and the seeks.
	eng0, _ := engine.NewShadow(synth.Config())
	s0, err := OpenSeeker(path, eng0, opts(seedPath))
	if err != nil {
		f.Fatal(err)
	}
	defer s0.Close()
	st, err := os.Stat(path)
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) >= seekCacheHead {
			if n := int(binary.LittleEndian.Uint32(data[12:])); n <= len(data)-seekCacheHead {
				data = bytes.Clone(data)
				binary.LittleEndian.PutUint32(data[16:], crc32.Checksum(data[seekCacheHead:seekCacheHead+n], castagnoli))
			}
		}
		cache := filepath.Join(t.TempDir(), "t.idx")
		if err := os.WriteFile(cache, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, ok := s0.parseCacheFile(cache, st, s0.cps[0]); !ok {
			return
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
