package qemu

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
)

// BenchmarkImportLinux: import the linux-guest's 4-level core (256 MiB of
// guest RAM): open, walk the tables, build the events. Peak memory is
// measured on the command (BENCHMARKS.md, "Real guests").
func BenchmarkImportLinux(b *testing.B) {
	core := filepath.Join(linuxCacheB(b, "4level"), "core.elf")
	for b.Loop() {
		f, err := os.Open(core)
		if err != nil {
			b.Fatal(err)
		}
		st, _ := f.Stat()
		c, err := OpenCore(f, st.Size())
		if err != nil {
			b.Fatal(err)
		}
		s, err := Import(c, ImportOptions{})
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
		b.ReportMetric(float64(len(s.Events)), "events")
	}
}

// BenchmarkReplayImported: events per second replaying the imported
// trace (every leaf read, --all-leaves: 84,000 events) on the reference
// CPU and the shadow engine.
func BenchmarkReplayImported(b *testing.B) {
	core := filepath.Join(linuxCacheB(b, "4level"), "core.elf")
	f, err := os.Open(core)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	c, err := OpenCore(f, st.Size())
	if err != nil {
		b.Fatal(err)
	}
	s, err := Import(c, ImportOptions{Options: Options{AllLeaves: true}})
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range []string{"reference", "shadow", "nested"} {
		b.Run(k, func(b *testing.B) {
			for b.Loop() {
				cfg := s.Header.Config
				var eng engine.Engine
				switch k {
				case "reference":
					eng, err = engine.NewReference(cfg)
				case "nested":
					cfg.Paging = engine.PagingNested
					eng, err = engine.NewShadow(cfg)
				default:
					eng, err = engine.NewShadow(cfg)
				}
				if err != nil {
					b.Fatal(err)
				}
				for _, e := range s.Events {
					if _, err := eng.Apply(e); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(len(s.Events))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

func linuxCacheB(b *testing.B, name string) string {
	root := os.Getenv("PGM_LINUX_CACHE")
	if root == "" {
		root = filepath.Join("..", "..", ".cache", "linux")
	}
	dir := filepath.Join(root, name)
	if _, err := os.Stat(filepath.Join(dir, "done")); err != nil {
		b.Skipf("no linux guest in %s: run `make linux-guest`", dir)
	}
	return dir
}
