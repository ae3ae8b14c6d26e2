//go:build js || wasip1

package x86live

import "errors"

// ErrBrowser: a browser has no native library to load.
var ErrBrowser = errors.New("live x86 guests (Unicorn) are not available in the browser: record one natively with `explorer record --x86` and open the trace")

// Available always fails here.
func Available(string) error { return ErrBrowser }

// LibraryInfo is empty here.
func LibraryInfo() (string, string) { return "", "" }

// RunProgram always fails here.
func RunProgram(*Program, Way, Options) (*Run, error) { return nil, ErrBrowser }
