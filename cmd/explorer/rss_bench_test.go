//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
)

// BenchmarkReplayRSS runs `explorer replay` (the shadow engine, no
// output) as a child process on the large synthetic traces and reports
// its peak resident set size, from getrusage, and its events per second,
// process start included. Streaming means the two traces peak at about
// the same RSS although one is ten times longer.
//
// The 10M-event trace is the one `make traces` writes, or generated into
// a temporary directory when it is missing; the 100M-event one (260 MB)
// only runs when traces/large/mixed-100m.pgmt exists (`make bench-large`
// writes it). Run with -benchtime=1x: one replay is the measurement.
func BenchmarkReplayRSS(b *testing.B) {
	if testing.Short() {
		b.Skip("replays traces of 10M and 100M events: run without -short")
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "explorer")
	build := exec.Command(goTool(), "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	for _, tr := range []struct {
		name   string
		events int
		file   string
	}{
		{"10M", 10_000_000, "mixed-10m.pgmt"},
		{"100M", 100_000_000, "mixed-100m.pgmt"},
	} {
		b.Run(tr.name, func(b *testing.B) {
			path := filepath.Join("..", "..", "traces", "large", tr.file)
			if _, err := os.Stat(path); err != nil {
				if tr.events > 10_000_000 {
					b.Skipf("%s missing: `make bench-large` writes it", path)
				}
				gen := exec.Command(goTool(), "run", "../../traces/internal/mktraces", "-o", dir, "-events", tr.name, "-text", "")
				if out, err := gen.CombinedOutput(); err != nil {
					b.Fatalf("generating %s: %v\n%s", tr.file, err, out)
				}
				path = filepath.Join(dir, tr.file)
			}
			var peak int64
			for b.Loop() {
				cmd := exec.Command(bin, "replay", path)
				cmd.Stderr = os.Stderr
				if err := cmd.Run(); err != nil {
					b.Fatalf("explorer replay %s: %v", path, err)
				}
				ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
				if !ok {
					b.Skip("no rusage on this system")
				}
				rss := int64(ru.Maxrss)
				if runtime.GOOS != "darwin" {
					rss *= 1024 // kilobytes everywhere else
				}
				peak = max(peak, rss)
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MB")
			b.ReportMetric(float64(tr.events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.Logf("%s: %s events, peak RSS %d KiB", path, strconv.Itoa(tr.events), peak>>10)
		})
	}
}

// goTool is the go command of the toolchain running the benchmark.
func goTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
