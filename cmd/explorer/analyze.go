package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/analysis"
)

func init() {
	register(&command{
		name:    "analyze",
		summary: "hot spots: accesses, faults and engine work per address, page, table, pool page, path or address space",
		usage:   "FILE",
		flags:   analyzeFlags,
	})
}

type analyzeOptions struct {
	replay  replayOptions
	where   string
	by      string
	top     int
	sort    string
	format  string
	maxKeys int
}

func analyzeFlags(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
	var o analyzeOptions
	fs.StringVar(&o.where, "where", "", "count only the events this filter matches (see README, \"Filters\")")
	fs.StringVar(&o.by, "by", "page", "key to count by: va, page, gpa, as, guest-table, pool-page, path or label")
	fs.IntVar(&o.top, "top", 20, "rows to print (0: all)")
	fs.StringVar(&o.sort, "sort", "events", "column the rows are ordered by: "+strings.Join(analysis.SortBy, ", "))
	fs.StringVar(&o.format, "format", "table", "output: table, csv or json")
	fs.IntVar(&o.maxKeys, "max-keys", 100_000, "most distinct keys kept (about 300 bytes each); events of later keys are counted in the totals and reported as dropped")
	overrideFlags(fs, &o.replay)
	return func(args []string, stdout, stderr io.Writer) error {
		args, err := permute(fs, args)
		if err != nil {
			return err
		}
		if len(args) != 1 {
			return usageErrorf("want exactly one trace FILE, got %d arguments", len(args))
		}
		return analyze(args[0], o, stdout, stderr)
	}
}

func analyze(path string, o analyzeOptions, stdout, stderr io.Writer) error {
	by, err := analysis.ParseKeyKind(o.by)
	if err != nil {
		return usageErrorf("--by: %v", err)
	}
	if err := analysis.CheckFormat(o.format); err != nil {
		return usageErrorf("--format: %v", err)
	}
	if !validSort(o.sort) {
		return usageErrorf("--sort: unknown column %q (want %s)", o.sort, strings.Join(analysis.SortBy, ", "))
	}
	if o.maxKeys < 1 {
		return usageErrorf("--max-keys %d: want at least 1", o.maxKeys)
	}
	where, err := parseWhere(o.where)
	if err != nil {
		return err
	}
	tf, err := openTrace(path, "analyze", &o.replay, stderr)
	if err != nil {
		return err
	}
	defer tf.Close()
	sh := tf.shadow()
	var flt *analysis.Filter
	if where != nil {
		flt = where.f
	}
	an := analysis.NewAnalyzer(sh, by, flt, o.maxKeys)
	stopped := false
	for {
		_, err := tf.next()
		if isEOF(err) {
			break
		}
		if errors.Is(err, errInterrupted) {
			stopped = true
			break
		}
		if err != nil {
			return err
		}
		oc, err := tf.apply()
		if err != nil {
			return err
		}
		an.Add(&oc)
	}
	tf.prog.Done()
	w := bufio.NewWriter(stdout)
	if o.format == "table" {
		fmt.Fprintf(w, "%s", describeRun(path, sh.Config().Paging.String(), sh.Config().PoolPages, o.where))
	}
	if err := an.Report(o.top, o.sort).Write(w, o.format); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if stopped {
		return interrupted(tf.count, "the report covers those")
	}
	return nil
}

func validSort(s string) bool {
	for _, c := range analysis.SortBy {
		if c == s {
			return true
		}
	}
	return false
}

// describeRun is the first line of a table report: what was replayed how.
func describeRun(path, paging string, pool int, where string) string {
	s := fmt.Sprintf("%s: %s paging, pool of %d pages", path, paging, pool)
	if where != "" {
		s += ", where " + where
	}
	return s + "\n"
}
