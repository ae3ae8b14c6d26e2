// Command mktraces writes the large synthetic traces of `make traces`
// (see package synth) into a directory, in the binary form and, with
// -text, in the text form too.
//
//	go run ./traces/internal/mktraces -o traces/large -events 1M,10M -text 1M
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
	flag.Parse()
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fail(err)
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
