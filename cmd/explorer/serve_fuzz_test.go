package main

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// FuzzServe sends arbitrary requests (method, path, Host and the headers
// the handler reads) to the demo handler: it never panics, answers with
// one of the statuses it means to, never serves a file it does not hold
// (no path leads out of its table), and a 200 carries a Content-Length
// that is the body's length and a Content-Security-Policy.
func FuzzServe(f *testing.F) {
	for _, s := range [][5]string{
		{"GET", "/", "localhost:8080", "gzip", ""},
		{"GET", "/explorer.wasm", "127.0.0.1", "gzip;q=0", `"x"`},
		{"HEAD", "/traces/modes.txt", "[::1]:1", "", "*"},
		{"GET", "/../../etc/passwd", "evil.example", "", ""},
		{"POST", "/traces/", "localhost", "br, gzip", "W/\"a\", \"b\""},
		{"GET", "/%2e%2e/web.go", "localhost", "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], true)
	}
	h, err := newDemoHandler(testBuild(), true)
	if err != nil {
		f.Fatal(err)
	}
	open, err := newDemoHandler(testBuild(), false)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, path, host, enc, inm string, loopback bool) {
		req, err := http.NewRequest(method, "http://x/", nil)
		if err != nil {
			return // not a method a client could send
		}
		req.URL.Path = path
		req.Host = host
		req.Header.Set("Accept-Encoding", enc)
		req.Header.Set("If-None-Match", inm)
		rec := httptest.NewRecorder()
		hd := h
		if !loopback {
			hd = open
		}
		hd.ServeHTTP(rec, req)
		switch rec.Code {
		case 200:
			if cl := rec.Header().Get("Content-Length"); cl != "" && cl != strconv.Itoa(rec.Body.Len()) && method != "HEAD" {
				t.Fatalf("%s %q: Content-Length %s, body %d bytes", method, path, cl, rec.Body.Len())
			}
			if rec.Header().Get("Content-Security-Policy") == "" {
				t.Fatalf("%s %q: no Content-Security-Policy", method, path)
			}
			if loopback && !loopbackHost(host) {
				t.Fatalf("%s %q served to Host %q", method, path, host)
			}
		case 304:
			if rec.Body.Len() != 0 || inm == "" {
				t.Fatalf("304 with a body, or without If-None-Match %q", inm)
			}
		case 404, 405, 421:
		default:
			t.Fatalf("%s %q (Host %q): status %d", method, path, host, rec.Code)
		}
		if strings.Contains(rec.Body.String(), "package main") || strings.Contains(rec.Body.String(), "root:") {
			t.Fatalf("%s %q: served something outside the demo", method, path)
		}
	})
}
