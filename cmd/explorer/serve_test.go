package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pgm-explorer/pgm-explorer/web"
)

var testWasm = strings.Repeat("\x00asm", 4096)

func testBuild() fstest.MapFS {
	return fstest.MapFS{"explorer.wasm": {Data: []byte(testWasm)}, "wasm_exec.js": {Data: []byte("// go")}}
}

func testHandler(t *testing.T, loopback bool) *demoHandler {
	t.Helper()
	h, err := newDemoHandler(testBuild(), loopback)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func get(h http.Handler, method, path string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	req.Host = "localhost:8080"
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestServeDemo(t *testing.T) {
	h := testHandler(t, true)
	for _, tc := range []struct {
		path, ctype string
		gzip        bool
		status      int
		body        string
	}{
		{"/", "text/html", true, 200, "<title>PGM Explorer</title>"},
		{"/explorer.wasm", "application/wasm", true, 200, testWasm},
		{"/explorer.wasm", "application/wasm", false, 200, testWasm},
		{"/traces/modes.txt", "text/plain", true, 200, "pgmtrace 1"},
		{"/traces/", "text/plain", false, 200, "modes-tour.txt"},
		{"/nothing", "", false, 404, ""},
		{"/../../etc/passwd", "", false, 404, ""},
	} {
		var rec *httptest.ResponseRecorder
		if tc.gzip {
			rec = get(h, "GET", tc.path, "Accept-Encoding", "gzip, deflate")
		} else {
			rec = get(h, "GET", tc.path)
		}
		if rec.Code != tc.status {
			t.Errorf("%s: status %d, want %d", tc.path, rec.Code, tc.status)
			continue
		}
		if tc.status != 200 {
			continue
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, tc.ctype) {
			t.Errorf("%s: Content-Type %q, want %q", tc.path, ct, tc.ctype)
		}
		if cl := rec.Header().Get("Content-Length"); cl != "" && cl != strconv.Itoa(rec.Body.Len()) {
			t.Errorf("%s: Content-Length %s for a body of %d bytes", tc.path, cl, rec.Body.Len())
		}
		var body io.Reader = rec.Body
		if rec.Header().Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(rec.Body)
			if err != nil {
				t.Fatalf("%s: %v", tc.path, err)
			}
			body = zr
		} else if tc.gzip && len(tc.body) > 512 {
			t.Errorf("%s: not gzipped", tc.path)
		}
		b, _ := io.ReadAll(body)
		if !strings.Contains(string(b), tc.body) {
			t.Errorf("%s: body lacks %q", tc.path, tc.body)
		}
	}
	if rec := get(h, http.MethodPost, "/"); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
	head := get(h, http.MethodHead, "/explorer.wasm", "Accept-Encoding", "gzip")
	full := get(h, http.MethodGet, "/explorer.wasm", "Accept-Encoding", "gzip")
	if head.Body.Len() != 0 || head.Header().Get("Content-Length") != strconv.Itoa(full.Body.Len()) {
		t.Errorf("HEAD: %d bytes of body, Content-Length %s; want none and %d", head.Body.Len(), head.Header().Get("Content-Length"), full.Body.Len())
	}
}

// TestServeCompressesOnce: files are compressed when the handler is made,
// never per request, however many ask at once; a rebuilt module is read
// and compressed again, once.
func TestServeCompressesOnce(t *testing.T) {
	build := testBuild()
	h, err := newDemoHandler(build, true)
	if err != nil {
		t.Fatal(err)
	}
	n := h.assets.compressions.Load()
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			get(h, "GET", "/explorer.wasm", "Accept-Encoding", "gzip")
			get(h, "GET", "/", "Accept-Encoding", "gzip")
		}()
	}
	wg.Wait()
	if got := h.assets.compressions.Load(); got != n {
		t.Errorf("%d compressions after 40 requests; want none beyond the %d at the start", got-n, n)
	}
	build["explorer.wasm"] = &fstest.MapFile{Data: []byte(testWasm + "v2"), ModTime: time.Now()}
	for range 5 {
		rec := get(h, "GET", "/explorer.wasm")
		if !strings.HasSuffix(rec.Body.String(), "v2") {
			t.Fatal("the rebuilt module is not served")
		}
	}
	if got := h.assets.compressions.Load(); got != n+1 {
		t.Errorf("%d compressions after the rebuild; want 1", got-n)
	}
}

// TestServeETag: each form has its own validator; a matching
// If-None-Match gets 304 and no body, a stale one the file.
func TestServeETag(t *testing.T) {
	h := testHandler(t, true)
	plain := get(h, "GET", "/explorer.wasm")
	gz := get(h, "GET", "/explorer.wasm", "Accept-Encoding", "gzip")
	tag, gzTag := plain.Header().Get("ETag"), gz.Header().Get("ETag")
	if tag == "" || gzTag == "" || tag == gzTag || !strings.HasPrefix(tag, `"`) {
		t.Fatalf("ETags %q and %q: want two strong, different ones", tag, gzTag)
	}
	if rec := get(h, "GET", "/explorer.wasm", "If-None-Match", tag); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Errorf("matching If-None-Match: %d, %d bytes", rec.Code, rec.Body.Len())
	}
	if rec := get(h, "GET", "/explorer.wasm", "Accept-Encoding", "gzip", "If-None-Match", `"old", `+gzTag); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match listing the gzip tag: %d", rec.Code)
	}
	if rec := get(h, "GET", "/explorer.wasm", "If-None-Match", `"old"`); rec.Code != 200 || rec.Body.String() != testWasm {
		t.Errorf("stale If-None-Match: %d", rec.Code)
	}
}

