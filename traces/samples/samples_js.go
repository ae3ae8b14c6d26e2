//go:build js

package samples

import (
	"fmt"
	"io/fs"
	"sync"
	"syscall/js"
)

// The browser build does not embed the samples: the page downloads
// PackName beside the WebAssembly module, in parallel, and hands it over
// as the global pgmSamplesPack (a Uint8Array) before the module starts.
// Kept out of the module, the samples (over 120 KB deflated) do not count
// against its download budget, and a page without them still runs (the
// picker then lists none).
var unpacked = sync.OnceValues(func() ([]string, map[string][]byte) {
	v := js.Global().Get("pgmSamplesPack")
	if v.IsUndefined() || v.IsNull() || v.Get("length").Int() == 0 {
		packErr = fmt.Errorf("the samples were not downloaded (%s)", PackName)
		return nil, nil
	}
	pack := make([]byte, v.Get("length").Int())
	js.CopyBytesToGo(pack, v)
	names, files, err := unpack(pack)
	if err != nil {
		packErr = err
		return nil, nil
	}
	return names, files
})

// packErr says why there are no samples.
var packErr error

// Names lists the sample traces, sorted.
func Names() []string {
	names, _ := unpacked()
	return append([]string(nil), names...)
}

// Read returns the contents of the named sample.
func Read(name string) ([]byte, error) {
	_, files := unpacked()
	b, ok := files[name]
	if !ok && packErr != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: packErr}
	}
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return append([]byte(nil), b...), nil
}
