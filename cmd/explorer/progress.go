package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progress is a one-line progress report on a terminal: how many events
// are done, how fast, and with a known total a bar and the time left. It
// redraws at most every progressEvery, and only when its writer is a
// terminal: a nil *progress (what newProgress returns otherwise) does
// nothing, so callers need no test of their own.
type progress struct {
	w     io.Writer
	what  string // the work, e.g. "record multiprocess"
	unit  string // what is counted, e.g. "events"
	total uint64 // 0: unknown
	done  uint64
	now   func() time.Time
	start time.Time
	last  time.Time // last redraw
	calls uint32    // Add calls since the clock was last read
	width int       // length of the line on screen, to blank it
}

// progressEvery bounds the redraw rate (10 a second).
const progressEvery = 100 * time.Millisecond

// newProgress returns a progress line on w when w is a terminal, nil
// otherwise. total is the expected count, 0 when unknown.
func newProgress(w io.Writer, what, unit string, total uint64) *progress {
	if !isTerminal(w) {
		return nil
	}
	return startProgress(w, what, unit, total, time.Now)
}

func startProgress(w io.Writer, what, unit string, total uint64, now func() time.Time) *progress {
	t := now()
	return &progress{w: w, what: what, unit: unit, total: total, now: now, start: t, last: t}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Add counts n more units. It is cheap: the clock is read once every 64
// calls, the line redrawn at most every progressEvery.
func (p *progress) Add(n uint64) {
	if p == nil {
		return
	}
	p.done += n
	if p.calls++; p.calls < 64 {
		return
	}
	p.calls = 0
	if t := p.now(); t.Sub(p.last) >= progressEvery {
		p.last = t
		p.draw(p.line(t))
	}
}

// Done erases the line, so that what is printed next starts clean.
func (p *progress) Done() {
	if p == nil || p.width == 0 {
		return
	}
	fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
	p.width = 0
}

func (p *progress) draw(s string) {
	pad := ""
	if len(s) < p.width {
		pad = strings.Repeat(" ", p.width-len(s))
	}
	fmt.Fprintf(p.w, "\r%s%s", s, pad)
	p.width = len(s)
}

// line renders the report as of t, e.g.
// "record multiprocess [#####.....]  50%  50000/100000 events  1.2M/s  ETA 0:41".
func (p *progress) line(t time.Time) string {
	elapsed := t.Sub(p.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(p.done) / elapsed
	}
	var b strings.Builder
	b.WriteString(p.what)
	if p.total > 0 {
		frac := min(1, float64(p.done)/float64(p.total))
		const width = 20
		fill := int(frac * width)
		fmt.Fprintf(&b, " [%s%s] %3.0f%%  %d/%d %s", strings.Repeat("#", fill), strings.Repeat(".", width-fill),
			100*frac, p.done, p.total, p.unit)
	} else {
		fmt.Fprintf(&b, "  %d %s", p.done, p.unit)
	}
	fmt.Fprintf(&b, "  %s/s", humanCount(rate))
	if p.total > 0 && rate > 0 && p.done < p.total {
		left := time.Duration(float64(p.total-p.done) / rate * float64(time.Second))
		fmt.Fprintf(&b, "  ETA %s", clock(left))
	}
	return b.String()
}

// humanCount prints a rate with a k or M suffix: 950, 12.3k, 1.23M.
func humanCount(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.3gk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// clock prints a duration as m:ss or h:mm:ss.
func clock(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
