package gdb

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Stop is why the guest stopped: a stop reply ("T05...", "S02").
type Stop struct {
	Signal int    // 2: interrupted, 5: a breakpoint or a step
	Reply  string // the packet as the stub sent it
}

// ErrExited is matched when the stub reports that the guest is gone
// ("W" or "X": QEMU quit).
var ErrExited = errors.New("the guest exited")

// Continue resumes the guest. Only WaitStop and Interrupt may follow.
func (c *Client) Continue() error {
	if c.running {
		return nil
	}
	c.deadline()
	if err := c.send("c"); err != nil {
		return err
	}
	c.running = true
	return nil
}

// WaitStop waits up to d for the guest to stop by itself (a
// breakpoint). It returns (nil, nil) when d passes first: the guest is
// still running.
func (c *Client) WaitStop(d time.Duration) (*Stop, error) {
	if !c.running {
		return nil, errors.New("the guest is not running")
	}
	c.conn.SetReadDeadline(time.Now().Add(d))
	for {
		pkt, err := readPacket(c.r, c.conn)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		st, err := parseStop(pkt)
		if st == nil && err == nil {
			continue // console output ("O..."): not a stop
		}
		if err == nil {
			c.running = false
		}
		return st, err
	}
}

// Interrupt stops a running guest (the 0x03 byte) and waits up to d for
// the stop reply: a guest that does not stop is an error (it runs away,
// or the stub hangs).
func (c *Client) Interrupt(d time.Duration) (*Stop, error) {
	if !c.running {
		return nil, nil
	}
	c.conn.SetWriteDeadline(time.Now().Add(d))
	if _, err := c.conn.Write([]byte{3}); err != nil {
		return nil, err
	}
	st, err := c.WaitStop(d)
	if err == nil && st == nil {
		return nil, fmt.Errorf("the guest did not stop within %v of an interrupt", d)
	}
	return st, err
}

// Detach lets the guest run on and ends the session ("D"); the
// connection is closed either way.
func (c *Client) Detach() error {
	defer c.conn.Close()
	if c.running {
		return nil // running already: closing is enough
	}
	_, err := c.Request("D")
	return err
}

// parseStop reads a stop reply; nil, nil for console output.
func parseStop(p []byte) (*Stop, error) {
	if len(p) == 0 {
		return nil, fmt.Errorf("%w: an empty stop reply", ErrProtocol)
	}
	switch p[0] {
	case 'O':
		return nil, nil
	case 'W', 'X':
		return nil, fmt.Errorf("%w (%q)", ErrExited, clip(p))
	case 'S', 'T':
		if len(p) >= 3 {
			if sig, err := strconv.ParseUint(string(p[1:3]), 16, 8); err == nil {
				return &Stop{Signal: int(sig), Reply: string(p)}, nil
			}
		}
	}
	return nil, fmt.Errorf("%w: %q is not a stop reply", ErrProtocol, clip(p))
}

// targetRegisters reads target.xml and the annexes it includes, and
// numbers the registers as gdb does: in order from 0, or from a regnum
// attribute on.
func (c *Client) targetRegisters() (map[string]Register, error) {
	regs := map[string]Register{}
	next := 0
	seen := map[string]bool{}
	var read func(annex string, depth int) error
	read = func(annex string, depth int) error {
		if depth > 4 || seen[annex] || len(seen) > 32 {
			return fmt.Errorf("%w: target description includes too deep or too many (%s)", ErrProtocol, annex)
		}
		seen[annex] = true
		doc, err := c.xfer(annex)
		if err != nil {
			return err
		}
		dec := xml.NewDecoder(strings.NewReader(doc))
		dec.Strict = false
		for {
			tok, err := dec.Token()
			if err != nil {
				return nil // end of the document (or junk after it)
			}
			el, ok := tok.(xml.StartElement)
			if !ok {
				continue
			}
			attr := func(name string) string {
				for _, a := range el.Attr {
					if a.Name.Local == name {
						return a.Value
					}
				}
				return ""
			}
			switch el.Name.Local {
			case "include":
				if err := read(attr("href"), depth+1); err != nil {
					return err
				}
			case "reg":
				if n := attr("regnum"); n != "" {
					v, err := strconv.Atoi(n)
					if err != nil || v < 0 || v > 4096 {
						return fmt.Errorf("%w: register %s: regnum %q", ErrProtocol, attr("name"), n)
					}
					next = v
				}
				bits, _ := strconv.Atoi(attr("bitsize"))
				regs[attr("name")] = Register{Name: attr("name"), Num: next, BitSize: bits}
				next++
			}
		}
	}
	if err := read("target.xml", 0); err != nil {
		return nil, err
	}
	return regs, nil
}

// xfer reads a whole annex with qXfer:features:read, in pieces.
func (c *Client) xfer(annex string) (string, error) {
	var b strings.Builder
	for {
		reply, err := c.Request(fmt.Sprintf("qXfer:features:read:%s:%x,ffb", annex, b.Len()))
		if err != nil {
			return "", err
		}
		if len(reply) == 0 || (reply[0] != 'm' && reply[0] != 'l') {
			return "", fmt.Errorf("%w: reading %s: %q", ErrProtocol, annex, clip(reply))
		}
		b.Write(reply[1:])
		if b.Len() > 1<<20 {
			return "", fmt.Errorf("%w: %s is longer than 1 MiB", ErrProtocol, annex)
		}
		if reply[0] == 'l' {
			return b.String(), nil
		}
		if len(reply) == 1 {
			return "", fmt.Errorf("%w: reading %s: an empty piece that says more follows", ErrProtocol, annex)
		}
	}
}
