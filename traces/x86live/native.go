//go:build !js && !wasip1

package x86live

import (
	"fmt"
	"time"

	"github.com/pgm-explorer/pgm-explorer/traces/x86live/unicorn"
)

// RunProgram runs p one way to its hlt.
func RunProgram(p *Program, way Way, opt Options) (*Run, error) {
	m, err := newMachine(p, way, opt)
	if err != nil {
		return nil, err
	}
	defer m.close()
	if err := m.execute(); err != nil {
		return m.run, fmt.Errorf("%s (%s way): %w", p.Name, way, err)
	}
	if m.err == nil {
		if err := m.finalCheck(); err != nil {
			return m.run, fmt.Errorf("%s (%s way): %w", p.Name, way, err)
		}
	}
	return m.run, m.err
}

// hookCost runs a 200000-instruction loop with and without a code hook
// (the benchmark's measure of one call from Unicorn into Go).
func hookCost() (with, without time.Duration, n uint64, err error) {
	// mov ecx, 100000; l: dec ecx; jnz l; hlt
	code := []byte{0xb9, 0xa0, 0x86, 0x01, 0x00, 0x49, 0x75, 0xfd, 0xf4}
	for _, hook := range []bool{false, true} {
		h := &countHooks{}
		uc, err := unicorn.Open(unicorn.Mode32, h)
		if err != nil {
			return 0, 0, 0, err
		}
		if err := uc.MapRAM(0, 1<<20); err != nil {
			uc.Close()
			return 0, 0, 0, err
		}
		uc.Write(LoadAddr, code)
		if hook {
			if err := uc.AddHook(unicorn.HookCode); err != nil {
				uc.Close()
				return 0, 0, 0, err
			}
		}
		t := time.Now()
		err = uc.Start(LoadAddr, 0, 0)
		d := time.Since(t)
		uc.Close()
		if err != nil {
			return 0, 0, 0, err
		}
		if hook {
			with, n = d, h.n
		} else {
			without = d
		}
	}
	return with, without, n, nil
}

type countHooks struct{ n uint64 }

func (h *countHooks) Code(uint64, uint32)                      { h.n++ }
func (*countHooks) Block(uint64, uint32)                       {}
func (*countHooks) Intr(uint32)                                {}
func (*countHooks) Mem(int, uint64, int, int64)                {}
func (*countHooks) Unmapped(int, uint64, int, int64) bool      { return false }
func (*countHooks) TLBFill(uint64, int) (uint64, uint32, bool) { return 0, 0, false }
func (*countHooks) MMIORead(uint64, uint32) uint64             { return 0 }
func (*countHooks) MMIOWrite(uint64, uint32, uint64)           {}
