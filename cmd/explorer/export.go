package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/pgm-explorer/pgm-explorer/analysis"
)

func init() {
	register(&command{
		name:    "export",
		summary: "write a replay as a Perfetto / Chrome trace-event JSON timeline (faults, engine work, labels, counters)",
		usage:   "--perfetto FILE [-o OUT.json]",
		flags:   exportFlags,
	})
}

type exportOptions struct {
	replay   replayOptions
	perfetto string // the trace to export in the Perfetto form
	out      string
	where    string
	every    uint64
	max      uint64
}

func exportFlags(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
	var o exportOptions
	fs.StringVar(&o.perfetto, "perfetto", "", "the trace `FILE` to export as Chrome trace-event JSON, the form Perfetto's UI (ui.perfetto.dev) opens (the only form today)")
	fs.StringVar(&o.out, "o", "-", "output file (- for standard output); written whole or not at all")
	fs.StringVar(&o.where, "where", "", "only the outcomes this filter matches become instant events (labels and counters stay whole)")
	fs.Uint64Var(&o.every, "every", 1000, "events per counter sample")
	fs.Uint64Var(&o.max, "max-instants", 1_000_000, "most instant events written (the rest are counted and reported)")
	overrideFlags(fs, &o.replay)
	return func(args []string, stdout, stderr io.Writer) error {
		args, err := permute(fs, args)
		if err != nil {
			return err
		}
		if o.perfetto == "" || len(args) != 0 {
			return usageErrorf("want --perfetto FILE and no other argument")
		}
		return export(o.perfetto, o, stdout, stderr)
	}
}

func export(path string, o exportOptions, stdout, stderr io.Writer) (err error) {
	if o.every == 0 {
		return usageErrorf("--every 0: want at least one event")
	}
	where, err := parseWhere(o.where)
	if err != nil {
		return err
	}
	tf, err := openTrace(path, "export", &o.replay, stderr)
	if err != nil {
		return err
	}
	defer tf.Close()
	sh := tf.shadow()
	out, err := createOutput(o.out, stdout, path)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			out.Abort()
			err = fmt.Errorf("%w (%s)", err, out.AbortNote())
		}
	}()
	p := analysis.NewPerfetto(out, filepath.Base(path), sh, o.every, o.max)
	if where != nil {
		p.Filter = where.f
	}
	for {
		_, err := tf.next()
		if isEOF(err) {
			break
		}
		if errors.Is(err, errInterrupted) {
			return interrupted(tf.count, "nothing written")
		}
		if err != nil {
			return err
		}
		oc, err := tf.apply()
		if err != nil {
			return err
		}
		p.Add(&oc)
	}
	if err := p.Close(); err != nil {
		return err
	}
	if err := out.Commit(); err != nil {
		return err
	}
	tf.prog.Done()
	fmt.Fprintf(stderr, "%s: %d events, %d instant events", out.Name(), tf.count, p.Instants)
	if p.Dropped > 0 {
		fmt.Fprintf(stderr, " (%d more past --max-instants not written)", p.Dropped)
	}
	fmt.Fprintln(stderr)
	return nil
}
