// Command explorer is PGM Explorer's native program: it replays guest
// traces through the paging engine and reports what happened.
//
// Usage:
//
//	explorer <command> [flags] [arguments]
//
// Run `explorer help` for the list of commands and `explorer help
// <command>` for one command's flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	usage   string // arguments after the flags
	// flags declares the command's flags and returns its body, which
	// writes only to the writers it is given (tests pass buffers).
	flags func(fs *flag.FlagSet) func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// exitError carries a process exit status: 2 for usage errors, 1 for
// failures of the work itself.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErrorf(format string, a ...any) error {
	return &exitError{2, fmt.Errorf(format, a...)}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		if guiByDefault() {
			return runGUI(nil, os.Stdin, stdout, stderr)
		}
		printHelp(stderr)
		return 2
	}
	name, rest := args[0], args[1:]
	switch name {
	case "gui":
		// Every flag belongs to explorer-gui.
		return runGUI(rest, os.Stdin, stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			if c, ok := commands[rest[0]]; ok {
				printCommandHelp(stdout, c)
				return 0
			}
			fmt.Fprintf(stderr, "explorer: no command %q\n", rest[0])
			return 2
		}
		printHelp(stdout)
		return 0
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "explorer: unknown command %q (run 'explorer help')\n", name)
		return 2
	}
	fs := flag.NewFlagSet("explorer "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	body := c.flags(fs)
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printCommandHelp(stdout, c)
			return 0
		}
		fmt.Fprintf(stderr, "explorer %s: %v\nrun 'explorer help %s' for usage\n", c.name, err, c.name)
		return 2
	}
	if err := body(fs.Args(), stdout, stderr); err != nil {
		var ee *exitError
		code := 1
		if errors.As(err, &ee) {
			code = ee.code
		}
		fmt.Fprintf(stderr, "explorer %s: %v\n", c.name, err)
		if code == 2 {
			fmt.Fprintf(stderr, "run 'explorer help %s' for usage\n", c.name)
		}
		return code
	}
	return 0
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "PGM Explorer: x86 paging, shadow paging and a hypervisor's page manager, step by step.")
	fmt.Fprintln(w, "\nUsage: explorer <command> [flags] [arguments]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'explorer help <command>' for a command's flags.")
}

func printCommandHelp(w io.Writer, c *command) {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	c.flags(fs)
	fmt.Fprintf(w, "Usage: explorer %s [flags] %s\n\n%s\n", c.name, c.usage, c.summary)
	var b strings.Builder
	fs.SetOutput(&b)
	fs.PrintDefaults()
	if b.Len() > 0 {
		fmt.Fprintf(w, "\nFlags:\n%s", b.String())
	}
}
