package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/traces/qemu"
)

// Every command that opens a trace also opens a QEMU core through the
// importer this package registers.
var _ = qemu.Magic

func init() {
	register(&command{
		name:    "import",
		summary: "turn a QEMU guest-memory core (dump-guest-memory, virsh dump --memory-only) into a trace of its address space",
		usage:   "-o TRACE CORE",
		flags:   importFlags,
	})
}

func importFlags(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
	var o qemu.ImportOptions
	out := fs.String("o", "", "the trace to write (text if its name ends in .txt, binary otherwise); written whole or not at all")
	fs.IntVar(&o.CPU, "cpu", 0, "the vCPU whose registers and page tables are taken")
	fs.StringVar(&o.NXE, "nxe", "auto", "EFER.NXE, which a core does not hold: auto (on when a present entry has bit 63 set), on or off")
	fs.BoolVar(&o.AllLeaves, "all-leaves", false, "read every present leaf, not one address per region")
	addrs := fs.String("addresses", "", "a file of addresses to read too, one hex address per line (# comments)")
	fs.IntVar(&o.MaxSamples, "max-samples", qemu.DefaultMaxSamples, "at most this many region samples (thinned evenly)")
	maxPhys := fs.Uint("maxphyaddr", 0, "the CPU's physical address width (default 40, QEMU's, or more if memory reaches higher)")
	pkru := fs.String("pkru", "", "the PKRU register (a core does not hold it), e.g. 0x55555554, Linux's default; unset: keys forbid nothing")
	name := fs.String("name", "", "what the guest is, for the trace's labels and metadata (default: the core's file name)")
	regions := fs.Bool("regions", false, "print the mapped regions (runs of pages with the same rights) on standard output")
	return func(args []string, stdout, stderr io.Writer) error {
		if len(args) != 1 {
			return usageErrorf("want one CORE, got %d arguments", len(args))
		}
		if *out == "" {
			return usageErrorf("-o TRACE is required")
		}
		if *maxPhys > 52 {
			return usageErrorf("--maxphyaddr %d: want 32..52", *maxPhys)
		}
		o.MaxPhys = uint8(*maxPhys)
		if *pkru != "" {
			v, err := strconv.ParseUint(*pkru, 0, 32)
			if err != nil {
				return usageErrorf("--pkru %q: want a 32-bit value", *pkru)
			}
			p := uint32(v)
			o.PKRU = &p
		}
		if *addrs != "" {
			list, err := readAddresses(*addrs)
			if err != nil {
				return err
			}
			o.Addresses = list
		}
		o.Source = *name
		return importCore(args[0], *out, o, *regions, stdout, stderr)
	}
}

func importCore(path, out string, o qemu.ImportOptions, regions bool, stdout, stderr io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	c, err := qemu.OpenCore(f, st.Size())
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if o.Source == "" {
		o.Source = filepath.Base(path)
	}
	s, err := qemu.Import(c, o)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := writeEvents(out, stdout, s.Header, s.Events, path); err != nil {
		return err
	}
	if regions {
		for _, r := range s.Regions {
			fmt.Fprintf(stdout, "%016x-%016x %8s %s %6d pages\n", r.Start, r.End, size(r.End-r.Start), rights(r), r.Leaves)
		}
	}
	fmt.Fprintf(stderr, "%s: vCPU %d of %d, %s, CR3 %#x, EFER %#x (%s)\n", path, o.CPU, len(c.CPUs),
		s.Header.Meta["mode"], s.Regs.CR3, s.Regs.EFER, s.Header.Meta["efer-from"])
	fmt.Fprintf(stderr, "%s: %d table pages (%d entries), %d leaves in %d regions, %d reads: %d events\n",
		out, s.Stats.TablePages, s.Stats.Entries, s.Stats.Leaves, len(s.Regions), s.Stats.Samples, len(s.Events))
	return nil
}

func rights(r qemu.Region) string {
	b := []byte("---")
	if r.User {
		b[0] = 'u'
	}
	if r.Write {
		b[1] = 'w'
	}
	if !r.NX {
		b[2] = 'x'
	}
	return string(b)
}

func size(n uint64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatUint(n>>30, 10) + "G"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatUint(n>>20, 10) + "M"
	}
	return strconv.FormatUint(n>>10, 10) + "K"
}

// readAddresses reads one hex address per line; '#' starts a comment.
// At most 1M addresses.
func readAddresses(path string) ([]uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []uint64
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		v, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(line), "0x"), 16, 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %q is not a hex address", path, n, line)
		}
		if len(out) >= 1<<20 {
			return nil, fmt.Errorf("%s:%d: more than %d addresses", path, n, 1<<20)
		}
		out = append(out, v)
	}
	return out, sc.Err()
}

// writeEvents writes a whole trace through the command's one output path:
// never over an input, never half-written under its final name.
func writeEvents(name string, stdout io.Writer, h traces.Header, events []engine.Event, inputs ...string) error {
	t, err := createTrace(name, stdout, h, uint64(len(events)), true, inputs...)
	if err != nil {
		return err
	}
	for i, e := range events {
		if err := t.WriteEvent(e); err != nil {
			t.Abort()
			return fmt.Errorf("%s: event %d: %w", name, i, err)
		}
	}
	return t.Commit()
}
