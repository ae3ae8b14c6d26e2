package qemu

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// WriteTrace writes a trace to path in the form its name asks for
// (traces.FormOf), through a temporary file in the same directory that
// is renamed over path once complete: a reader, or a user after Ctrl-C,
// finds the previous file or the new one, never half of one.
func WriteTrace(path string, h traces.Header, events []engine.Event) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.part")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	var w traces.Writer
	if traces.FormOf(path) == traces.FormText {
		tw := traces.NewTextWriter(f)
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		w = tw
	} else {
		bw := traces.NewBinaryWriter(f)
		if err := bw.WriteHeaderCount(h, uint64(len(events))); err != nil {
			return err
		}
		w = bw
	}
	for i, e := range events {
		if err := w.WriteEvent(e); err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
