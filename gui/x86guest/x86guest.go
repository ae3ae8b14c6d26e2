// Package x86guest opens a live x86 guest in the interactive explorer:
// it runs the program in Unicorn with the engine as its MMU and hands
// the run's events to package app as a list in memory. It is a package
// of its own, between the two, so that app does not import the emulator
// (and still builds for the browser, where none can run), and so that it
// can be tested without the desktop window (Ebiten panics at start-up
// when there is no display).
package x86guest

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/gui/app"
	"github.com/pgm-explorer/pgm-explorer/traces/x86live"
)

// Open runs program (a built-in guest's name, or a .asm or flat .bin
// file, as for `explorer live`) with paging "shadow" (also for "") or
// "nested", the Unicorn library at library ("" searches as x86live
// does), and returns it as a source of the explorer, with the run for
// tests to compare with what the explorer's engine computes.
//
// The guest runs to its end first: the built-in ones take milliseconds,
// and the explorer can then seek back and forth through the run as
// through a trace, which a guest still running in the emulator would not
// allow. A missing library is reported with x86live's message, which
// says what to install.
func Open(program, library, paging string) (app.Source, *x86live.Run, error) {
	pg := engine.PagingShadow
	if paging != "" {
		var err error
		if pg, err = engine.ParsePaging(paging); err != nil || pg == engine.PagingEPT {
			return app.Source{}, nil, &UsageError{fmt.Sprintf("--paging %q: want shadow or nested with --x86", paging)}
		}
	}
	p, err := x86live.Load(program)
	if err != nil {
		// As for explorer live: a program that is not there is a usage
		// error, and the message lists the built-in ones.
		return app.Source{}, nil, &UsageError{err.Error()}
	}
	if err := x86live.Available(library); err != nil {
		return app.Source{}, nil, err
	}
	s, err := x86live.NewSource(p, x86live.Options{Library: library, Paging: pg})
	if err != nil {
		return app.Source{}, nil, err
	}
	r := s.Run()
	return app.Source{Events: &app.EventList{
		Name:   "x86-" + p.Name,
		Title:  Title(p.Name),
		Header: s.Header(pg),
		Events: r.Events,
	}}, r, nil
}

// Title is what the explorer's title says for a guest: the mode bar has
// room for little more.
func Title(program string) string { return program + ": x86 guest in Unicorn" }

// UsageError is a bad flag value or program (exit status 2).
type UsageError struct{ What string }

func (e *UsageError) Error() string { return e.What }
