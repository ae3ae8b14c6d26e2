package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces/x86live"
)

func init() {
	register(&command{
		name:    "live",
		summary: "run a real x86 guest program in Unicorn both ways (Unicorn's MMU, the engine as MMU) and compare what it saw",
		flags:   liveFlags,
	})
}

type liveOptions struct {
	program string
	library string
	paging  string
	check   bool
	every   int // --check-every
	limits  runLimits
}

// runLimits stop a guest that never halts.
type runLimits struct {
	insns uint64
	time  time.Duration
}

func (l *runLimits) flags(fs *flag.FlagSet) {
	fs.Uint64Var(&l.insns, "max-instructions", x86live.DefaultMaxInstructions, "stop a guest that has not halted after `N` instructions")
	fs.DurationVar(&l.time, "max-time", x86live.DefaultMaxDuration, "stop a guest that has not halted after this wall-clock time (per run)")
}

// options are x86live's options with the limits; a zero flag means no
// limit.
func (l runLimits) options(o x86live.Options) x86live.Options {
	o.MaxInstructions, o.MaxDuration = l.insns, l.time
	if l.insns == 0 {
		o.MaxInstructions = math.MaxUint64
	}
	if l.time <= 0 {
		o.MaxDuration = math.MaxInt64
	}
	return o
}

// runError adds to a runaway guest's error how to raise the limits.
func runError(err error) error {
	if errors.Is(err, x86live.ErrRunaway) {
		return fmt.Errorf("%w (--max-instructions and --max-time raise the limits; 0 removes one)", err)
	}
	return err
}

func liveFlags(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
	var o liveOptions
	fs.StringVar(&o.program, "x86", "", "the guest `PROGRAM`: one of "+strings.Join(x86live.Names(), ", ")+", or a .asm (assembled with nasm) or flat .bin file loaded at 0x1000")
	fs.StringVar(&o.library, "unicorn", "", "the libunicorn.so.2 `PATH` (default: $"+"PGM_UNICORN, then the copy `make unicorn` puts in .cache/unicorn, then the system's)")
	fs.StringVar(&o.paging, "paging", "shadow", "how the engine maps guest memory: shadow or nested")
	fs.BoolVar(&o.check, "check", false, "run the engine's invariant checker after every event: it checks what the event touched, and everything every --check-every events and at the end")
	fs.IntVar(&o.every, "check-every", engine.DefaultCheckEvery, "with --check, check everything every `N` events (1: after every event)")
	o.limits.flags(fs)
	return func(args []string, stdout, stderr io.Writer) error {
		if len(args) != 0 {
			return usageErrorf("unexpected arguments %q", args)
		}
		return live(o, stdout)
	}
}

func liveSetup(program, library, paging string) (*x86live.Program, engine.Paging, error) {
	if program == "" {
		return nil, 0, usageErrorf("--x86 PROGRAM is required: one of %s, or a .asm or .bin file", strings.Join(x86live.Names(), ", "))
	}
	pg, err := engine.ParsePaging(paging)
	if err != nil || pg == engine.PagingEPT {
		return nil, 0, usageErrorf("--paging %q: want shadow or nested", paging)
	}
	p, err := x86live.Load(program)
	if errors.Is(err, x86live.ErrNoProgram) {
		return nil, 0, &exitError{2, err}
	}
	if err != nil {
		return nil, 0, err // a file that does not assemble is no usage error
	}
	if err := x86live.Available(library); err != nil {
		return nil, 0, err
	}
	return p, pg, nil
}

// live runs the program both ways and reports the first difference.
func live(o liveOptions, stdout io.Writer) error {
	if o.check && o.every < 1 {
		return usageErrorf("--check-every %d: want 1 or more", o.every)
	}
	p, pg, err := liveSetup(o.program, o.library, o.paging)
	if err != nil {
		return err
	}
	path, version := x86live.LibraryInfo()
	fmt.Fprintf(stdout, "%s: Unicorn %s (%s)\n", p.Name, version, path)
	ref, err := x86live.RunProgram(p, x86live.WayUnicorn, o.limits.options(x86live.Options{Library: o.library}))
	if err != nil {
		return runError(err)
	}
	report(stdout, "unicorn MMU", ref)
	eng, err := x86live.RunProgram(p, x86live.WayEngine, o.limits.options(x86live.Options{Library: o.library, Paging: pg, Check: o.check, CheckEvery: o.every}))
	if err != nil {
		return fmt.Errorf("%w (the reference way ran to the end)", runError(err))
	}
	report(stdout, "engine MMU ("+pg.String()+")", eng)
	if d := x86live.Compare(ref, eng); d != nil {
		return fmt.Errorf("the two ways part: %w", d)
	}
	checked := ""
	if o.check {
		checked = fmt.Sprintf(", invariants checked after each event (everything every %d events and at the end)", o.every)
	}
	fmt.Fprintf(stdout, "same: %d observations, final registers, RAM and device registers agree (%d engine events%s)\n", len(ref.Obs), len(eng.Events), checked)
	if ref.Regs.GPR[0] != x86live.DoneMagic {
		fmt.Fprintf(stdout, "note: the guest halted with eax=%#x (the built-in guests end with %#x when their own checks pass)\n", ref.Regs.GPR[0], x86live.DoneMagic)
	}
	return nil
}

func report(w io.Writer, name string, r *x86live.Run) {
	sec := r.Duration.Seconds()
	fmt.Fprintf(w, "  %-22s %7d instructions, %7d accesses, %3d #PF in %v (%.0f instructions/s)\n",
		name+":", r.Instructions, r.Accesses, r.Faults, r.Duration.Round(1e5), float64(r.Instructions)/max(sec, 1e-9))
}

// recordX86 writes a live x86 guest's run as a trace: the engine way's
// events (virtual addresses, as the engine saw them), or with --mmu
// unicorn the reference way's (physical accesses: Unicorn's memory hooks
// report no virtual address).
func recordX86(o recordOptions, stdout, stderr io.Writer) error {
	if err := notAnInput(o.out, []string{o.x86}); err != nil {
		return err
	}
	p, pg, err := liveSetup(o.x86, o.unicorn, o.paging)
	if err != nil {
		return err
	}
	way := x86live.WayEngine
	switch o.mmu {
	case "engine":
	case "unicorn":
		way = x86live.WayUnicorn
	default:
		return usageErrorf("--mmu %q: want engine or unicorn", o.mmu)
	}
	r, err := x86live.RunProgram(p, way, o.limits.options(x86live.Options{Library: o.unicorn, Paging: pg, Check: o.check, CheckEvery: o.every}))
	if err != nil {
		return runError(err)
	}
	if len(r.Events) == 0 {
		return errors.New("the guest produced no events")
	}
	tw, err := createTrace(o.out, stdout, r.Header(pg), 0, false, o.x86)
	if err != nil {
		return err
	}
	defer tw.Abort()
	for i, ev := range r.Events {
		if o.events > 0 && i >= o.events {
			break
		}
		if err := tw.WriteEvent(ev); err != nil {
			return err
		}
	}
	if err := tw.Commit(); err != nil {
		return err
	}
	if o.out == "-" {
		stdout = stderr // the trace went there
	}
	n := len(r.Events)
	if o.events > 0 {
		n = min(n, o.events)
	}
	fmt.Fprintf(stdout, "%s: %d events of x86 guest %s (%s MMU, %d instructions)\n", o.out, n, p.Name, way, r.Instructions)
	return nil
}
