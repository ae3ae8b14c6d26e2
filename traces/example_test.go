package traces_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

func ExampleNewTextReader() {
	const trace = `pgmtrace 1
ram 0 16M main memory   # the only range
host pae-nx

label boot
pw4 0x1000 0x2003
cr0 0x11
w4 0x400000 3735928559
r4 0x400000
`
	tr, err := traces.NewTextReader(strings.NewReader(trace), "boot.txt")
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := tr.Header().Config
	fmt.Printf("host %s, %d range(s), pool %d\n", cfg.Host.TraceName(), len(cfg.Ranges), cfg.PoolPages)
	for {
		ev, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("line %d: %s\n", tr.Line(), traces.AppendEvent(nil, ev))
	}
	// Output:
	// host pae-nx, 1 range(s), pool 1024
	// line 5: label boot
	// line 6: pw4 0x1000 0x2003
	// line 7: cr0 0x11
	// line 8: w4 0x400000 0xdeadbeef
	// line 9: r4 0x400000
}

func ExampleSyntaxError() {
	_, err := traces.NewTextReader(strings.NewReader("pgmtrace 1\nram 0 16M\nw3 0x1000 5\n"), "trace.txt")
	fmt.Println(err)
	// Output:
	// trace.txt:3: w3 0x1000 5: access size 3 is not 1, 2, 4 or 8
}

func ExampleTextWriter() {
	w := traces.NewTextWriter(os.Stdout)
	w.WriteHeader(traces.Header{Meta: map[string]string{"tool": "example"}})
	w.WriteEvent(engine.Event{Kind: engine.EvCPL, Value: 3})
	w.WriteEvent(engine.Event{Kind: engine.EvWrite, Size: 4, Addr: 0x400000, Value: 0xdeadbeef})
	w.WriteEvent(engine.Event{Kind: engine.EvLabel, Text: "process 3 forks"})
	if err := w.Flush(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// pgmtrace 1
	// host amd64-nx
	// paging shadow
	// pool 1024
	// meta tool example
	// cpl 3
	// w4 0x400000 0xdeadbeef
	// label process 3 forks
}
