package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pgm-explorer/pgm-explorer/traces/samples"
)

func init() {
	register(&command{
		name:    "serve",
		summary: "serve the browser demo (page, WebAssembly build and sample traces) on localhost",
		usage:   "",
		flags: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			addr := fs.String("addr", "127.0.0.1:8080", "`HOST:PORT` to listen on; any address but a loopback one (127.0.0.1, ::1) shares the demo, which has no authentication, with the network, and is warned about")
			dir := fs.String("dir", "", "`DIR` holding explorer.wasm and wasm_exec.js (default: web/ in the current directory, else next to the explorer binary)")
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) > 0 {
					return usageErrorf("serve takes no arguments (got %q)", args[0])
				}
				ctx, stop := interruptContext()
				defer stop()
				return serve(ctx, *addr, *dir, stdout, stderr)
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

// serve serves the demo on addr until ctx is done.
func serve(ctx context.Context, addr, dir string, stdout, stderr io.Writer) error {
	d, err := wasmDir(dir)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	loopback := isLoopback(ln.Addr())
	h, err := newDemoHandler(os.DirFS(d), loopback)
	if err != nil {
		ln.Close()
		return err
	}
	srv := newServer(h)
	fmt.Fprintf(stdout, "PGM Explorer demo on http://%s/ (WebAssembly from %s); Ctrl-C stops\n", ln.Addr(), d)
	if !loopback {
		fmt.Fprintf(stderr, "WARNING: the demo is listening on %s, open to every machine that can reach this one.\n"+
			"WARNING: it has no authentication. Use --addr 127.0.0.1:PORT to keep it on this machine.\n", ln.Addr())
	}
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

// newServer bounds what a client can hold: the time to send its request
// headers and the request, to receive a response, and to keep an idle
// connection open.
func newServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: writeTimeout, IdleTimeout: idleTimeout, MaxHeaderBytes: 64 << 10}
}

// isLoopback reports whether a listener's address is a loopback one
// (not the unspecified address, which is every interface).
func isLoopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}

// demoHandler serves the page (embedded), the WebAssembly build and the
// sample traces under /traces/, gzipped for clients that accept it, with
// validators so that a browser reloading the page gets 304 instead of
// the module again.
type demoHandler struct {
	assets *assets
	csp    string
	// loopback: the server is bound to a loopback address, so every
	// request must name a loopback host; a page of another site that
	// rebinds its name to 127.0.0.1 sends its own name.
	loopback bool
	sending  chan struct{} // a slot per response being written
}

func newDemoHandler(build fs.FS, loopback bool) (*demoHandler, error) {
	a, err := newAssets(build)
	if err != nil {
		return nil, fmt.Errorf("the demo's files: %w", err)
	}
	page, _ := a.get("index.html")
	return &demoHandler{assets: a, csp: contentSecurityPolicy(page.raw), loopback: loopback,
		sending: make(chan struct{}, maxSending)}, nil
}

func (h *demoHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if h.loopback && !loopbackHost(r.Host) {
		http.Error(w, "this demo answers only to localhost and loopback addresses", http.StatusMisdirectedRequest)
		return
	}
	hd := w.Header()
	hd.Set("Content-Security-Policy", h.csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	switch name {
	case "":
		name = "index.html"
	case "traces":
		hd.Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, strings.Join(samples.Names(), "\n"))
		return
	}
	as, ok := h.assets.get(name)
	if !ok {
		http.Error(w, name+": not found", http.StatusNotFound)
		return
	}
	hd.Set("Content-Type", as.ctype)
	// Revalidate on every load: a rebuilt module is seen at once, an
	// unchanged one costs a 304.
	hd.Set("Cache-Control", "no-cache")
	hd.Set("Vary", "Accept-Encoding")
	// The loader's progress bar needs the size of what it unpacks.
	hd.Set("X-Raw-Length", strconv.Itoa(len(as.raw)))
	body, tag := as.raw, as.etag
	if as.gz != nil && acceptsGzip(r) {
		body, tag = as.gz, as.gzTag
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("ETag", tag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, tag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	select {
	case h.sending <- struct{}{}:
		defer func() { <-h.sending }()
	default:
		hd.Del("Content-Length")
		hd.Del("Content-Encoding")
		hd.Del("ETag")
		hd.Set("Retry-After", "5")
		http.Error(w, "too many downloads at once; try again in a few seconds", http.StatusServiceUnavailable)
		return
	}
	w.Write(body)
}

// loopbackHost reports whether a Host header names this machine:
// localhost (or a name under .localhost) or a loopback address.
func loopbackHost(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if strings.EqualFold(h, "localhost") || strings.HasSuffix(strings.ToLower(h), ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
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
