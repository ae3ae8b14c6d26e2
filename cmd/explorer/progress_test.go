package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestProgressQuietOffTerminal(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, "record", "events", 100)
	if p != nil {
		t.Fatal("progress on a buffer")
	}
	p.Add(1) // a nil progress does nothing
	p.Done()
	if f, err := os.CreateTemp(t.TempDir(), "p"); err == nil {
		if newProgress(f, "record", "events", 0) != nil {
			t.Error("progress on a regular file")
		}
		f.Close()
	}
}

// TestProgressRedraw: redraws happen at most every 100 ms, however often
// Add is called, and Done blanks the line.
func TestProgressRedraw(t *testing.T) {
	var buf bytes.Buffer
	c := &fakeClock{t: time.Unix(1000, 0)}
	p := startProgress(&buf, "record boot", "events", 100000, c.now)
	for range 64 * 10 {
		p.Add(1)
	}
	if buf.Len() != 0 {
		t.Fatalf("drew before 100 ms passed: %q", buf.String())
	}
	// 10 seconds in 1 ms steps, 64 events a step: at most 100 redraws.
	for range 10000 {
		c.t = c.t.Add(time.Millisecond)
		for range 64 {
			p.Add(1)
		}
	}
	draws := strings.Count(buf.String(), "\r")
	if draws < 90 || draws > 101 {
		t.Errorf("%d redraws in 10 s", draws)
	}
	last := buf.String()[strings.LastIndex(buf.String(), "\r")+1:]
	for _, want := range []string{"record boot [", "%", "/100000 events", "/s"} {
		if !strings.Contains(last, want) {
			t.Errorf("line %q does not show %q", last, want)
		}
	}
	buf.Reset()
	p.Done()
	if s := buf.String(); !strings.HasPrefix(s, "\r ") || !strings.HasSuffix(s, "\r") || strings.TrimSpace(s) != "" {
		t.Errorf("Done wrote %q, want the line blanked", s)
	}
}

func TestProgressLine(t *testing.T) {
	c := &fakeClock{t: time.Unix(0, 0)}
	p := startProgress(nil, "record multiprocess", "events", 100000, c.now)
	p.done = 25000
	c.t = c.t.Add(10 * time.Second)
	if got, want := p.line(c.t), "record multiprocess [#####...............]  25%  25000/100000 events  2.5k/s  ETA 0:30"; got != want {
		t.Errorf("line\n got %q\nwant %q", got, want)
	}
	p = startProgress(nil, "record boot", "events", 0, c.now)
	p.done = 3000000
	if got, want := p.line(c.t.Add(2*time.Second)), "record boot  3000000 events  1.5M/s"; got != want {
		t.Errorf("line without a total\n got %q\nwant %q", got, want)
	}
}

func TestProgressFormats(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{{0, "0"}, {950, "950"}, {12345, "12.3k"}, {1234567, "1.23M"}} {
		if got := humanCount(tc.v); got != tc.want {
			t.Errorf("humanCount(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{0, "0:00"}, {59 * time.Second, "0:59"}, {61500 * time.Millisecond, "1:02"}, {3*time.Hour + 4*time.Minute + 5*time.Second, "3:04:05"}} {
		if got := clock(tc.d); got != tc.want {
			t.Errorf("clock(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
