// Package app is the interactive explorer without its window: what is
// shown, the replay and its controls, the overlays, the guided tour and
// the state a URL carries. It does not import Ebiten, so that every bit of
// behaviour can be tested headlessly; package gui connects it to a window
// (desktop) or a canvas (browser).
package app

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/traces/samples"
	"github.com/pgm-explorer/pgm-explorer/traces/session"
	"github.com/pgm-explorer/pgm-explorer/traces/workload"
	"github.com/pgm-explorer/pgm-explorer/viz"
)

// Source says where the events come from: exactly one of Sample,
// Workload, File and Events is set.
type Source struct {
	Sample   string            // an embedded sample trace, by file name
	Workload string            // a live workload, by registry name
	Seed     uint64            // the workload's seed
	Params   map[string]string // the workload's parameters (defaults omitted)
	File     string            // a trace file: a path (native) or the name of a file read locally (browser)
	Data     []byte            // the file's contents when it was read into memory; nil: read File from disk
	Events   *EventList        // events computed up front (a live x86 guest); a link names them only
}

// Overrides replace parts of the trace header, to compare configurations
// on the same guest: the replay session's (links carry host, paging and
// pool). Zero values keep the header's.
type Overrides = session.Overrides

// Name is what the title shows.
func (s Source) Name() string {
	switch {
	case s.Events != nil:
		return s.Events.Title
	case s.Sample != "":
		return s.Sample
	case s.Workload != "":
		return fmt.Sprintf("%s (seed %d)", s.Workload, s.Seed)
	case s.File != "":
		return s.File
	}
	return "nothing"
}

// Validate checks that exactly one source is named and that it exists.
func (s Source) Validate() error {
	n := 0
	for _, v := range []string{s.Sample, s.Workload, s.File} {
		if v != "" {
			n++
		}
	}
	if s.Events != nil {
		n++
	}
	switch {
	case n == 0:
		return fmt.Errorf("no source: name a sample trace, a workload or a trace file")
	case n > 1:
		return fmt.Errorf("more than one source: give only one of a sample, a workload, a file and a list of events")
	case s.Sample != "":
		if !slices.Contains(samples.Names(), s.Sample) {
			return fmt.Errorf("no sample trace %q (want one of %s)", s.Sample, strings.Join(samples.Names(), ", "))
		}
	case s.Workload != "":
		if _, err := workload.Describe(s.Workload); err != nil {
			return err
		}
	}
	return nil
}

// State is what a link reopens: the source, the configuration, the
// moment, the selection and the view.
type State struct {
	Source
	Overrides
	Event uint64 // events applied (the index of the next)
	VA    x86.GVA
	HasVA bool
	View  viz.View
	Score Score // the exercises answered (right of asked)
}

// Encode writes s as the fragment of a URL (without '#'): short keys in
// a fixed order, so that the same state gives the same link. File
// sources are written by name only: the browser cannot reopen a file the
// user dropped, and Decode reports that. So are lists of events, which
// only the program that computed them holds.
func (s State) Encode() string {
	var b strings.Builder
	add := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(v))
	}
	switch {
	case s.Sample != "":
		add("trace", s.Sample)
	case s.Workload != "":
		add("workload", s.Workload)
		add("seed", strconv.FormatUint(s.Seed, 10))
		for _, k := range slices.Sorted(maps.Keys(s.Params)) {
			add("p."+k, s.Params[k])
		}
	case s.File != "":
		add("file", s.File)
	case s.Events != nil:
		add("events", s.Events.Name)
	}
	if s.Host != engine.HostInvalid {
		add("host", s.Host.TraceName())
	}
	if s.PagingSet {
		add("paging", s.Paging.String())
	}
	if s.Pool != 0 {
		add("pool", strconv.Itoa(s.Pool))
	}
	add("event", strconv.FormatUint(s.Event, 10))
	if s.HasVA {
		add("va", "0x"+strconv.FormatUint(uint64(s.VA), 16))
	}
	add("view", s.View.String())
	if s.Score.Asked > 0 {
		add("quiz", strconv.Itoa(s.Score.Right)+"/"+strconv.Itoa(s.Score.Asked))
	}
	return b.String()
}

