//go:build js && wasm

// Command wasm is the browser build of PGM Explorer. Until the
// interactive UI arrives it replays the embedded sample traces through
// the shadow engine and writes the outcomes into the page, which proves
// the engine runs unchanged in WebAssembly.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall/js"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/traces/samples"
)

func main() {
	var out strings.Builder
	for _, name := range samples.Names() {
		if err := replay(name, &out); err != nil {
			fmt.Fprintf(&out, "%s: %v\n", name, err)
		}
	}
	doc := js.Global().Get("document")
	if pre := doc.Call("getElementById", "out"); pre.Truthy() {
		pre.Set("textContent", out.String())
	} else {
		fmt.Print(out.String())
	}
}

func replay(name string, out *strings.Builder) error {
	data, err := samples.Read(name)
	if err != nil {
		return err
	}
	rd, err := traces.NewTextReader(bytes.NewReader(data), name)
	if err != nil {
		return err
	}
	eng, err := engine.NewShadow(rd.Header().Config)
	if err != nil {
		return err
	}
	start := time.Now()
	var buf []byte
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		o, err := eng.Apply(ev)
		if err != nil {
			return fmt.Errorf("line %d: %w", rd.Line(), err)
		}
		if ev.Kind == engine.EvLabel {
			fmt.Fprintf(out, "\n# %s\n", ev.Text)
		}
		if o.Reported() {
			buf = append(o.AppendJSON(buf[:0]), '\n')
			out.Write(buf)
		}
	}
	fmt.Fprintf(out, "\n%s: %d events in %v, final mode %v\n", name, eng.Events(), time.Since(start), eng.Format().Mode)
	return nil
}
