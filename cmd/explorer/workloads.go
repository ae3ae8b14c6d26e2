package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/traces/workload"
)

func init() {
	register(&command{
		name:    "workloads",
		summary: "list the live workloads (guest models) that record runs, with their parameters",
		usage:   "[NAME ...]",
		flags: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			return func(args []string, stdout, _ io.Writer) error {
				return listWorkloads(args, stdout)
			}
		},
	})
}

// listWorkloads describes the named workloads, or all of them.
func listWorkloads(names []string, w io.Writer) error {
	if len(names) == 0 {
		names = workload.Names()
		fmt.Fprintln(w, "Live workloads: guest models that react to the outcome of each event. Record")
		fmt.Fprintln(w, "one with")
		fmt.Fprintln(w, "  explorer record --workload NAME -o FILE [--seed N] [--events N]")
		fmt.Fprintln(w, "                  [--param NAME=VALUE ...]")
	}
	for _, name := range names {
		info, err := workload.Describe(name)
		if err != nil {
			return &exitError{2, err}
		}
		fmt.Fprintf(w, "\n%s\n", info.Name)
		wrap(w, "    ", info.Summary)
		if info.Events > 0 {
			fmt.Fprintf(w, "    runs for ever; records %d events unless told (--events)\n", info.Events)
		} else {
			fmt.Fprintln(w, "    ends by itself; records its whole run unless told (--events)")
		}
		if len(info.Params) == 0 {
			continue
		}
		fmt.Fprintln(w, "    parameters (default):")
		width := 0
		for _, p := range info.Params {
			width = max(width, len(p.Name)+1+len(p.Default))
		}
		for _, p := range info.Params {
			nv := p.Name + "=" + p.Default
			wrap(w, fmt.Sprintf("      %-*s  ", width, nv), p.Help)
		}
	}
	return nil
}

// wrap prints text after prefix, wrapped at 80 columns, continuation
// lines indented as far as the prefix.
func wrap(w io.Writer, prefix, text string) {
	const cols = 80
	indent := strings.Repeat(" ", len(prefix))
	line := prefix
	for i, word := range strings.Fields(text) {
		if i > 0 && len(line)+1+len(word) > cols {
			fmt.Fprintln(w, line)
			line = indent + word
			continue
		}
		if i > 0 {
			line += " "
		}
		line += word
	}
	fmt.Fprintln(w, line)
}
