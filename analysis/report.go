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
	"strings"
	"text/tabwriter"

	"github.com/pgm-explorer/pgm-explorer/engine"
)

// Formats are the output forms every report has.
var Formats = []string{"table", "csv", "json"}

// CheckFormat validates a --format value.
func CheckFormat(f string) error {
	for _, g := range Formats {
		if f == g {
			return nil
		}
	}
	return fmt.Errorf("unknown format %q (want %s)", f, strings.Join(Formats, ", "))
}

// tablePaths are the paths a text table shows a column for (CSV and
// JSON have them all): the engine's work, not the hits.
var tablePaths = []engine.Path{engine.PathSyncPage, engine.PathSyncPT, engine.PathDirtyTrap, engine.PathAccessedTrap,
	engine.PathMonitorWrite, engine.PathHandler, engine.PathNestedWalk, engine.PathNestedFault}

// allPaths are the named paths, in number order.
func allPaths() []engine.Path {
	var ps []engine.Path
	for p := engine.Path(1); int(p) < PathSlots; p++ {
		if _, ok := pathByName[p.String()]; ok {
			ps = append(ps, p)
		}
	}
	return ps
}

func errList(c *Counts, sep string, max int) string {
	var b strings.Builder
	for i, e := range c.SortedErrs() {
		if max > 0 && i == max {
			b.WriteString(sep + "…")
			break
		}
		if i > 0 {
			b.WriteString(sep)
		}
		fmt.Fprintf(&b, "%s:%d", ErrName(e.Code), e.N)
	}
	return b.String()
}

// tableColumn is an optional column of the text table.
type tableColumn struct {
	name string
	get  func(c *Counts) uint64
}

// tableColumns are the text table's optional columns: the engine's work
// (not the hits, which the accesses column covers) and the pool. A
// column that is zero in every row shown is left out.
func tableColumns() []tableColumn {
	var cols []tableColumn
	for _, p := range tablePaths {
		p := p
		cols = append(cols, tableColumn{p.String(), func(c *Counts) uint64 { return c.Path(p) }})
	}
	return append(cols,
		tableColumn{"evictions", func(c *Counts) uint64 { return c.Evictions }},
		tableColumn{"memrefs", func(c *Counts) uint64 { return c.MemRefs }},
		tableColumn{"allocs", func(c *Counts) uint64 { return c.Allocs }},
		tableColumn{"freed", func(c *Counts) uint64 { return c.Freed[1] + c.Freed[2] + c.Freed[3] }})
}

// WriteTable prints the report for people.
func (r *Report) WriteTable(w io.Writer) error {
	var cols []tableColumn
	for _, col := range tableColumns() {
		for i := range r.Rows {
			if col.get(&r.Rows[i].Counts) != 0 {
				cols = append(cols, col)
				break
			}
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "%d events read, %d counted\n\n", r.Events, r.Matched)
	fmt.Fprintf(w, "by %s: %d keys, top %d by %s\n", r.By, r.Keys, len(r.Rows), r.Sort)
	head := "key\tevents\taccesses\tfaults\t"
	for _, c := range cols {
		head += c.name + "\t"
	}
	fmt.Fprintln(tw, head+"errors\t")
	for i := range r.Rows {
		c := &r.Rows[i].Counts
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t", r.KeyName(r.Rows[i].Key), c.Events, c.Accesses, c.Faults)
		for _, col := range cols {
			fmt.Fprintf(tw, "%d\t", col.get(c))
		}
		fmt.Fprintf(tw, "%s\t\n", errList(c, " ", 3))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Other.Events > 0 {
		fmt.Fprintf(w, "(cap of %d keys reached: %d more events of later keys counted only in the totals; raise --max-keys)\n",
			r.Cap, r.Other.Events)
	}
	t := &r.Total
	fmt.Fprintf(w, "\ntotals: %d accesses, %d faults, %d engine work, %d memory references\n", t.Accesses, t.Faults, t.Work(), t.MemRefs)
	fmt.Fprintf(w, "  by path:")
	for _, p := range allPaths() {
		if n := t.Path(p); n > 0 {
			fmt.Fprintf(w, " %s %d", p, n)
		}
	}
	fmt.Fprintln(w)
	if len(t.Errs) > 0 {
		fmt.Fprintf(w, "  faults by error code: %s\n", errList(t, " ", 0))
	}
	fmt.Fprintf(w, "  pool: %d pages allocated; freed %d released, %d evicted, %d flushed; %d events evicted, %d flushed the pool\n",
		t.Allocs, t.Freed[engine.FreeReleased], t.Freed[engine.FreeEvicted], t.Freed[engine.FreeFlushed], t.Evictions, t.Flushes)
	fmt.Fprintf(w, "\naddress spaces: %d\n", len(r.Spaces))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "as\tevents\taccesses\tfaults\twork\tmemrefs\t")
	for _, s := range r.Spaces {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t\n", hex(s.Key), s.Events, s.Accesses, s.Faults, s.Work(), s.MemRefs)
	}
	return tw.Flush()
}

// csvHeader is the header of CSV rows: every count, every path.
func csvHeader() []string {
	h := []string{"key", "events", "accesses", "faults"}
	for _, p := range allPaths() {
		h = append(h, p.String())
	}
	return append(h, "evictions", "flushes", "memrefs", "allocs", "freed_released", "freed_evicted", "freed_flushed", "errors")
}

func csvRow(key string, c *Counts) []string {
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	row := []string{key, u(c.Events), u(c.Accesses), u(c.Faults)}
	for _, p := range allPaths() {
		row = append(row, u(c.Path(p)))
	}
	return append(row, u(c.Evictions), u(c.Flushes), u(c.MemRefs), u(c.Allocs),
		u(c.Freed[engine.FreeReleased]), u(c.Freed[engine.FreeEvicted]), u(c.Freed[engine.FreeFlushed]), errList(c, ";", 0))
}

// WriteCSV prints one row per top key, then a row "other" (keys past
// the cap) when there is one and a row "total".
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(csvHeader())
	for i := range r.Rows {
		cw.Write(csvRow(r.KeyName(r.Rows[i].Key), &r.Rows[i].Counts))
	}
	if r.Other.Events > 0 {
		cw.Write(csvRow("other", &r.Other))
	}
	cw.Write(csvRow("total", &r.Total))
	cw.Flush()
	return cw.Error()
}

