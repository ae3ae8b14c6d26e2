//go:build js

package samples

import (
	_ "embed"
	"io/fs"
	"sync"
)

//go:embed samples.pack
var pack []byte

var unpacked = sync.OnceValues(func() ([]string, map[string][]byte) {
	names, files, err := unpack(pack)
	if err != nil {
		panic(err) // the pack is part of the binary and TestPack checks it
	}
	return names, files
})

// Names lists the sample traces, sorted.
func Names() []string {
	names, _ := unpacked()
	return append([]string(nil), names...)
}

// Read returns the contents of the named sample.
func Read(name string) ([]byte, error) {
	_, files := unpacked()
	b, ok := files[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return append([]byte(nil), b...), nil
}
