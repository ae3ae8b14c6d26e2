package traces

import (
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces/internal/synth"
)

// The seeking benchmarks run on the 10M-event synthetic trace: the one
// `make traces` writes (large/mixed-10m.pgmt), or, when it is missing,
// the same trace generated once into a temporary directory.

const largeEvents = 10_000_000

var large struct {
	once sync.Once
	path string
	dir  string // the temporary directory, removed by TestMain
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if large.dir != "" {
		os.RemoveAll(large.dir)
	}
	os.Exit(code)
}

// largeTrace is the path of the 10M-event trace.
func largeTrace(b *testing.B) string {
	b.Helper()
	if testing.Short() {
		b.Skip("needs the 10M-event trace (seconds to generate and to replay): run without -short")
	}
	large.once.Do(func() {
		if _, err := os.Stat("large/mixed-10m.pgmt"); err == nil {
			large.path = "large/mixed-10m.pgmt"
			return
		}
		large.dir, large.err = os.MkdirTemp("", "pgm-explorer-bench")
		if large.err != nil {
			return
		}
		path := filepath.Join(large.dir, "mixed-10m.pgmt")
		w, err := CreateCount(path, Header{Config: synth.Config()}, largeEvents)
		if err != nil {
			large.err = err
			return
		}
		g := synth.New(1) // the seed of `make traces`
		for range largeEvents {
			if err := w.WriteEvent(g.Next()); err != nil {
				large.err = err
				return
			}
		}
		large.err = w.Close()
		large.path = path
	})
	if large.err != nil {
		b.Fatal(large.err)
	}
	return large.path
}

// BenchmarkSeekBuild opens the 10M-event trace for seeking with the
// shadow engine, building its checkpoints: writing them to a cache file
// (cache), keeping them in memory (memory), or reading them back from the
// cache a first open wrote (reuse). It reports the checkpoints, the cache
// file's size and the Go heap the Seeker keeps once open.
func BenchmarkSeekBuild(b *testing.B) {
	path := largeTrace(b)
	hdr := largeHeader(b, path)
	for _, mode := range []string{"cache", "memory", "reuse"} {
		b.Run(mode, func(b *testing.B) {
			cache := filepath.Join(b.TempDir(), "t.idx")
			opt := &SeekOptions{CachePath: cache, NoCache: mode == "memory"}
			if mode == "reuse" {
				s := openLarge(b, path, hdr, opt)
				s.Close()
			}
			var s *Seeker
			for b.Loop() {
				if mode == "cache" {
					os.Remove(cache)
				}
				if s != nil {
					s.Close()
				}
				s = openLarge(b, path, hdr, opt)
			}
			b.StopTimer()
			defer s.Close()
			if c := s.Cache(); (c.Path != "") == (mode == "memory") || c.Reused != (mode == "reuse") {
				b.Fatalf("cache %+v", c)
			}
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(len(s.Checkpoints())), "checkpoints")
			b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MB")
			if st, err := os.Stat(cache); err == nil {
				b.ReportMetric(float64(st.Size())/(1<<20), "cache-MB")
			}
			b.ReportMetric(float64(largeEvents)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkSeek seeks to random events of the 10M-event trace, the
// checkpoints read from their cache file. ns/op is the time of one seek;
// max-ms the longest seek of the run.
func BenchmarkSeek(b *testing.B) {
	path := largeTrace(b)
	hdr := largeHeader(b, path)
	for _, e := range seekEngines {
		b.Run(e.name, func(b *testing.B) {
			eng, err := e.new(hdr.Config)
			if err != nil {
				b.Fatal(err)
			}
			opt := &SeekOptions{CachePath: filepath.Join(b.TempDir(), "t.idx")}
			s, err := OpenSeeker(path, eng, opt)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			rng := rand.New(rand.NewPCG(1, 1))
			var worst time.Duration
			for b.Loop() {
				t := time.Now()
				if err := s.Seek(rng.Uint64N(s.Len() + 1)); err != nil {
					b.Fatal(err)
				}
				worst = max(worst, time.Since(t))
			}
			b.ReportMetric(float64(worst)/1e6, "max-ms")
		})
	}
}

// BenchmarkReplayLarge replays the 10M-event trace from its file through
// the shadow engine: the whole pipeline of `explorer replay` without
// printing (read, decode, check, apply).
func BenchmarkReplayLarge(b *testing.B) {
	path := largeTrace(b)
	var n int
	for b.Loop() {
		f, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		eng, err := engine.NewShadow(f.Header().Config)
		if err != nil {
			b.Fatal(err)
		}
		for n = 0; ; n++ {
			ev, err := f.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if _, err := eng.Apply(ev); err != nil {
				b.Fatal(err)
			}
		}
		f.Close()
	}
	if n != largeEvents {
		b.Fatalf("%d events, want %d", n, largeEvents)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func largeHeader(b *testing.B, path string) Header {
	f, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	return f.Header()
}

func openLarge(b *testing.B, path string, hdr Header, opt *SeekOptions) *Seeker {
	eng, err := engine.NewShadow(hdr.Config)
	if err != nil {
		b.Fatal(err)
	}
	s, err := OpenSeeker(path, eng, opt)
	if err != nil {
		b.Fatal(err)
	}
	if s.Len() != largeEvents || s.Damage() != nil {
		b.Fatalf("%d events, damage %v", s.Len(), s.Damage())
	}
	return s
}
