package app

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/analysis"
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/viz"
)

// MaxMatches bounds the matches the window keeps of a search: past it
// they are counted, not kept (and not marked), so a search that
// matches every event of a billion-event trace costs what 100 000 do.
const MaxMatches = 100_000

// searchBox is a search over the trace: a filter expression (the
// language of `explorer replay --where`) and what the scan found.
type searchBox struct {
	expr  string
	title string // shown before the count: "search", or the hot spot's name
	f     *analysis.Filter
	// key, when f is nil: the events a hot spot row counts, by key
	// (guest tables and pool pages, which no filter names).
	key   *hotKey
	s     finder
	marks viz.Marks
}

// hotKey is a hot spot row: its key of a kind.
type hotKey struct {
	by  analysis.KeyKind
	key uint64
}

// finder is what a search keeps: analysis.Search for a filter, or
// keyFinder for a hot spot's key.
type finder interface {
	Add(o *engine.Outcome) bool
	Matches() []uint64
	Truncated() bool
	Next(i uint64) (uint64, bool)
	Prev(i uint64) (uint64, bool)
	count() uint64
}

type filterFinder struct{ *analysis.Search }

func (f filterFinder) count() uint64 { return f.Total }

func (b *searchBox) reset(eng engine.Engine) {
	if b.key != nil {
		b.s = newKeyFinder(eng, *b.key)
		return
	}
	b.s = filterFinder{analysis.NewSearch(b.f, MaxMatches, eng)}
}

func (b *searchBox) add(o *engine.Outcome) { b.s.Add(o) }

// SetSearch searches for a filter expression and marks its matches on
// the timeline; "" ends the search. A bad expression is an error with
// its column (*analysis.ParseError) and leaves the search as it was.
func (a *App) SetSearch(expr string) error {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		a.ClearSearch()
		return nil
	}
	f, err := analysis.Parse(expr)
	if err != nil {
		return err
	}
	a.setSearch(&searchBox{expr: expr, title: "search", f: f})
	return nil
}

func (a *App) setSearch(b *searchBox) {
	a.ins.search = b
	a.ins.restart(scanSearch)
	a.dirty = true
}

// ClearSearch ends the search and its marks.
func (a *App) ClearSearch() {
	a.ins.search = nil
	a.ins.restart(scanSearch)
	a.dirty = true
}

// SearchMatches are the matches kept so far and how many there are in
// all (the scan may still be going: see the timeline's text).
func (a *App) SearchMatches() (kept []uint64, total uint64) {
	if b := a.ins.search; b != nil && b.s != nil {
		return b.s.Matches(), b.s.count()
	}
	return nil, 0
}

// NextMatch goes to the next match of the search (dir > 0) or the
// previous one: to the moment just after the matching event, so that
// its outcome is the latest and the walk shows its address.
func (a *App) NextMatch(dir int) {
	b := a.ins.search
	if b == nil || b.s == nil {
		a.notify("no search: press s and type a filter, e.g. path==sync-page")
		return
	}
	a.p.playing = false
	// The event shown is the one applied last: pos-1.
	cur := a.p.pos()
	var n uint64
	var ok bool
	if dir > 0 {
		if cur == 0 {
			ms := b.s.Matches()
			n, ok = firstOf(ms)
		} else {
			n, ok = b.s.Next(cur - 1)
		}
	} else if cur > 0 {
		n, ok = b.s.Prev(cur - 1)
	}
	if !ok {
		a.notify(a.noMatch(dir))
		return
	}
	a.seek(n + 1)
}

func firstOf(ms []uint64) (uint64, bool) {
	if len(ms) == 0 {
		return 0, false
	}
	return ms[0], true
}

func (a *App) noMatch(dir int) string {
	b := a.ins.search
	_, done := a.ins.scanned(scanSearch)
	switch {
	case dir < 0:
		return "no earlier match"
	case b.s.Truncated():
		return fmt.Sprintf("no further match kept (the first %d of %d are)", len(b.s.Matches()), b.s.count())
	case !done:
		return "no further match yet: the search is still going"
	}
	return "no further match"
}

// searchMarks are the timeline's marks for the search, or nil.
func (a *App) searchMarks() *viz.Marks {
	b := a.ins.search
	if b == nil || b.s == nil {
		return nil
	}
	n, done := a.ins.scanned(scanSearch)
	m := &b.marks
	m.Events, m.Scanned, m.Done = b.s.Matches(), n, done
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s %s: %d match", b.title, b.expr, b.s.count())
	if b.s.count() != 1 {
		sb.WriteString("es")
	}
	if b.s.Truncated() {
		fmt.Fprintf(&sb, " (the first %d marked)", len(b.s.Matches()))
	}
	switch {
	case done:
		fmt.Fprintf(&sb, " in all %d events", n)
	case a.ins.scans[scanSearch] != nil && !a.ins.scans[scanSearch].finite():
		fmt.Fprintf(&sb, " in the %d events replayed so far", n)
	default:
		fmt.Fprintf(&sb, " in the first %d events (searching…)", n)
	}
	sb.WriteString(" · , . previous / next")
	m.Text = sb.String()
	return m
}

// openSearch asks for a filter expression.
func (a *App) openSearch() {
	a.openPrompt(promptSearch)
	if b := a.ins.search; b != nil && b.title == "search" {
		a.prompt.text = b.expr
	}
}

// searchPromptErr reports a bad expression in the prompt, with the
// column it points at.
func searchPromptErr(pr *prompt, err error) {
	pr.err, pr.errCol = err.Error(), 0
	var pe *analysis.ParseError
	if errors.As(err, &pe) {
		pr.errCol = pe.Col
	}
}