// blockingWriter is a client that does not read: Write waits.
type blockingWriter struct {
	*httptest.ResponseRecorder
	release chan struct{}
	started chan struct{}
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	b.started <- struct{}{}
	<-b.release
	return b.ResponseRecorder.Write(p)
}

// TestServeSlowClients: at most maxSending responses are written at
// once; the next client is told to come back, and served once one
// finished.
func TestServeSlowClients(t *testing.T) {
	h := testHandler(t, true)
	release := make(chan struct{})
	started := make(chan struct{}, maxSending)
	var wg sync.WaitGroup
	for range maxSending {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bw := &blockingWriter{httptest.NewRecorder(), release, started}
			req := httptest.NewRequest("GET", "/explorer.wasm", nil)
			req.Host = "127.0.0.1"
			h.ServeHTTP(bw, req)
		}()
	}
	for range maxSending {
		<-started
	}
	rec := get(h, "GET", "/explorer.wasm")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("with %d slow clients: %d, Retry-After %q; want 503 and when to retry", maxSending, rec.Code, rec.Header().Get("Retry-After"))
	}
	close(release)
	wg.Wait()
	if rec := get(h, "GET", "/explorer.wasm"); rec.Code != 200 {
		t.Errorf("after they finished: %d", rec.Code)
	}
}

// TestServeHost: bound to a loopback address, the demo answers only
// requests that name a loopback host (a DNS-rebinding page sends its own
// name); bound to another address, any.
func TestServeHost(t *testing.T) {
	local, open := testHandler(t, true), testHandler(t, false)
	for _, tc := range []struct {
		host string
		ok   bool
	}{
		{"localhost:8080", true}, {"127.0.0.1:8080", true}, {"[::1]:8080", true}, {"LOCALHOST", true},
		{"app.localhost:1", true}, {"127.1.2.3", true},
		{"evil.example:8080", false}, {"evil.example", false}, {"192.168.1.2:8080", false}, {"", false},
		{"localhost.evil.example", false},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Host = tc.host
		rec := httptest.NewRecorder()
		local.ServeHTTP(rec, req)
		if ok := rec.Code == 200; ok != tc.ok {
			t.Errorf("Host %q on a loopback bind: %d", tc.host, rec.Code)
		}
		rec = httptest.NewRecorder()
		open.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Errorf("Host %q on an open bind: %d", tc.host, rec.Code)
		}
	}
}

// TestServeCSP: the policy allows the page's own inline script and style
// (by hash) and WebAssembly, and nothing from elsewhere.
func TestServeCSP(t *testing.T) {
	h := testHandler(t, true)
	csp := get(h, "GET", "/").Header().Get("Content-Security-Policy")
	page, err := io.ReadAll(must(web.FS().Open("index.html")))
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"script", "style"} {
		m := regexp.MustCompile(`(?s)<` + tag + `>(.*?)</` + tag + `>`).FindSubmatch(page)
		if m == nil {
			t.Fatalf("no inline %s in the page", tag)
		}
		sum := sha256.Sum256(m[1])
		if h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, h) {
			t.Errorf("the policy lacks the inline %s's hash %s: %s", tag, h, csp)
		}
	}
	for _, want := range []string{"default-src 'none'", "'wasm-unsafe-eval'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("the policy lacks %q: %s", want, csp)
		}
	}
	for _, bad := range []string{"'unsafe-inline'", "'unsafe-eval'", "*"} {
		if strings.Contains(csp, bad) {
			t.Errorf("the policy has %q: %s", bad, csp)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestServeTimeouts: the server bounds every phase of a connection, and
// an idle keep-alive connection is closed.
func TestServeTimeouts(t *testing.T) {
	srv := newServer(http.NotFoundHandler())
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 {
		t.Fatalf("timeouts %v %v %v %v: want all set", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout)
	}
	srv.IdleTimeout = 200 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("idle connection: %v; want it closed", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("closed after %v", el)
	}
}

// TestServeWarns: a bind to every interface is warned about on stderr;
// a loopback one is not.
func TestServeWarns(t *testing.T) {
	dir := t.TempDir()
	for name, data := range testBuild() {
		if err := os.WriteFile(filepath.Join(dir, name), data.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		addr string
		warn bool
	}{{":0", true}, {"127.0.0.1:0", false}} {
		ctx, cancel := context.WithCancel(context.Background())
		var stdout, stderr bytes.Buffer
		done := make(chan error)
		go func() { done <- serve(ctx, tc.addr, dir, &stdout, &stderr) }()
		time.Sleep(300 * time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("%s: %v", tc.addr, err)
		}
		if got := strings.Contains(stderr.String(), "WARNING") && strings.Contains(stderr.String(), "no authentication"); got != tc.warn {
			t.Errorf("--addr %s: stderr %q", tc.addr, stderr.String())
		}
	}
}

func TestServeNeedsWasm(t *testing.T) {
	err := serve(context.Background(), "127.0.0.1:0", t.TempDir(), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "make wasm") {
		t.Errorf("serve without a build: %v", err)
	}
}
