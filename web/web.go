// Package web holds the browser demo's page: the loader that downloads
// the WebAssembly build with a progress bar, checks for WebGL2, and hands
// files the user opens or drops to it. `explorer serve` embeds it; the
// WebAssembly build itself (explorer.wasm and wasm_exec.js) is made by
// `make wasm` into this directory and served from there.
package web

import (
	"embed"
	"io/fs"
)

//go:embed index.html
var files embed.FS

// FS is the page's files.
func FS() fs.FS { return files }
