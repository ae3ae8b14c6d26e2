package vm

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// CPIOFile is one entry of an initramfs archive.
type CPIOFile struct {
	Name string // path inside the archive, without a leading slash
	Mode uint32 // type and permission bits, e.g. 0o100755 (file), 0o040755 (directory)
	Data []byte // contents (regular files only)
	// RdevMajor, RdevMinor: the device of a character node (ModeChar),
	// e.g. 5, 1 for /dev/console.
	RdevMajor, RdevMinor uint32
}

// Mode bits of the entries an initramfs needs.
const (
	ModeDir  = 0o040000
	ModeFile = 0o100000
	ModeChar = 0o020000
)

// WriteCPIO writes files as a cpio archive in the "newc" format, the one
// the kernel unpacks into its initial root file system (no compression:
// the kernel reads it as is, and the archive is small). The tool cpio is
// not needed, and the archive does not depend on the host's file owners
// or dates, so the same inputs give the same bytes.
func WriteCPIO(w io.Writer, files []CPIOFile) error {
	bw := bufio.NewWriter(w)
	ino := uint32(1)
	write := func(name string, mode uint32, data []byte, maj, min uint32) error {
		if strings.HasPrefix(name, "/") || name == "" {
			return fmt.Errorf("cpio: name %q must be relative and not empty", name)
		}
		nlink := uint32(1)
		if mode&0o170000 == ModeDir {
			nlink = 2
		}
		// 13 eight-digit hex fields after the magic: ino, mode, uid, gid,
		// nlink, mtime, filesize, devmajor, devminor, rdevmajor,
		// rdevminor, namesize (with its NUL), check.
		hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
			ino, mode, 0, 0, nlink, 0, len(data), 0, 0, maj, min, len(name)+1, 0)
		ino++
		if _, err := bw.WriteString(hdr); err != nil {
			return err
		}
		bw.WriteString(name)
		bw.WriteByte(0)
		pad(bw, len(hdr)+len(name)+1)
		bw.Write(data)
		pad(bw, len(data))
		return nil
	}
	for _, f := range files {
		if err := write(f.Name, f.Mode, f.Data, f.RdevMajor, f.RdevMinor); err != nil {
			return err
		}
	}
	if err := write("TRAILER!!!", 0, nil, 0, 0); err != nil {
		return err
	}
	return bw.Flush()
}

// pad writes the zeros that align n bytes to 4.
func pad(w *bufio.Writer, n int) {
	for ; n%4 != 0; n++ {
		w.WriteByte(0)
	}
}
