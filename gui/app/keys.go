package app

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/traces/workload"
	"github.com/pgm-explorer/pgm-explorer/viz"
)

// KeyHelp lists the keys, for the help overlay and the README.
var KeyHelp = [][2]string{
	{"space", "play / pause"},
	{"→  ←", "step one event forward / back"},
	{"f  m  n", "run to the next fault / mode change / label (tour: step)"},
	{"F  M  p", "back to the previous fault / mode change / label"},
	{"Home  End", "go to the start / the end"},
	{"[  ]", "slower / faster (1 event/s up to flat out)"},
	{"g", "go to an event number or a label's text"},
	{"/", "type a virtual address to follow"},
	{"a", "hot spots: top addresses, pages, address spaces, paths, pool pages…; a row marks its events and the walk follows it"},
	{"v", "compare side by side with another configuration (paging=nested, pool=64, …): both walks, pools, statistics, cost; v closes"},
	{"d", "what changed: mark this moment, move elsewhere: changed entries outlined, statistics' deltas; d again forgets it"},
	{"s  ,  .", "search: a filter (path==sync-page, op==w && !ok, …) marks its matches on the timeline; previous / next match"},
	{"click", "an entry or an event selects its address; the timeline seeks (drag it)"},
	{"Tab  Enter", "move the focus ring over buttons, events, walk levels, statistics; Enter clicks"},
	{"Esc", "follow the last access again; close what is open"},
	{viewKeys(), "views: " + strings.Join(viz.ViewNames(), ", ")},
	{"o", "scenarios: tour, sample traces, workloads, a file; host mode, paging, pool"},
	{"t", "the tour's explanations on / off"},
	{"PgUp PgDn", "scroll the tour's explanation"},
	{"e  c  j", "export the view as PNG, the statistics as CSV / JSON"},
	{"x  X", "a question about the next access: predict, then see; the tour's questions on / off"},
	{"w  W  k", "what if: change an entry of the walk here (a branch) / back to the original / save the branch"},
	{"?", "this help"},
}

// viewKeys is "1 2 … N" for the views viz has.
func viewKeys() string {
	var k []string
	for i := range viz.ViewNames() {
		k = append(k, strconv.Itoa(i+1))
	}
	return strings.Join(k, " ")
}

// prompt is a line of text being typed.
type prompt struct {
	kind  promptKind
	text  string
	title string
	hint  string
	err   string
	// errCol is the 1-based column of the text the error is about (a
	// search's filter), 0 for none.
	errCol int
	wl     string // promptParams: the workload
}

type promptKind uint8

const (
	promptGoTo promptKind = iota
	promptVA
	promptPath
	promptParams
	promptWhatIf
	promptSearch
	promptCompare
)

func (a *App) openPrompt(k promptKind) {
	pr := &prompt{kind: k}
	switch k {
	case promptGoTo:
		pr.title = "Go to an event number, or a label containing…"
		pr.hint = "Enter to go · Esc to cancel"
		if a.p.totalKnown {
			pr.hint = fmt.Sprintf("events 0 to %d · Enter to go · Esc to cancel", a.p.total)
		}
	case promptVA:
		pr.title = "Follow the virtual address (hexadecimal)"
		pr.hint = "e.g. 400000 or 0xffff800000400010 · Enter to select · Esc to cancel"
	case promptPath:
		pr.title = "Open the trace file at the path"
		pr.hint = "a text (.txt) or binary (.pgmt) trace · Enter to open · Esc to cancel"
	case promptCompare:
		pr.title = "Compare side by side with the configuration…"
		pr.hint = "as explorer compare --b takes: paging=nested · pool=64 · host=amd64 · dirty-pt=on (comma-separated) · Enter · Esc"
	case promptSearch:
		pr.title = "Search the trace: a filter, as explorer replay --where takes"
		pr.hint = "e.g. path==sync-page · op==w && !ok · gva in 0x400000..0x500000 · as==0x213000 · Enter · empty: no search · Esc"
	}
	a.prompt, a.help, a.picker = pr, false, nil
	a.dirty = true
}

func (a *App) submitPrompt() {
	pr := a.prompt
	var err error
	switch pr.kind {
	case promptGoTo:
		err = a.GoTo(pr.text)
	case promptVA:
		va, perr := ParseVA(pr.text)
		if err = perr; err == nil {
			a.Select(va)
		}
	case promptPath:
		st := a.State()
		st.Source = Source{File: strings.TrimSpace(pr.text)}
		st.Event, st.HasVA = 0, false
		err = a.Open(st)
	case promptParams:
		err = a.openWorkload(pr.wl, pr.text)
	case promptWhatIf:
		err = a.WhatIf(pr.text)
	case promptSearch:
		err = a.SetSearch(pr.text)
	case promptCompare:
		err = a.Compare(strings.TrimSpace(pr.text))
	}
	if err != nil {
		searchPromptErr(pr, err)
		a.err = ""
		a.dirty = true
		return
	}
	a.prompt = nil
	a.dirty = true
}

// openWorkload opens a workload from "seed=N k=v ...".
func (a *App) openWorkload(name, args string) error {
	src := Source{Workload: name, Seed: 1}
	for _, f := range strings.Fields(args) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return fmt.Errorf("%q: want NAME=VALUE", f)
		}
		if k == "seed" {
			n, err := strconv.ParseUint(v, 0, 64)
			if err != nil {
				return fmt.Errorf("seed %q is not a number", v)
			}
			src.Seed = n
			continue
		}
		if src.Params == nil {
			src.Params = map[string]string{}
		}
		src.Params[k] = v
	}
	// Build it once here so that a bad parameter is reported in the
	// prompt rather than after the old source is gone.
	w, err := workload.New(name, src.Seed, src.Params)
	if err != nil {
		return err
	}
	w.Close()
	st := a.State()
	st.Source, st.Event, st.HasVA = src, 0, false
	st.Overrides = Overrides{}
	return a.Open(st)
}

