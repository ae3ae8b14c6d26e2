//go:build !js

package samples

import (
	"embed"
	"io/fs"
	"sort"
)

// files holds the samples and their pack (PackName), which the demo
// server sends to the browser build.
//
//go:embed *.txt samples.pack
var files embed.FS

// Names lists the sample traces, sorted.
func Names() []string {
	ents, _ := fs.ReadDir(files, ".")
	var names []string
	for _, e := range ents {
		if e.Name() != PackName {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// Read returns the contents of the named sample.
func Read(name string) ([]byte, error) { return files.ReadFile(name) }

// FS is the samples as a file system, for serving them; it also holds
// PackName.
func FS() fs.FS { return files }
