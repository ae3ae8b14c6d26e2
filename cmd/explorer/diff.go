package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/analysis"
	"github.com/pgm-explorer/pgm-explorer/engine"
)

func init() {
	register(&command{
		name:    "diff",
		summary: "what changed between two moments of a trace: page-table entries per address space, shadow entries, pool, registers, statistics",
		usage:   "FILE [--from N|LABEL] [--to M|LABEL]",
		flags:   diffFlags,
	})
}

type diffOptions struct {
	replay    replayOptions
	from, to  string
	format    string
	limit     int
	budget    int
	maxSpaces int
	as        string // --as: only these address spaces
}

func diffFlags(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
	var o diffOptions
	fs.StringVar(&o.from, "from", "0", "the first moment: an event index (the state before that event) or a label's text (the state before that label)")
	fs.StringVar(&o.to, "to", "", "the second moment, after --from; the same forms (default: the end of the trace)")
	fs.StringVar(&o.format, "format", "table", "output: table, csv or json")
	fs.IntVar(&o.limit, "limit", 50, "table: lines shown per section (0: all)")
	fs.IntVar(&o.budget, "budget", 2<<20, "most guest entries walked at each moment, over all address spaces (about 100 bytes each)")
	fs.IntVar(&o.maxSpaces, "max-spaces", 1024, "most address spaces (CR3 values) tracked")
	fs.StringVar(&o.as, "as", "", "only these address spaces (CR3 values, comma-separated); default: every one seen")
	overrideFlags(fs, &o.replay)
	return func(args []string, stdout, stderr io.Writer) error {
		args, err := permute(fs, args)
		if err != nil {
			return err
		}
		if len(args) != 1 {
			return usageErrorf("want exactly one trace FILE, got %d arguments", len(args))
		}
		return diff(args[0], o, stdout, stderr)
	}
}

// moment is a --from or --to: an event index or a label's text.
type moment struct {
	text  string
	index uint64
	label bool
}

func parseMoment(s string) moment {
	if n, err := strconv.ParseUint(s, 0, 64); err == nil {
		return moment{text: s, index: n}
	}
	return moment{text: s, label: true}
}

// reached reports whether the replay, about to apply ev as event n,
// stands at m.
func (m moment) reached(n uint64, ev engine.Event) bool {
	if m.label {
		return ev.Kind == engine.EvLabel && ev.Text == m.text
	}
	return n == m.index
}

// maxControls bounds the control-register writes a diff lists.
const maxControls = 10_000

func diff(path string, o diffOptions, stdout, stderr io.Writer) error {
	if err := analysis.CheckFormat(o.format); err != nil {
		return usageErrorf("--format: %v", err)
	}
	if o.budget < 1 || o.maxSpaces < 1 {
		return usageErrorf("--budget and --max-spaces must be at least 1")
	}
	only, err := parseSpaces(o.as)
	if err != nil {
		return err
	}
	from := parseMoment(o.from)
	to := moment{text: "the end"}
	toEnd := o.to == ""
	if !toEnd {
		to = parseMoment(o.to)
		if !from.label && !to.label && to.index < from.index {
			return usageErrorf("--to %d is before --from %d", to.index, from.index)
		}
	}
	tf, err := openTrace(path, "diff", &o.replay, stderr)
	if err != nil {
		return err
	}
	defer tf.Close()
	sh := tf.shadow()
	spaces := analysis.NewSpaces(o.maxSpaces)
	spaces.Only = only
	spaces.Note(sh)
	var snapA *analysis.Snapshot
	var saved *engine.State // the machine at --from
	var controls []analysis.ControlEvent
	var moreCtl uint64
	atEnd := false
	for n := uint64(0); ; n++ {
		ev, err := tf.next()
		if isEOF(err) {
			atEnd = true
			break
		}
		if errors.Is(err, errInterrupted) {
			return interrupted(tf.count, "no diff")
		}
		if err != nil {
			return err
		}
		if snapA == nil && from.reached(n, ev) {
			snapA = analysis.TakeSnapshot(sh, spaces.InMode(sh.Format().Mode), o.budget)
			saved = sh.State()
		}
		if snapA != nil && !toEnd && to.reached(n, ev) && (to.label || n >= from.index) && !(to.label && from.label && n == snapA.At && to.text == from.text) {
			break
		}
		oc, err := tf.apply()
		if err != nil {
			return err
		}
		if _, ok := ev.Kind.Reg(); ok || ev.Kind == engine.EvReset || ev.Kind == engine.EvRestore {
			spaces.Note(sh)
			if snapA != nil {
				if len(controls) < maxControls {
					controls = append(controls, analysis.ControlEvent{Index: n, Op: ev.Op(), Value: ev.Value,
						ModeChange: oc.Notes&engine.NoteModeChange != 0})
				} else {
					moreCtl++
				}
			}
		}
	}
	tf.prog.Done()
	if snapA == nil {
		if !from.label && from.index == tf.count && atEnd {
			snapA = analysis.TakeSnapshot(sh, spaces.InMode(sh.Format().Mode), o.budget)
			saved = sh.State()
		} else {
			return fmt.Errorf("--from %s: not in the trace (%d events)", from.text, tf.count)
		}
	}
	if atEnd && !toEnd {
		return fmt.Errorf("--to %s: not in the trace after --from (%d events)", to.text, tf.count)
	}
	snapB := analysis.TakeSnapshot(sh, spaces.InMode(sh.Format().Mode), o.budget)
	// Address spaces first loaded after --from existed then too (their
	// tables were in memory): walk them in the state kept at --from.
	if all := spaces.InMode(snapA.Mode); len(all) > len(snapA.Spaces) {
		ref, err := engine.NewReference(sh.Config())
		if err == nil {
			err = ref.LoadState(saved)
		}
		if err != nil {
			return fmt.Errorf("reloading the state at --from: %w", err)
		}
		snapA.WalkGuests(ref, all, o.budget)
	}
	d := analysis.Diff(snapA, snapB)
	d.Controls, d.MoreCtl = controls, moreCtl
	w := bufio.NewWriter(stdout)
	if o.format == "table" {
		fmt.Fprintf(w, "%s: ", path)
	}
	if err := d.Write(w, o.format, o.limit); err != nil {
		return err
	}
	if spaces.Dropped > 0 && o.format == "table" {
		fmt.Fprintf(w, "(%d address spaces past --max-spaces %d were not walked)\n", spaces.Dropped, o.maxSpaces)
	}
	return w.Flush()
}

// parseSpaces reads --as: CR3 values separated by commas.
func parseSpaces(s string) (map[uint64]bool, error) {
	if s == "" {
		return nil, nil
	}
	m := map[uint64]bool{}
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(f), 0, 64)
		if err != nil {
			return nil, usageErrorf("--as: %q is not a CR3 value", f)
		}
		m[v] = true
	}
	return m, nil
}
