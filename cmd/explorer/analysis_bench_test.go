//go:build unix

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkAnalysisCommands runs the analysis commands (analyze, compare,
// diff, export) and plain replay as child processes on the large
// synthetic traces, in interleaved rounds so that each sees the same
// machine load, and logs for each the median wall and CPU time, events
// per second and peak RSS, with the ratios to replay of the same run.
// CPU time (user + system, from getrusage) is the steadier figure on a
// shared machine; wall time is what a user waits.
//
// Traces: traces/large/mixed-1m.pgmt and mixed-10m.pgmt (`make traces`),
// and mixed-100m.pgmt when present (`make bench-large`); missing ones
// are skipped. Run with -benchtime=1x; ANALYSIS_ROUNDS sets the rounds
// (default 3). Compare is measured against the sum of its two
// configurations' replays (shadow and nested paging).
func BenchmarkAnalysisCommands(b *testing.B) {
	if testing.Short() {
		b.Skip("replays traces of millions of events: run without -short")
	}
	bin := filepath.Join(b.TempDir(), "explorer")
	if out, err := exec.Command(goTool(), "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	rounds := 3
	if r := os.Getenv("ANALYSIS_ROUNDS"); r != "" {
		fmt.Sscan(r, &rounds)
	}
	for _, tr := range []struct {
		name   string
		events int
	}{{"1m", 1_000_000}, {"10m", 10_000_000}, {"100m", 100_000_000}} {
		path := filepath.Join("..", "..", "traces", "large", "mixed-"+tr.name+".pgmt")
		b.Run(tr.name, func(b *testing.B) {
			if !fileExists(path) {
				b.Skipf("%s missing (make traces, make bench-large)", path)
			}
			cmds := [][]string{
				{"replay", path},
				{"replay", "--paging", "nested", path},
				{"analyze", "--by", "page", path},
				{"analyze", "--by", "guest-table", path},
				{"compare", "--b", "paging=nested", path},
				{"diff", "--from", fmt.Sprint(tr.events / 2), path},
				{"export", "-o", os.DevNull, "--perfetto", path},
			}
			names := []string{"replay", "replay --paging nested", "analyze --by page", "analyze --by guest-table", "compare --b paging=nested",
				"diff --from N/2", "export --perfetto -o /dev/null"}
			type sample struct{ wall, cpu time.Duration }
			runs := make([][]sample, len(cmds))
			peak := make([]int64, len(cmds))
			for b.Loop() {
				for range rounds {
					for i, args := range cmds {
						cmd := exec.Command(bin, args...)
						start := time.Now()
						if out, err := cmd.CombinedOutput(); err != nil {
							b.Fatalf("explorer %s: %v\n%s", strings.Join(args, " "), err, out)
						}
						wall := time.Since(start)
						ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
						if !ok {
							b.Skip("no rusage on this system")
						}
						cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
						runs[i] = append(runs[i], sample{wall, cpu})
						rss := int64(ru.Maxrss)
						if runtime.GOOS != "darwin" {
							rss *= 1024
						}
						peak[i] = max(peak[i], rss)
					}
				}
			}
			median := func(s []sample, cpu bool) time.Duration {
				d := make([]time.Duration, len(s))
				for i, x := range s {
					d[i] = x.wall
					if cpu {
						d[i] = x.cpu
					}
				}
				sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
				return d[len(d)/2]
			}
			baseC := median(runs[0], true)
			b.Logf("%s: %d events, median of %d rounds", path, tr.events, len(runs[0]))
			b.Logf("%-36s %9s %9s %14s %12s %10s", "command", "wall s", "cpu s", "cpu events/s", "cpu vs replay", "peak RSS")
			for i := range cmds {
				w, c := median(runs[i], false), median(runs[i], true)
				b.Logf("%-36s %9.2f %9.2f %14.0f %11.2fx %8.1fMB", names[i],
					w.Seconds(), c.Seconds(), float64(tr.events)/c.Seconds(), float64(c)/float64(baseC), float64(peak[i])/(1<<20))
			}
			b.ReportMetric(float64(median(runs[2], true))/float64(baseC), "analyze/replay-cpu")
			b.ReportMetric(float64(median(runs[4], true))/float64(baseC+median(runs[1], true)), "compare/two-replays-cpu")
			b.ReportMetric(float64(median(runs[5], true))/float64(baseC), "diff/replay-cpu")
		})
	}
}
