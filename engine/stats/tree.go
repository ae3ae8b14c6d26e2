package stats

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"strings"
)

// TreeOptions selects what WriteTree prints.
type TreeOptions struct {
	Prefix   string // only names beginning with Prefix (see Registry.Prefix); "" for all
	SkipZero bool   // leave out samples for which Sample.IsZero holds
}

// treeIndent is the indentation of one level of the tree.
const treeIndent = "  "

// treeRow is one line: a heading when leaf is false.
type treeRow struct {
	depth int
	name  string // the last path component
	leaf  bool
	cells [4]string // value, unit, profile details, description
}

// WriteTree writes the selected statistics as an indented tree: one line
// per path component that is not a statistic (a heading), and one line per
// statistic with its value, unit, profile details (calls, shortest and
// longest call) and description in aligned columns. A statistic that
// also has statistics below it, like "/PGM/RZ/Trap0e", is printed once as
// a statistic and its children are indented under it. Nothing is written
// for an empty selection. The layout is deterministic and meant for
// people; programs should read WriteCSV or WriteJSON.
func (r *Registry) WriteTree(w io.Writer, opts TreeOptions) error {
	var rows []treeRow
	var open []string // components of the last printed path
	r.Each(func(s Sample) {
		if !strings.HasPrefix(s.Name, opts.Prefix) || (opts.SkipZero && s.IsZero()) {
			return
		}
		comps := strings.Split(s.Name[1:], "/")
		k := 0
		for k < len(open) && k < len(comps)-1 && open[k] == comps[k] {
			k++
		}
		for ; k < len(comps)-1; k++ {
			rows = append(rows, treeRow{depth: k, name: comps[k]})
		}
		rows = append(rows, treeRow{depth: k, name: comps[k], leaf: true, cells: treeCells(s)})
		open = comps
	})

	// Column widths over the leaves; headings are not aligned.
	var nameW int
	var cellW [4]int
	for _, row := range rows {
		if !row.leaf {
			continue
		}
		nameW = max(nameW, len(treeIndent)*row.depth+len(row.name))
		for i, c := range row.cells[:3] {
			cellW[i] = max(cellW[i], len(c))
		}
	}

	bw := bufio.NewWriter(w)
	var line []byte
	for _, row := range rows {
		line = line[:0]
		for range row.depth {
			line = append(line, treeIndent...)
		}
		line = append(line, row.name...)
		if row.leaf {
			line = pad(line, nameW+2)
			line = padLeft(line, row.cells[0], cellW[0])
			line = append(line, ' ')
			line = append(line, row.cells[1]...)
			line = pad(line, len(line)-len(row.cells[1])+cellW[1]+2)
			if cellW[2] > 0 {
				line = append(line, row.cells[2]...)
				line = pad(line, len(line)-len(row.cells[2])+cellW[2]+2)
			}
			line = append(line, row.cells[3]...)
			line = bytes.TrimRight(line, " ")
		}
		line = append(line, '\n')
		bw.Write(line) // bufio keeps the first error for Flush
	}
	return bw.Flush()
}

func treeCells(s Sample) [4]string {
	c := [4]string{strconv.FormatUint(s.Value, 10), s.Unit.String(), "", s.Desc}
	if s.Kind == KindProfile {
		c[2] = strconv.FormatUint(s.Calls, 10) + " calls"
		if s.MaxNS > 0 {
			c[2] += ", min " + strconv.FormatUint(s.MinNS, 10) + ", max " + strconv.FormatUint(s.MaxNS, 10)
		}
	}
	return c
}

// pad appends spaces to b up to length n.
func pad(b []byte, n int) []byte {
	for len(b) < n {
		b = append(b, ' ')
	}
	return b
}

// padLeft appends s right-aligned in a field of width n.
func padLeft(b []byte, s string, n int) []byte {
	for i := len(s); i < n; i++ {
		b = append(b, ' ')
	}
	return append(b, s...)
}
