//go:build !js

// The report writers (JSON, CSV, tables, Perfetto) are for the CLI:
// left out of the browser build, whose download they would grow by a
// megabyte (encoding/json and its reflection).

package analysis

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Write prints the diff in format f (one of Formats); a table shows at
// most limit lines per section (0: all).
func (d *DiffReport) Write(w io.Writer, f string, limit int) error {
	switch f {
	case "csv":
		return d.WriteCSV(w)
	case "json":
		return d.WriteJSON(w)
	}
	return d.WriteTable(w, limit)
}

func entryText(e x86.Entry) string {
	if e == 0 {
		return "-"
	}
	return fmt.Sprintf("%#x %s", uint64(e), e.FlagString())
}

// WriteTable prints the diff for people.
func (d *DiffReport) WriteTable(w io.Writer, limit int) error {
	fmt.Fprintf(w, "from event %d to event %d (%d events)\n", d.From, d.To, d.To-d.From)
	if len(d.Regs) > 0 {
		fmt.Fprintln(w, "\nregisters:")
		for _, r := range d.Regs {
			fmt.Fprintf(w, "  %-5s %s -> %s\n", r.Name, r.From, r.To)
		}
	}
	if len(d.Controls) > 0 {
		fmt.Fprintf(w, "\ncontrol-register writes: %d\n", uint64(len(d.Controls))+d.MoreCtl)
		for i, c := range d.Controls {
			if limit > 0 && i == limit {
				fmt.Fprintf(w, "  ... and %d more\n", uint64(len(d.Controls)-i)+d.MoreCtl)
				break
			}
			mc := ""
			if c.ModeChange {
				mc = "  (paging mode changed)"
			}
			fmt.Fprintf(w, "  %8d  %s %#x%s\n", c.Index, c.Op, c.Value, mc)
		}
	}
	fmt.Fprintf(w, "\nguest page tables: %d address spaces walked", len(d.Spaces))
	if len(d.Truncated) > 0 {
		fmt.Fprintf(w, " (%d cut short by --budget)", len(d.Truncated))
	}
	fmt.Fprintln(w)
	for _, as := range d.Spaces {
		var cs []EntryChange
		for _, c := range d.Guest {
			if c.Key.AS == as {
				cs = append(cs, c)
			}
		}
		a, r, c := Count(cs)
		fmt.Fprintf(w, "  as %#x: %d added, %d removed, %d changed\n", as, a, r, c)
		writeEntries(w, cs, limit, false)
	}
	name := "shadow"
	if d.Paging != 0 {
		name = "nested"
	}
	a, r, c := Count(d.Shadow)
	fmt.Fprintf(w, "\n%s tables: %d added, %d removed, %d changed\n", name, a, r, c)
	writeEntries(w, d.Shadow, limit, true)
	var alloc, freed, reused int
	for _, p := range d.Pool {
		switch p.Op {
		case Added:
			alloc++
		case Removed:
			freed++
		default:
			reused++
		}
	}
	fmt.Fprintf(w, "\npool: %d pages taken into use, %d freed, %d reused for another table\n", alloc, freed, reused)
	for i, p := range d.Pool {
		if limit > 0 && i == limit {
			fmt.Fprintf(w, "  ... and %d more\n", len(d.Pool)-i)
			break
		}
		switch p.Op {
		case Added:
			fmt.Fprintf(w, "  + #%-5d %-14s for %#x (allocated at event %d)\n", p.Index, p.New.Kind, uint64(p.New.Key), p.New.AllocatedAt-1)
		case Removed:
			fmt.Fprintf(w, "  - #%-5d %-14s for %#x\n", p.Index, p.Old.Kind, uint64(p.Old.Key))
		default:
			fmt.Fprintf(w, "  ~ #%-5d %-14s for %#x -> %s for %#x (at event %d)\n", p.Index, p.Old.Kind, uint64(p.Old.Key),
				p.New.Kind, uint64(p.New.Key), p.New.AllocatedAt-1)
		}
	}
	fmt.Fprintf(w, "\nstatistics: %d changed\n", len(d.Stats))
	for i, s := range d.Stats {
		if limit > 0 && i == limit {
			fmt.Fprintf(w, "  ... and %d more\n", len(d.Stats)-i)
			break
		}
		fmt.Fprintf(w, "  %-48s %12d -> %-12d %+d\n", s.Name, s.From, s.To, int64(s.To-s.From))
	}
	return nil
}