// DecodeState reads a URL fragment (with or without '#'). Unknown keys are
// ignored, so that links from later versions still open; bad values are
// errors that name the key. A missing source is not an error: the caller
// picks its default.
func DecodeState(frag string) (State, error) {
	var s State
	frag = strings.TrimPrefix(frag, "#")
	if frag == "" {
		return s, nil
	}
	q, err := url.ParseQuery(frag)
	if err != nil {
		return s, fmt.Errorf("link state: %v", err)
	}
	get := func(k string) (string, bool) {
		v, ok := q[k]
		if !ok || len(v) == 0 {
			return "", false
		}
		return v[len(v)-1], true
	}
	if v, ok := get("trace"); ok {
		s.Sample = v
	}
	if v, ok := get("workload"); ok {
		s.Workload = v
		for k, vs := range q {
			if p, ok := strings.CutPrefix(k, "p."); ok && len(vs) > 0 {
				if s.Params == nil {
					s.Params = map[string]string{}
				}
				s.Params[p] = vs[len(vs)-1]
			}
		}
	}
	if v, ok := get("file"); ok {
		s.File = v
	}
	if v, ok := get("events"); ok {
		// Say so rather than open the default in its place: the events
		// were computed by the program that made the link (a live x86
		// guest of the desktop window) and are not in the link.
		return s, fmt.Errorf("link state: the events of %q were held by the program that made this link and cannot be reopened from it (record them with `explorer record` and open the trace)", v)
	}
	if v, ok := get("seed"); ok {
		if s.Seed, err = strconv.ParseUint(v, 0, 64); err != nil {
			return s, fmt.Errorf("link state: seed %q is not a number", v)
		}
	}
	if v, ok := get("host"); ok {
		if s.Host, err = engine.ParseHostMode(v); err != nil {
			return s, fmt.Errorf("link state: %v", err)
		}
	}
	if v, ok := get("paging"); ok {
		if s.Paging, err = engine.ParsePaging(v); err != nil {
			return s, fmt.Errorf("link state: %v", err)
		}
		s.PagingSet = true
	}
	if v, ok := get("pool"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < engine.MinPoolPages || n > engine.MaxPoolPages {
			return s, fmt.Errorf("link state: pool %q is not a number of pages in %d..%d", v, engine.MinPoolPages, engine.MaxPoolPages)
		}
		s.Pool = n
	}
	if v, ok := get("event"); ok {
		if s.Event, err = strconv.ParseUint(v, 0, 64); err != nil {
			return s, fmt.Errorf("link state: event %q is not a number", v)
		}
	}
	if v, ok := get("va"); ok {
		va, err := ParseVA(v)
		if err != nil {
			return s, fmt.Errorf("link state: %v", err)
		}
		s.VA, s.HasVA = va, true
	}
	if v, ok := get("view"); ok {
		if s.View, err = viz.ParseView(v); err != nil {
			return s, fmt.Errorf("link state: %v", err)
		}
	}
	if v, ok := get("quiz"); ok {
		r, n, _ := strings.Cut(v, "/")
		right, err1 := strconv.Atoi(r)
		asked, err2 := strconv.Atoi(n)
		if err1 != nil || err2 != nil || right < 0 || right > asked {
			return s, fmt.Errorf("link state: quiz %q is not RIGHT/ASKED", v)
		}
		s.Score = Score{right, asked}
	}
	return s, nil
}

// ParseVA reads a virtual address: hexadecimal with or without 0x (as the
// panels show them), underscores and apostrophes allowed as separators,
// or decimal with a 0d prefix.
func ParseVA(s string) (x86.GVA, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.NewReplacer("_", "", "'", "", "`", "").Replace(t)
	base := 16
	switch {
	case strings.HasPrefix(t, "0x"):
		t = t[2:]
	case strings.HasPrefix(t, "0d"):
		t, base = t[2:], 10
	}
	if t == "" {
		return 0, fmt.Errorf("address %q: empty", s)
	}
	v, err := strconv.ParseUint(t, base, 64)
	if err != nil {
		return 0, fmt.Errorf("address %q: not a hexadecimal number of at most 64 bits", s)
	}
	return x86.GVA(v), nil
}