func (a *App) key(k Key, shift bool) {
	if a.quizKey(k) {
		return
	}
	if a.prompt != nil {
		switch k {
		case KeyEscape:
			a.prompt = nil
		case KeyEnter:
			a.submitPrompt()
		case KeyBackspace:
			if r := []rune(a.prompt.text); len(r) > 0 {
				a.prompt.text = string(r[:len(r)-1])
			}
			a.prompt.err, a.prompt.errCol = "", 0
		}
		a.dirty = true
		return
	}
	if a.picker != nil {
		a.pickerKey(k)
		return
	}
	if a.hotKey(k) {
		return
	}
	switch k {
	case KeyTab:
		if shift {
			a.MoveFocus(-1)
		} else {
			a.MoveFocus(1)
		}
	case KeyEnter:
		a.activateFocus()
	case KeyEscape:
		switch {
		case a.focus >= 0:
			a.focus = -1
			a.hoverOK, a.gloss = false, ""
		case a.help:
			a.help = false
		case a.err != "":
			a.err = ""
		default:
			a.Unselect()
		}
		a.dirty = true
	case KeyRight:
		if shift {
			a.StepUntil(UntilLabel)
		} else {
			a.Step(1)
		}
	case KeyLeft:
		if shift {
			a.PrevLabel()
		} else {
			a.Step(-1)
		}
	case KeyHome:
		a.Seek(0)
	case KeyEnd:
		if a.p.totalKnown {
			a.Seek(a.p.total)
		} else {
			a.notify("a live workload has no end to go to")
		}
	case KeyF1:
		a.ToggleHelp()
	case KeyPageUp:
		a.ScrollTour(-2)
	case KeyPageDown:
		a.ScrollTour(2)
	}
}

func (a *App) char(r rune) {
	// Control characters stand for their keys (scripts type them).
	switch r {
	case '\r', '\n':
		a.key(KeyEnter, false)
		return
	case 0x1b:
		a.key(KeyEscape, false)
		return
	case '\b', 0x7f:
		a.key(KeyBackspace, false)
		return
	}
	if a.quizChar(r) {
		return
	}
	if a.prompt != nil {
		if r >= ' ' && r != 0x7f && len(a.prompt.text) < 200 {
			a.prompt.text += string(r)
			a.prompt.err, a.prompt.errCol = "", 0
			a.dirty = true
		}
		return
	}
	if a.picker != nil {
		switch r {
		case 'o', 'q':
			a.picker = nil
			a.dirty = true
		case 'v':
			a.compareWithPicker()
		}
		return
	}
	switch r {
	case ' ':
		a.TogglePlay()
	case '[':
		a.Slower()
	case ']':
		a.Faster()
	case 'f':
		a.StepUntil(UntilFault)
	case 'm':
		a.StepUntil(UntilMode)
	case 'n':
		a.StepUntil(UntilLabel)
	case 'p':
		a.PrevLabel()
	case 'F':
		a.PrevFault()
	case 'x':
		a.Ask()
	case 'X':
		a.exercises = !a.exercises
		if a.exercises {
			a.notify("the tour asks before it shows, at its question steps (X: off)")
		} else {
			a.notify("the tour shows without asking (X: on)")
		}
	case 'w':
		a.openWhatIf()
	case 'W':
		a.WhatIfBack()
	case 'k':
		a.SaveBranch()
	case 'M':
		a.PrevMode()
	case 'g':
		a.openPrompt(promptGoTo)
	case '/':
		a.openPrompt(promptVA)
	case 's':
		a.openSearch()
	case 'a':
		a.ToggleHotSpots()
	case 'd':
		a.MarkMoment()
	case 'v':
		a.openCompare()
	case 'r':
		if a.ins.hot != nil {
			a.cycleHotSort()
		}
	case '.':
		a.NextMatch(1)
	case ',':
		a.NextMatch(-1)
	case '?', 'h':
		a.ToggleHelp()
	case 'o':
		a.openPicker()
	case 't':
		a.ToggleTour()
	case 'e':
		a.ExportPNG()
	case 'c':
		a.ExportStats("csv")
	case 'j':
		a.ExportStats("json")
	default:
		if r >= '1' && r <= '9' {
			if v := int(r - '1'); v < len(viz.ViewNames()) {
				a.SetView(viz.View(v))
			}
		}
	}
}

// openWhatIf asks how to change the selected entry of the walk.
func (a *App) openWhatIf() {
	st, _, err := a.whatIfTarget()
	if err != nil {
		a.notify("what if: " + err.Error())
		return
	}
	a.openPrompt(promptWhatIf)
	a.prompt.title = fmt.Sprintf("What if the guest's %v entry at %#x (now %#x) were…", st.Level, uint64(st.EntryAddr), uint64(st.Entry))
	a.prompt.hint = "flip P W U X S (one or more), or frame 0x203000 · a branch of the replay; the original stays · Enter · Esc"
	a.prompt.text = "flip W"
}

// OpenFile asks for a trace file: the platform's file picker (the
// browser's), else a prompt for its path.
func (a *App) OpenFile() {
	a.picker, a.help = nil, false
	if !a.host.PickFile() {
		a.openPrompt(promptPath)
	}
	a.dirty = true
}
