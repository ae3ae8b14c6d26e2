package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/pgm-explorer/pgm-explorer/analysis"
)

func init() {
	register(&command{
		name:    "compare",
		summary: "replay a trace through two engine configurations at once: work, pool, traps and estimated cost side by side",
		usage:   "FILE",
		flags:   compareFlags,
	})
}

type compareOptions struct {
	a, b    string
	costs   string
	window  uint64
	keep    int
	format  string
	showCfg bool
	noMem   bool
}

func compareFlags(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
	var o compareOptions
	fs.StringVar(&o.a, "a", "", "configuration a over the trace header: key=value,... with paging=shadow|nested|ept, host=MODE, pool=PAGES, dirty-pt=on|off")
	fs.StringVar(&o.b, "b", "", "configuration b, as --a")
	fs.StringVar(&o.costs, "costs", "", "cost model `FILE`: lines of name = cycles for exit, emulate, walk-ref, nested-ref, tlb-hit (see --show-costs, README)")
	fs.Uint64Var(&o.window, "window", 10_000, "events per stretch when looking for where the two differ most")
	fs.IntVar(&o.keep, "stretches", 5, "stretches to show")
	fs.StringVar(&o.format, "format", "table", "output: table, csv or json")
	fs.BoolVar(&o.noMem, "no-memory", false, "skip comparing the two guest memories at the end (a guest of many GiB takes seconds)")
	fs.BoolVar(&o.showCfg, "show-costs", false, "print the cost model in the cost-file form and exit")
	return func(args []string, stdout, stderr io.Writer) error {
		args, err := permute(fs, args)
		if err != nil {
			return err
		}
		if o.showCfg {
			return writeCosts(stdout, analysis.DefaultCosts)
		}
		if len(args) != 1 {
			return usageErrorf("want exactly one trace FILE, got %d arguments", len(args))
		}
		return compare(args[0], o, stdout, stderr)
	}
}

func writeCosts(w io.Writer, m analysis.CostModel) error {
	fmt.Fprintln(w, "# explorer compare cost model: cycles per item (see README, \"Comparing configurations\")")
	for i := analysis.CostItem(0); i < analysis.CostItem(len(m)); i++ {
		fmt.Fprintf(w, "%s = %g\n", i, m[i])
	}
	return nil
}

func compare(path string, o compareOptions, stdout, stderr io.Writer) error {
	if err := analysis.CheckFormat(o.format); err != nil {
		return usageErrorf("--format: %v", err)
	}
	if o.window == 0 {
		return usageErrorf("--window 0: want at least one event")
	}
	model := analysis.DefaultCosts
	if o.costs != "" {
		f, err := os.Open(o.costs)
		if err != nil {
			return &exitError{2, err}
		}
		model, err = analysis.ParseCosts(f, o.costs)
		f.Close()
		if err != nil {
			return &exitError{2, err}
		}
	}
	tf, err := openTrace(path, "compare", nil, stderr)
	if err != nil {
		return err
	}
	defer tf.Close()
	cmp, err := analysis.NewComparer(tf.Header().Config, o.a, o.b, model, o.window, o.keep)
	if err != nil {
		return &exitError{2, err}
	}
	cmp.SkipMemory = o.noMem
	var runErr error
	for {
		ev, err := tf.next()
		if isEOF(err) {
			break
		}
		if errors.Is(err, errInterrupted) {
			runErr = interrupted(tf.count, "the comparison covers those")
			break
		}
		if err != nil {
			return err
		}
		if err := cmp.Apply(ev); err != nil {
			if !errors.Is(err, analysis.ErrDiverged) {
				return fmt.Errorf("%s: %w", tf.src.Position(), err)
			}
			runErr = fmt.Errorf("%s: %w", tf.src.Position(), err)
			break
		}
	}
	cmp.Finish()
	tf.prog.Done()
	w := bufio.NewWriter(stdout)
	if o.format == "table" {
		fmt.Fprintf(w, "%s: ", path)
	}
	if err := cmp.Write(w, o.format); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if runErr != nil {
		return runErr
	}
	if cmp.Mismatched > 0 {
		m := cmp.Mismatches[0]
		if m.Memory {
			return fmt.Errorf("engine bug: the two configurations leave different guest memory (%s)", m.Why)
		}
		return fmt.Errorf("engine bug: the guest-visible outcomes of the two configurations differ on %d events, first at event %d (%s)",
			cmp.Mismatched, m.Index, m.Why)
	}
	return nil
}
