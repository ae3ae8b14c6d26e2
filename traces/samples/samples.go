// Package samples holds the small sample traces committed with the
// project, embedded so that the CLI, the browser build and tests can use
// them without touching the file system.
//
// Native builds embed the text files as they are. The browser build
// reads samples.pack, the same files deflated into one (a quarter of
// their size), which the page downloads beside the WebAssembly module
// (samples_js.go); TestPack keeps the pack equal to the files (`go test
// ./traces/samples -update` rewrites it).
package samples

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
)

// PackName is the file holding every sample deflated: the form the
// browser build downloads (see samples_js.go).
const PackName = "samples.pack"

// maxPacked bounds what unpack inflates: the pack is embedded, but a
// bound keeps a damaged one from taking the memory of a tab.
const maxPacked = 64 << 20

// unpack reads a pack: a deflated sequence of (name, contents) records,
// each a uvarint length and its bytes, in name order.
func unpack(pack []byte) (names []string, files map[string][]byte, err error) {
	data, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(pack)), maxPacked+1))
	if err != nil {
		return nil, nil, fmt.Errorf("samples.pack: %v", err)
	}
	if len(data) > maxPacked {
		return nil, nil, fmt.Errorf("samples.pack: over %d bytes inflated", maxPacked)
	}
	files = make(map[string][]byte)
	field := func() ([]byte, bool) {
		n, k := binary.Uvarint(data)
		if k <= 0 || n > uint64(len(data)-k) {
			return nil, false
		}
		b := data[k : k+int(n)]
		data = data[k+int(n):]
		return b, true
	}
	for len(data) > 0 {
		name, ok1 := field()
		body, ok2 := field()
		if !ok1 || !ok2 {
			return nil, nil, fmt.Errorf("samples.pack: truncated record after %d files", len(names))
		}
		names = append(names, string(name))
		files[string(name)] = body
	}
	return names, files, nil
}
