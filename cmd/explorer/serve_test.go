package main

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestServeDemo(t *testing.T) {
	wasm := strings.Repeat("\x00asm", 4096)
	h := newDemoHandler(fstest.MapFS{"explorer.wasm": {Data: []byte(wasm)}, "wasm_exec.js": {Data: []byte("// go")}})
	for _, tc := range []struct {
		path, ctype string
		gzip        bool
		status      int
		body        string
	}{
		{"/", "text/html", true, 200, "<title>PGM Explorer</title>"},
		{"/explorer.wasm", "application/wasm", true, 200, wasm},
		{"/explorer.wasm", "application/wasm", false, 200, wasm},
		{"/traces/modes.txt", "text/plain", true, 200, "pgmtrace 1"},
		{"/traces/", "text/plain", false, 200, "modes-tour.txt"},
		{"/nothing", "", false, 404, ""},
		{"/../../etc/passwd", "", false, 404, ""},
	} {
		req := httptest.NewRequest("GET", tc.path, nil)
		if tc.gzip {
			req.Header.Set("Accept-Encoding", "gzip, deflate")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
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
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
}

func TestServeNeedsWasm(t *testing.T) {
	err := serve("127.0.0.1:0", t.TempDir(), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "make wasm") {
		t.Errorf("serve without a build: %v", err)
	}
}
