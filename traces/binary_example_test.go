package traces_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// A trace written in the binary form and read back through NewReader,
// which tells the forms apart by content.
func ExampleNewBinaryWriter() {
	var buf bytes.Buffer
	w := traces.NewBinaryWriter(&buf)
	h := traces.Header{Config: engine.Config{Ranges: []phys.RangeSpec{{Type: phys.TypeRAM, Size: 16 << 20, Name: "main"}}}}
	if err := w.WriteHeader(h); err != nil {
		fmt.Println(err)
		return
	}
	for _, ev := range []engine.Event{
		{Kind: engine.EvLabel, Text: "start"},
		{Kind: engine.EvWrite, Size: 4, Addr: 0x400000, Value: 0xdeadbeef},
		{Kind: engine.EvRead, Size: 4, Addr: 0x400000},
		{Kind: engine.EvRead, Size: 4, Addr: 0x400004},
	} {
		if err := w.WriteEvent(ev); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
		return
	}

	rd, form, err := traces.NewReader(&buf, "example.pgmt")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s trace, %d range(s)\n", form, len(rd.Header().Config.Ranges))
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s: %s\n", rd.Position(), traces.AppendEvent(nil, ev))
	}
	// Output:
	// binary trace, 1 range(s)
	// example.pgmt: event 0: label start
	// example.pgmt: event 1: w4 0x400000 0xdeadbeef
	// example.pgmt: event 2: r4 0x400000
	// example.pgmt: event 3: r4 0x400004
}