func writeEntries(w io.Writer, cs []EntryChange, limit int, shadow bool) {
	for i, c := range cs {
		if limit > 0 && i == limit {
			fmt.Fprintf(w, "    ... and %d more\n", len(cs)-i)
			return
		}
		fmt.Fprintf(w, "    %c %-5s %#18x  ", c.Op, c.Level, uint64(c.Key.VA))
		switch c.Op {
		case Added:
			fmt.Fprintf(w, "%s", entryText(c.New))
		case Removed:
			fmt.Fprintf(w, "%s", entryText(c.Old))
		default:
			fmt.Fprintf(w, "%s -> %s", entryText(c.Old), entryText(c.New))
		}
		if shadow && c.Op != Removed && c.NewGPA != 0 {
			fmt.Fprintf(w, "  (guest page %#x, %s)", uint64(c.NewGPA), c.Kind)
		}
		fmt.Fprintln(w)
	}
}

// WriteCSV prints one row per change: section, address space, op,
// level, address, old, new (and the control writes and statistics).
func (d *DiffReport) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"section", "as", "op", "what", "key", "old", "new"})
	for _, r := range d.Regs {
		cw.Write([]string{"register", "", "~", r.Name, "", r.From, r.To})
	}
	for _, c := range d.Controls {
		cw.Write([]string{"control", "", "", c.Op, strconv.FormatUint(c.Index, 10), "", hex(c.Value)})
	}
	for _, sec := range []struct {
		name string
		cs   []EntryChange
	}{{"guest", d.Guest}, {"shadow", d.Shadow}} {
		for _, c := range sec.cs {
			as := ""
			if sec.name == "guest" {
				as = hex(c.Key.AS)
			}
			cw.Write([]string{sec.name, as, string(c.Op), c.Level.String(), hex(uint64(c.Key.VA)), hex(uint64(c.Old)), hex(uint64(c.New))})
		}
	}
	for _, p := range d.Pool {
		cw.Write([]string{"pool", "", string(p.Op), "#" + strconv.Itoa(int(p.Index)), "", poolText(p.Old), poolText(p.New)})
	}
	for _, s := range d.Stats {
		cw.Write([]string{"stat", "", "~", s.Name, "", strconv.FormatUint(s.From, 10), strconv.FormatUint(s.To, 10)})
	}
	cw.Flush()
	return cw.Error()
}

func poolText(p PoolEntry) string {
	if p.AllocatedAt == 0 && p.Key == 0 && p.Kind == 0 {
		return ""
	}
	return fmt.Sprintf("%s %#x", p.Kind, uint64(p.Key))
}

// WriteJSON prints the diff as one JSON object.
func (d *DiffReport) WriteJSON(w io.Writer) error {
	type entry struct {
		AS    string `json:"as,omitempty"`
		Op    string `json:"op"`
		Level string `json:"level"`
		VA    string `json:"va"`
		Old   string `json:"old,omitempty"`
		New   string `json:"new,omitempty"`
		GPA   string `json:"gpa,omitempty"`
	}
	conv := func(cs []EntryChange, guest bool) []entry {
		out := []entry{}
		for _, c := range cs {
			e := entry{Op: string(c.Op), Level: c.Level.String(), VA: hex(uint64(c.Key.VA))}
			if guest {
				e.AS = hex(c.Key.AS)
			}
			if c.Op != Added {
				e.Old = hex(uint64(c.Old))
			}
			if c.Op != Removed {
				e.New = hex(uint64(c.New))
				if c.NewGPA != 0 {
					e.GPA = hex(uint64(c.NewGPA))
				}
			}
			out = append(out, e)
		}
		return out
	}
	type pool struct {
		Op    string `json:"op"`
		Index uint16 `json:"index"`
		Old   string `json:"old,omitempty"`
		New   string `json:"new,omitempty"`
	}
	type stat struct {
		Name string `json:"name"`
		From uint64 `json:"from"`
		To   uint64 `json:"to"`
	}
	out := struct {
		From     uint64         `json:"from"`
		To       uint64         `json:"to"`
		Regs     []RegChange    `json:"registers"`
		Controls []ControlEvent `json:"control_writes"`
		Spaces   []string       `json:"address_spaces"`
		Cut      []string       `json:"cut_short"`
		Guest    []entry        `json:"guest"`
		Shadow   []entry        `json:"shadow"`
		Pool     []pool         `json:"pool"`
		Stats    []stat         `json:"statistics"`
	}{From: d.From, To: d.To, Regs: append([]RegChange{}, d.Regs...), Controls: append([]ControlEvent{}, d.Controls...),
		Spaces: []string{}, Guest: conv(d.Guest, true), Shadow: conv(d.Shadow, false), Pool: []pool{}, Stats: []stat{}}
	for _, as := range d.Spaces {
		out.Spaces = append(out.Spaces, hex(as))
	}
	out.Cut = []string{}
	for _, as := range d.Truncated {
		out.Cut = append(out.Cut, hex(as))
	}
	for _, p := range d.Pool {
		out.Pool = append(out.Pool, pool{string(p.Op), p.Index, poolText(p.Old), poolText(p.New)})
	}
	for _, s := range d.Stats {
		out.Stats = append(out.Stats, stat{s.Name, s.From, s.To})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
