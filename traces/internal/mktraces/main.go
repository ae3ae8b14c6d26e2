// Command mktraces writes the large synthetic traces of `make traces`
// (see package synth) into a directory, in the binary form and, with
// -text, in the text form too.
//
//	go run ./traces/internal/mktraces -o traces/large -events 1M,10M -text 1M
//
// -bigmap N writes bigmap-N.pgmt instead: a kernel direct map of -leaves
// 4 KiB pages and accesses over it (synth.BigMapEvents), N events in all.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/traces/internal/synth"
)

func main() {
	dir := flag.String("o", "traces/large", "output directory")
	events := flag.String("events", "1M,10M", "comma-separated lengths of the binary traces (K and M suffixes)")
	text := flag.String("text", "1M", "comma-separated lengths of the text traces (empty for none)")
	seed := flag.Uint64("seed", 1, "generator seed")
	bigmap := flag.String("bigmap", "", "write only bigmap-N.pgmt, a direct map and accesses over it, N events (K and M suffixes)")
	leaves := flag.Int("leaves", 70000, "present 4 KiB leaves of the -bigmap trace")
	flag.Parse()
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fail(err)
	}
	if *bigmap != "" {
		n, err := parseCount(*bigmap)
		if err != nil {
			fail(err)
		}
		if err := writeBigMap(filepath.Join(*dir, "bigmap-"+strings.ToLower(*bigmap)+traces.BinaryExt), n, *seed, *leaves); err != nil {
			fail(err)
		}
		return
	}
	for _, spec := range []struct{ list, ext string }{{*events, traces.BinaryExt}, {*text, ".txt"}} {
		for _, s := range strings.Split(spec.list, ",") {
			if s == "" {
				continue
			}
			n, err := parseCount(s)
			if err != nil {
				fail(err)
			}
			path := filepath.Join(*dir, "mixed-"+strings.ToLower(s)+spec.ext)
			if err := write(path, n, *seed); err != nil {
				fail(err)
			}
		}
	}
}

func write(path string, n, seed uint64) error {
	h := traces.Header{Config: synth.Config(), Meta: map[string]string{
		"generator": "traces/internal/synth",
		"seed":      strconv.FormatUint(seed, 10),
		"events":    strconv.FormatUint(n, 10),
	}}
	w, err := traces.CreateCount(path, h, n)
	if err != nil {
		return err
	}
	g := synth.New(seed)
	for range n {
		if err := w.WriteEvent(g.Next()); err != nil {
			w.Close()
			os.Remove(path)
			return err
		}
	}
	if err := w.Close(); err != nil {
		os.Remove(path)
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d events, %d bytes (%.2f bytes/event)\n", path, n, st.Size(), float64(st.Size())/float64(n))
	return nil
}

func writeBigMap(path string, n, seed uint64, leaves int) error {
	if leaves <= 0 || uint64(leaves) >= n {
		return fmt.Errorf("-leaves %d: want 1..events-1", leaves)
	}
	h := traces.Header{Config: synth.BigMapConfig(leaves), Meta: map[string]string{
		"generator": "traces/internal/synth.BigMapEvents",
		"seed":      strconv.FormatUint(seed, 10),
		"leaves":    strconv.Itoa(leaves),
	}}
	w, err := traces.CreateCount(path, h, n)
	if err != nil {
		return err
	}
	for _, ev := range synth.BigMapEvents(seed, leaves, int(n)) {
		if err := w.WriteEvent(ev); err != nil {
			w.Close()
			os.Remove(path)
			return err
		}
	}
	if err := w.Close(); err != nil {
		os.Remove(path)
		return err
	}
	fmt.Printf("%s: %d events, %d leaves\n", path, n, leaves)
	return nil
}

func parseCount(s string) (uint64, error) {
	mul := uint64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mul, s = 1000, s[:len(s)-1]
	case strings.HasSuffix(s, "M"):
		mul, s = 1000_000, s[:len(s)-1]
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("bad event count %q", s)
	}
	return n * mul, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "mktraces:", err)
	os.Exit(1)
}
