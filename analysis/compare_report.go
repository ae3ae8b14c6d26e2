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
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// Write prints the comparison in format f (one of Formats).
func (c *Comparer) Write(w io.Writer, f string) error {
	switch f {
	case "csv":
		return c.WriteCSV(w)
	case "json":
		return c.WriteJSON(w)
	}
	return c.WriteTable(w)
}

// metric is one line of the comparison: a name and each side's figure.
type metric struct {
	name string
	a, b float64
}

// metrics lists the figures every format prints, in order.
func (c *Comparer) metrics() []metric {
	var ms []metric
	add := func(name string, f func(s *Side) float64) {
		ms = append(ms, metric{name, f(c.Sides[0]), f(c.Sides[1])})
	}
	for _, p := range allPaths() {
		p := p
		if c.Sides[0].Counts.Path(p)+c.Sides[1].Counts.Path(p) > 0 {
			add("path "+p.String(), func(s *Side) float64 { return float64(s.Counts.Path(p)) })
		}
	}
	add("pool allocations", func(s *Side) float64 { a, _, _ := s.PoolFigures(); return float64(a) })
	add("pool evictions", func(s *Side) float64 { _, e, _ := s.PoolFigures(); return float64(e) })
	add("pool flushes", func(s *Side) float64 { _, _, f := s.PoolFigures(); return float64(f) })
	add("traps (VM exits)", func(s *Side) float64 { return float64(s.Work[CostExit]) })
	add("nested-walk references", func(s *Side) float64 { return float64(s.Counts.MemRefs) })
	for i := CostItem(0); i < costItems; i++ {
		i := i
		add("count "+i.String(), func(s *Side) float64 { return float64(s.Work[i]) })
	}
	for i := CostItem(0); i < costItems; i++ {
		i := i
		add("cycles "+i.String(), func(s *Side) float64 { return float64(s.Work[i]) * c.Model[i] })
	}
	add("cycles total", func(s *Side) float64 { return c.Model.Cycles(&s.Work) })
	add("cycles per event", func(s *Side) float64 { return c.Model.Cycles(&s.Work) / float64(max(c.Events, 1)) })
	return ms
}

