package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pgm-explorer/pgm-explorer/traces/samples"
	"github.com/pgm-explorer/pgm-explorer/web"
)

func init() {
	register(&command{
		name:    "serve",
		summary: "serve the browser demo (page, WebAssembly build and sample traces) on localhost",
		usage:   "",
		flags: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			addr := fs.String("addr", "127.0.0.1:8080", "`HOST:PORT` to listen on (0.0.0.0 only if you mean to share the demo with your network)")
			dir := fs.String("dir", "", "`DIR` holding explorer.wasm and wasm_exec.js (default: web/ in the current directory, else next to the explorer binary)")
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) > 0 {
					return usageErrorf("serve takes no arguments (got %q)", args[0])
				}
				return serve(*addr, *dir, stdout, stderr)
			}
		},
	})
}

// wasmDir finds the directory of the WebAssembly build.
func wasmDir(dir string) (string, error) {
	if dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "explorer.wasm")); err != nil {
			return "", fmt.Errorf("--dir %s: no explorer.wasm there (build it with `make wasm`)", dir)
		}
		return dir, nil
	}
	cands := []string{"web"}
	if exe, err := os.Executable(); err == nil {
		cands = append(cands, filepath.Join(filepath.Dir(exe), "..", "web"), filepath.Join(filepath.Dir(exe), "web"))
	}
	for _, d := range cands {
		if _, err := os.Stat(filepath.Join(d, "explorer.wasm")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("no explorer.wasm in web/ here or next to the explorer binary: build it with `make wasm` (or run `make demo`), or give --dir")
}

func serve(addr, dir string, stdout, stderr io.Writer) error {
	d, err := wasmDir(dir)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: newDemoHandler(os.DirFS(d)), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "PGM Explorer demo on http://%s/ (WebAssembly from %s); Ctrl-C stops\n", ln.Addr(), d)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}

// demoHandler serves the page (embedded), the WebAssembly build (from a
// directory: it is a build output, not a source) and the sample traces
// under /traces/, gzipped for clients that accept it. Compressed bodies
// are kept, keyed by name, size and time, so the 16 MB module is
// compressed once.
type demoHandler struct {
	build fs.FS
	mu    sync.Mutex
	gz    map[string]gzEntry
}

type gzEntry struct {
	key  string
	data []byte
}

func newDemoHandler(build fs.FS) *demoHandler {
	return &demoHandler{build: build, gz: map[string]gzEntry{}}
}

func (h *demoHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" {
		name = "index.html"
	}
	var fsys fs.FS
	switch {
	case name == "traces" || strings.HasPrefix(name, "traces/"):
		fsys, name = samples.FS(), strings.TrimPrefix(strings.TrimPrefix(name, "traces"), "/")
		if name == "" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintln(w, strings.Join(samples.Names(), "\n"))
			return
		}
	case name == "explorer.wasm" || name == "wasm_exec.js":
		fsys = h.build
	default:
		fsys = web.FS()
	}
	data, mod, err := readFS(fsys, name)
	if err != nil {
		http.Error(w, name+": not found", http.StatusNotFound)
		return
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".wasm":
		ctype = "application/wasm"
	case ".txt", "":
		ctype = "text/plain; charset=utf-8"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Vary", "Accept-Encoding")
	// The loader's progress bar needs the size of what it unpacks.
	w.Header().Set("X-Raw-Length", strconv.Itoa(len(data)))
	if len(data) > 512 && acceptsGzip(r) {
		data = h.gzipped(name, mod, data)
		w.Header().Set("Content-Encoding", "gzip")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(data)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) == "gzip" && strings.TrimSpace(q) != "q=0" {
			return true
		}
	}
	return false
}

func readFS(fsys fs.FS, name string) ([]byte, time.Time, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		return nil, time.Time{}, fs.ErrNotExist
	}
	data, err := io.ReadAll(f)
	return data, st.ModTime(), err
}

func (h *demoHandler) gzipped(name string, mod time.Time, data []byte) []byte {
	key := fmt.Sprintf("%d-%d", len(data), mod.UnixNano())
	h.mu.Lock()
	defer h.mu.Unlock()
	if e, ok := h.gz[name]; ok && e.key == key {
		return e.data
	}
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write(data)
	zw.Close()
	h.gz[name] = gzEntry{key, b.Bytes()}
	return b.Bytes()
}
