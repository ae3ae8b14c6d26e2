package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/analysis"
	"github.com/pgm-explorer/pgm-explorer/engine"
)

// whereFilter is `--where EXPR`: it sees every outcome (to follow the
// label and CPL in force) and says which ones to print.
type whereFilter struct {
	f  *analysis.Filter
	tr analysis.Tracker
}

// parseWhere compiles a --where expression; "" gives a nil filter,
// which keeps everything. A parse error shows the expression with a
// caret under the column at fault.
func parseWhere(expr string) (*whereFilter, error) {
	if expr == "" {
		return nil, nil
	}
	f, err := analysis.Parse(expr)
	if err != nil {
		return nil, &exitError{2, whereError(expr, err)}
	}
	return &whereFilter{f: f}, nil
}

func whereError(expr string, err error) error {
	var pe *analysis.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("--where: %w", err)
	}
	return fmt.Errorf("--where: %w\n  %s\n  %s^", err, expr, strings.Repeat(" ", pe.Col-1))
}

// keep observes o and reports whether it matches. A nil filter keeps
// every outcome.
func (w *whereFilter) keep(o *engine.Outcome) bool {
	if w == nil {
		return true
	}
	r := w.tr.Next(o)
	return w.f.Match(&r)
}

// follow names the engine the outcomes come from (for the CPL after a
// restore event).
func (w *whereFilter) follow(eng engine.Engine) {
	if w != nil {
		w.tr.Eng = eng
	}
}
