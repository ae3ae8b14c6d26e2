// Package safeout writes the files a user names so that the promises
// the README makes about a user's files hold (section "Your files, and
// the limits the explorer keeps"): the command-line explorer and the
// desktop window both write through it.
package safeout

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// Create keeps these promises:
//
//   - OUT is never one of the program's inputs, whatever the path says
//     (the same name, a symbolic link, a hard link): that is refused
//     before anything is opened for writing.
//   - A regular file (or a name that does not exist yet) is written to a
//     temporary file beside it and renamed over OUT only when the program
//     commits it, so OUT holds either its old content or the whole new one,
//     never a part. A symbolic link is followed: its target is replaced
//     that way and the link itself stays.
//   - Anything else (a device such as /dev/null, a FIFO) is written
//     straight through and never removed, even when the program fails.
//   - "-" is standard output.
//   - The only file ever removed is the temporary file this run created.

// File is one file being written. Write to it, then Commit on success
// or Abort on failure (Abort after Commit does nothing, so defer it).
type File struct {
	name   string    // as the user gave it, for messages
	w      io.Writer // where Write goes
	f      *os.File  // the open file, nil for standard output
	tmp    string    // the temporary file to rename, "" when writing straight
	final  string    // where tmp goes: OUT, or the target of OUT's link
	closed bool
}

// Sync is off only in fuzzers, which test no crashes and would spend
// their time in fsync.
var Sync = true

// ErrSameFile is returned when OUT is one of the inputs.
var ErrSameFile = errors.New("are the same file: writing the output would destroy the input")

// Create opens name for writing as described above; stdout is what "-"
// means. inputs are the files the program reads: name must not be any
// of them.
func Create(name string, stdout io.Writer, inputs ...string) (*File, error) {
	if name == "-" {
		return &File{name: "standard output", w: stdout}, nil
	}
	if err := NotAnInput(name, inputs); err != nil {
		return nil, err
	}
	final := name
	st, err := os.Lstat(name)
	if err == nil && st.Mode()&os.ModeSymlink != 0 {
		// Replace what the link points at, not the link.
		if final, err = filepath.EvalSymlinks(name); err != nil {
			return nil, fmt.Errorf("%s: a symbolic link that cannot be followed: %w", name, err)
		}
		st, err = os.Stat(final)
	}
	switch {
	case errors.Is(err, os.ErrNotExist):
		st = nil
	case err != nil:
		return nil, err
	case st.IsDir():
		return nil, fmt.Errorf("%s is a directory", name)
	case !st.Mode().IsRegular():
		// A device or a FIFO: write straight through, never remove it.
		f, err := os.OpenFile(final, os.O_WRONLY, 0)
		if err != nil {
			return nil, err
		}
		return &File{name: name, w: f, f: f}, nil
	}
	f, tmp, err := createTemp(final)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot write beside it: %w", name, err)
	}
	if st != nil {
		// The new content takes the old file's permissions.
		if err := f.Chmod(st.Mode().Perm()); err != nil {
			f.Close()
			os.Remove(tmp)
			return nil, err
		}
	}
	return &File{name: name, w: f, f: f, tmp: tmp, final: final}, nil
}

// NotAnInput refuses an output that is the same file as an input; a
// program that writes OUT only at its end calls it before its work.
func NotAnInput(name string, inputs []string) error {
	so, err := os.Stat(name)
	if name == "-" || err != nil {
		return nil // nothing there yet (or unreachable: opening will say)
	}
	for _, in := range inputs {
		if si, err := os.Stat(in); err == nil && os.SameFile(si, so) {
			return fmt.Errorf("%s and %s %w", in, name, ErrSameFile)
		}
	}
	return nil
}

// createTemp creates a new file beside path, with the permissions a new
// file gets (0666 less the umask, unlike os.CreateTemp's 0600).
func createTemp(path string) (*os.File, string, error) {
	dir, base := filepath.Split(path)
	for range 100 {
		tmp := filepath.Join(dir, "."+base+".tmp"+strconv.FormatUint(rand.Uint64()%1e9, 10))
		f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		return f, tmp, err
	}
	return nil, "", errors.New("no free temporary name")
}

func (o *File) Write(p []byte) (int, error) { return o.w.Write(p) }

// Name is OUT as the user gave it ("standard output" for "-").
func (o *File) Name() string { return o.name }

// Commit completes the output: the temporary file is flushed to disk
// and renamed over OUT. On error OUT is as it was.
func (o *File) Commit() error {
	if o.closed {
		return errors.New(o.name + ": already closed")
	}
	o.closed = true
	if o.f == nil {
		return nil
	}
	if o.tmp == "" {
		return o.f.Close()
	}
	// Sync first: a rename that reaches the disk before the data would
	// leave an empty OUT after a crash.
	var err error
	if Sync {
		err = o.f.Sync()
	}
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(o.tmp, o.final)
	}
	if err != nil {
		os.Remove(o.tmp)
		return fmt.Errorf("%s: %w", o.name, err)
	}
	return nil
}

// Abort gives up: the temporary file is removed and OUT is left as it
// was. What went to a device or standard output cannot be taken back.
func (o *File) Abort() {
	if o.closed {
		return
	}
	o.closed = true
	if o.f != nil {
		o.f.Close()
	}
	if o.tmp != "" {
		os.Remove(o.tmp)
	}
}

// Temporary reports whether the output goes to a temporary file that
// Commit renames over OUT (so that Abort leaves OUT as it was).
func (o *File) Temporary() bool { return o.tmp != "" }

// AbortNote says what Abort leaves, for messages.
func (o *File) AbortNote() string {
	switch {
	case o.tmp != "":
		return "nothing written to " + o.name
	case o.f == nil:
		return "the output so far went to standard output"
	}
	return "the output so far went to " + o.name + ", which is not a regular file"
}

// WriteFile writes name as Create does, with write, and commits it when
// write succeeds; otherwise name is left as it was (see Abort).
func WriteFile(name string, stdout io.Writer, inputs []string, write func(io.Writer) error) error {
	out, err := Create(name, stdout, inputs...)
	if err != nil {
		return err
	}
	if err := write(out); err != nil {
		out.Abort()
		return fmt.Errorf("%s: %w (%s)", out.Name(), err, out.AbortNote())
	}
	return out.Commit()
}
