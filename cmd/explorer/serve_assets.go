package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"path"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pgm-explorer/pgm-explorer/traces/samples"
	"github.com/pgm-explorer/pgm-explorer/web"
)

// The demo's files are read and compressed once, when the server starts
// (the WebAssembly build again only if it changes on disk), and every
// response is a slice of those bytes: sixty clients that never read the
// 16 MB module cost sixty connections, not sixty copies, and no request
// waits for another's compression.

// asset is one file in both of the forms the server sends.
type asset struct {
	raw, gz     []byte // gz is nil when compression does not pay
	etag, gzTag string // strong validators of each form
	ctype       string
	key         string // size and time of the source, to notice a rebuild
}

// assets holds the served files by URL path (without the leading /).
type assets struct {
	build fs.FS // the WebAssembly build (a directory: a build output)

	mu    sync.Mutex // serialises reloads of the build's files
	files sync.Map   // name -> *asset

	compressions atomic.Int64 // gzip runs so far (tests check "once")
}

// buildFiles come from the build directory; everything else is
// embedded.
var buildFiles = []string{"explorer.wasm", "wasm_exec.js"}

func newAssets(build fs.FS) (*assets, error) {
	a := &assets{build: build}
	for _, name := range []string{"index.html"} {
		if err := a.load(web.FS(), name, name); err != nil {
			return nil, err
		}
	}
	for _, name := range samples.Names() {
		if err := a.load(samples.FS(), name, "traces/"+name); err != nil {
			return nil, err
		}
	}
	// What the browser build reads its samples from (samples_js.go).
	if err := a.load(samples.FS(), samples.PackName, samples.PackName); err != nil {
		return nil, err
	}
	for _, name := range buildFiles {
		if err := a.load(build, name, name); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// load reads name from fsys and keeps it as url.
func (a *assets) load(fsys fs.FS, name, url string) error {
	f, err := fsys.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("%s is a directory", name)
	}
	raw, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	as := &asset{raw: raw, ctype: contentType(name), key: statKey(st)}
	sum := sha256.Sum256(raw)
	as.etag = `"` + hex.EncodeToString(sum[:12]) + `"`
	if len(raw) > 512 {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		zw.Write(raw)
		zw.Close()
		a.compressions.Add(1)
		if b.Len() < len(raw) {
			as.gz = b.Bytes()
			as.gzTag = `"` + hex.EncodeToString(sum[:12]) + `-gz"`
		}
	}
	a.files.Store(url, as)
	return nil
}

func statKey(st fs.FileInfo) string {
	return fmt.Sprintf("%d-%d", st.Size(), st.ModTime().UnixNano())
}

// get returns the asset for a URL path, reloading a build file that
// changed on disk since it was read (make wasm while serving).
func (a *assets) get(url string) (*asset, bool) {
	v, ok := a.files.Load(url)
	if !ok {
		return nil, false
	}
	as := v.(*asset)
	for _, b := range buildFiles {
		if url != b {
			continue
		}
		st, err := fs.Stat(a.build, b)
		if err != nil || statKey(st) == as.key {
			return as, true
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		if v, _ := a.files.Load(url); statKey(st) != v.(*asset).key {
			if err := a.load(a.build, b, url); err != nil {
				return as, true // keep serving what was there
			}
		}
		v, _ = a.files.Load(url)
		return v.(*asset), true
	}
	return as, true
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".wasm":
		return "application/wasm"
	case ".txt", "":
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// etagMatch reports whether an If-None-Match header names tag (weak
// comparison, as RFC 9110 asks for If-None-Match).
func etagMatch(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == tag {
			return true
		}
	}
	return false
}

// contentSecurityPolicy fits the page: its one inline script and one
// inline style by their hashes, wasm_exec.js from the same origin,
// WebAssembly compilation ('wasm-unsafe-eval', which allows no eval of
// text), fetches of the module and the sample traces from the same
// origin, and nothing else: no plug-ins, frames, forms or base changes.
func contentSecurityPolicy(page []byte) string {
	hashes := func(tag string) string {
		re := regexp.MustCompile(`(?s)<` + tag + `>(.*?)</` + tag + `>`)
		var b strings.Builder
		for _, m := range re.FindAllSubmatch(page, -1) {
			sum := sha256.Sum256(m[1])
			b.WriteString(" 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'")
		}
		return b.String()
	}
	return "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'" + hashes("script") +
		"; style-src" + hashes("style") + "; connect-src 'self'; img-src 'self' data: blob:" +
		"; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// Responses' fixed headers.
const (
	writeTimeout = 2 * time.Minute // a 16 MB module at 150 kB/s
	idleTimeout  = time.Minute
	// maxSending bounds the responses being written at once: slow
	// clients beyond it get 503 and a Retry-After instead of a share
	// of the server.
	maxSending = 32
)