// jsonCounts is Counts as JSON: zero paths left out, codes by name.
type jsonCounts struct {
	Key       string            `json:"key,omitempty"`
	Events    uint64            `json:"events"`
	Accesses  uint64            `json:"accesses"`
	Faults    uint64            `json:"faults"`
	Errors    map[string]uint64 `json:"errors,omitempty"`
	Paths     map[string]uint64 `json:"paths"`
	Evictions uint64            `json:"evictions"`
	Flushes   uint64            `json:"flushes"`
	MemRefs   uint64            `json:"memrefs"`
	Allocs    uint64            `json:"allocs"`
	Freed     map[string]uint64 `json:"freed"`
}

func toJSON(key string, c *Counts) jsonCounts {
	j := jsonCounts{Key: key, Events: c.Events, Accesses: c.Accesses, Faults: c.Faults, Paths: map[string]uint64{},
		Evictions: c.Evictions, Flushes: c.Flushes, MemRefs: c.MemRefs, Allocs: c.Allocs,
		Freed: map[string]uint64{"released": c.Freed[engine.FreeReleased], "evicted": c.Freed[engine.FreeEvicted],
			"flushed": c.Freed[engine.FreeFlushed]}}
	for _, p := range allPaths() {
		if n := c.Path(p); n > 0 {
			j.Paths[p.String()] = n
		}
	}
	if len(c.Errs) > 0 {
		j.Errors = map[string]uint64{}
		for _, e := range c.Errs {
			j.Errors[ErrName(e.Code)] = e.N
		}
	}
	return j
}

// WriteJSON prints the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	out := struct {
		By      string       `json:"by"`
		Sort    string       `json:"sort"`
		Events  uint64       `json:"events"`
		Matched uint64       `json:"matched"`
		Keys    int          `json:"keys"`
		Cap     int          `json:"cap"`
		Rows    []jsonCounts `json:"rows"`
		Other   *jsonCounts  `json:"other,omitempty"`
		Total   jsonCounts   `json:"total"`
		Spaces  []jsonCounts `json:"address_spaces"`
	}{By: r.By.String(), Sort: r.Sort, Events: r.Events, Matched: r.Matched, Keys: r.Keys, Cap: r.Cap,
		Rows: []jsonCounts{}, Total: toJSON("", &r.Total), Spaces: []jsonCounts{}}
	for i := range r.Rows {
		out.Rows = append(out.Rows, toJSON(r.KeyName(r.Rows[i].Key), &r.Rows[i].Counts))
	}
	if r.Other.Events > 0 {
		o := toJSON("other", &r.Other)
		out.Other = &o
	}
	for i := range r.Spaces {
		out.Spaces = append(out.Spaces, toJSON(hex(r.Spaces[i].Key), &r.Spaces[i].Counts))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// Write prints the report in format f (one of Formats).
func (r *Report) Write(w io.Writer, f string) error {
	switch f {
	case "csv":
		return r.WriteCSV(w)
	case "json":
		return r.WriteJSON(w)
	}
	return r.WriteTable(w)
}
