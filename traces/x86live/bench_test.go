//go:build !js && !wasip1

package x86live

import (
	"testing"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit"
)

// BenchmarkX86Live runs the multi-process guest each way and reports
// guest instructions and memory accesses per second; the engine way is
// the cost of the engine as the MMU (every fetch and access an engine
// event, no checker).
func BenchmarkX86Live(b *testing.B) {
	testkit.NeedUnicorn(b)
	p, err := Builtin("multiproc")
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		way  Way
		pg   engine.Paging
	}{{"unicorn", WayUnicorn, engine.PagingShadow}, {"engine-shadow", WayEngine, engine.PagingShadow}, {"engine-nested", WayEngine, engine.PagingNested}} {
		b.Run(c.name, func(b *testing.B) {
			var insns, accs uint64
			var d time.Duration
			for b.Loop() {
				r, err := RunProgram(p, c.way, Options{Paging: c.pg})
				if err != nil {
					b.Fatal(err)
				}
				insns += r.Instructions
				accs += r.Accesses
				d += r.Duration
			}
			b.ReportMetric(float64(insns)/d.Seconds(), "insn/s")
			b.ReportMetric(float64(accs)/d.Seconds(), "access/s")
		})
	}
}

// BenchmarkX86LiveHook is the cost of one Unicorn hook call into Go: a
// tight guest loop with the code hook on every instruction, against the
// same loop with no hook.
func BenchmarkX86LiveHook(b *testing.B) {
	testkit.NeedUnicorn(b)
	for b.Loop() {
		withHook, without, n, err := hookCost()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(withHook-without)/float64(n), "ns/hook")
	}
}