func num(v float64) string {
	if v == float64(uint64(v)) {
		return strconv.FormatUint(uint64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// WriteTable prints the comparison for people.
func (c *Comparer) WriteTable(w io.Writer) error {
	a, b := c.Sides[0], c.Sides[1]
	fmt.Fprintf(w, "%d events\n  a: %s\n  b: %s\n\n", c.Events, DescribeConfig(a.Config), DescribeConfig(b.Config))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\ta\tb\tb/a\t")
	for _, m := range c.metrics() {
		ratio := ""
		if m.a != 0 {
			ratio = strconv.FormatFloat(m.b/m.a, 'f', 2, 64)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", m.name, num(m.a), num(m.b), ratio)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\ncost model (cycles):")
	for i := CostItem(0); i < costItems; i++ {
		fmt.Fprintf(w, " %s %s", i, num(c.Model[i]))
	}
	fmt.Fprintln(w)
	if len(c.Stretches) > 0 {
		fmt.Fprintf(w, "\nstretches of %d events where the cost differs most:\n", c.Window)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "events\ta cycles\tb cycles\ta-b\tlabel\tpaths that differ most (a/b)")
		for i := range c.Stretches {
			s := &c.Stretches[i]
			fmt.Fprintf(tw, "%d..%d\t%s\t%s\t%s\t%s\t%s\n", s.From, s.To, num(c.Model.Cycles(&s.Work[0])),
				num(c.Model.Cycles(&s.Work[1])), num(s.Delta), s.Label, strings.Join(s.pathDiffs(3), ", "))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	if c.Mismatched == 0 {
		fmt.Fprintf(w, "guest-visible outcomes agree on all %d events", c.Events)
		if !c.SkipMemory {
			fmt.Fprintf(w, ", and so does guest memory at the end")
		}
		fmt.Fprintln(w)
		return nil
	}
	fmt.Fprintf(w, "ENGINE BUG: guest-visible outcomes differ on %d events; the first:\n", c.Mismatched)
	for _, m := range c.Mismatches {
		if m.Memory {
			fmt.Fprintf(w, "  after the last event: %s\n", m.Why)
			continue
		}
		fmt.Fprintf(w, "  event %d: %s\n    a: %s\n    b: %s\n", m.Index, m.Why, traces.AppendOutcomeJSON(nil, &m.A), traces.AppendOutcomeJSON(nil, &m.B))
	}
	return nil
}

// pathDiffs names the n paths whose counts differ most in the stretch.
func (s *Stretch) pathDiffs(n int) []string {
	type d struct {
		p    engine.Path
		a, b uint64
	}
	var ds []d
	for p := 1; p < PathSlots; p++ {
		if a, b := s.Paths[0][p], s.Paths[1][p]; a != b {
			ds = append(ds, d{engine.Path(p), a, b})
		}
	}
	diff := func(x d) uint64 { return max(x.a, x.b) - min(x.a, x.b) }
	sort.SliceStable(ds, func(i, j int) bool { return diff(ds[i]) > diff(ds[j]) })
	var out []string
	for i := 0; i < len(ds) && i < n; i++ {
		out = append(out, fmt.Sprintf("%s %d/%d", ds[i].p, ds[i].a, ds[i].b))
	}
	// Exits without a path of their own (control registers, invlpg).
	if a, b := s.Work[0][CostExit], s.Work[1][CostExit]; a != b && len(out) < n {
		out = append(out, fmt.Sprintf("exits %d/%d", a, b))
	}
	return out
}

// WriteCSV prints one row per metric (metric,a,b), then one per stretch
// (stretch FROM..TO,cycles a,cycles b) and per mismatch.
func (c *Comparer) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"metric", "a", "b"})
	cw.Write([]string{"config", DescribeConfig(c.Sides[0].Config), DescribeConfig(c.Sides[1].Config)})
	cw.Write([]string{"events", num(float64(c.Events)), num(float64(c.Events))})
	for _, m := range c.metrics() {
		cw.Write([]string{m.name, num(m.a), num(m.b)})
	}
	for i := range c.Stretches {
		s := &c.Stretches[i]
		cw.Write([]string{fmt.Sprintf("stretch %d..%d", s.From, s.To), num(c.Model.Cycles(&s.Work[0])), num(c.Model.Cycles(&s.Work[1]))})
	}
	for _, m := range c.Mismatches {
		if m.Memory {
			cw.Write([]string{"mismatch memory", m.Why, ""})
			continue
		}
		cw.Write([]string{fmt.Sprintf("mismatch %d", m.Index), string(traces.AppendOutcomeJSON(nil, &m.A)), string(traces.AppendOutcomeJSON(nil, &m.B))})
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON prints the comparison as one JSON object.
func (c *Comparer) WriteJSON(w io.Writer) error {
	type side struct {
		Config  string             `json:"config"`
		Metrics map[string]float64 `json:"metrics"`
	}
	type stretch struct {
		From   uint64     `json:"from"`
		To     uint64     `json:"to"`
		Label  string     `json:"label"`
		Cycles [2]float64 `json:"cycles"`
		Paths  []string   `json:"paths"`
	}
	type mismatch struct {
		Index uint64          `json:"i"`
		Why   string          `json:"why"`
		A     json.RawMessage `json:"a"`
		B     json.RawMessage `json:"b"`
	}
	out := struct {
		Events     uint64             `json:"events"`
		Costs      map[string]float64 `json:"costs"`
		Window     uint64             `json:"window"`
		A          side               `json:"a"`
		B          side               `json:"b"`
		Stretches  []stretch          `json:"stretches"`
		Mismatched uint64             `json:"mismatched"`
		Mismatches []mismatch         `json:"mismatches"`
	}{Events: c.Events, Costs: map[string]float64{}, Window: c.Window,
		A:         side{DescribeConfig(c.Sides[0].Config), map[string]float64{}},
		B:         side{DescribeConfig(c.Sides[1].Config), map[string]float64{}},
		Stretches: []stretch{}, Mismatched: c.Mismatched, Mismatches: []mismatch{}}
	for i := CostItem(0); i < costItems; i++ {
		out.Costs[i.String()] = c.Model[i]
	}
	for _, m := range c.metrics() {
		out.A.Metrics[m.name], out.B.Metrics[m.name] = m.a, m.b
	}
	for i := range c.Stretches {
		s := &c.Stretches[i]
		out.Stretches = append(out.Stretches, stretch{s.From, s.To, s.Label,
			[2]float64{c.Model.Cycles(&s.Work[0]), c.Model.Cycles(&s.Work[1])}, s.pathDiffs(3)})
	}
	for _, m := range c.Mismatches {
		if m.Memory {
			out.Mismatches = append(out.Mismatches, mismatch{m.Index, m.Why, json.RawMessage("null"), json.RawMessage("null")})
			continue
		}
		out.Mismatches = append(out.Mismatches, mismatch{m.Index, m.Why, traces.AppendOutcomeJSON(nil, &m.A), traces.AppendOutcomeJSON(nil, &m.B)})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
