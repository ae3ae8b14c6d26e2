package vm

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"
)

// QMP is a client of QEMU's machine protocol on a Unix socket: JSON
// commands, one answer each, with asynchronous events mixed in (skipped).
// Human-monitor commands (`info tlb`, `gva2gpa`) go through its
// human-monitor-command, which returns their text without the line
// editor's echo and prompts that the plain monitor socket has.
type QMP struct {
	conn net.Conn
	dec  *json.Decoder
	// Timeout bounds every command; 0 means DefaultQMPTimeout.
	Timeout time.Duration
}

// DefaultQMPTimeout bounds one command. dump-guest-memory of 256 MiB
// takes about a second; the margin is for a loaded machine.
const DefaultQMPTimeout = 60 * time.Second

// ErrQMP is matched by errors QEMU itself returned for a command.
var ErrQMP = errors.New("qmp: command failed")

// DialQMP connects to the QMP socket at path and negotiates capabilities.
func DialQMP(path string, timeout time.Duration) (*QMP, error) {
	conn, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return nil, err
	}
	q := &QMP{conn: conn, dec: json.NewDecoder(conn)}
	conn.SetDeadline(time.Now().Add(timeout))
	var greeting struct {
		QMP *json.RawMessage `json:"QMP"`
	}
	if err := q.dec.Decode(&greeting); err != nil || greeting.QMP == nil {
		conn.Close()
		return nil, fmt.Errorf("qmp %s: no greeting (%v)", path, err)
	}
	if _, err := q.Execute("qmp_capabilities", nil); err != nil {
		conn.Close()
		return nil, err
	}
	return q, nil
}

// Close closes the connection (QEMU keeps running).
func (q *QMP) Close() error { return q.conn.Close() }

// Execute runs one QMP command and returns its "return" value.
func (q *QMP) Execute(cmd string, args any) (json.RawMessage, error) {
	t := q.Timeout
	if t == 0 {
		t = DefaultQMPTimeout
	}
	q.conn.SetDeadline(time.Now().Add(t))
	req := map[string]any{"execute": cmd}
	if args != nil {
		req["arguments"] = args
	}
	b, _ := json.Marshal(req)
	if _, err := q.conn.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("qmp %s: %w", cmd, err)
	}
	for {
		var resp struct {
			Return json.RawMessage `json:"return"`
			Error  *struct {
				Class string `json:"class"`
				Desc  string `json:"desc"`
			} `json:"error"`
			Event string `json:"event"`
		}
		if err := q.dec.Decode(&resp); err != nil {
			return nil, fmt.Errorf("qmp %s: %w", cmd, err)
		}
		switch {
		case resp.Event != "":
			continue
		case resp.Error != nil:
			return nil, fmt.Errorf("%w: %s: %s: %s", ErrQMP, cmd, resp.Error.Class, resp.Error.Desc)
		}
		return resp.Return, nil
	}
}

// HMP runs a human-monitor command and returns what it printed.
func (q *QMP) HMP(line string) (string, error) {
	raw, err := q.Execute("human-monitor-command", map[string]string{"command-line": line})
	if err != nil {
		return "", err
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("qmp %q: answer is not text: %w", line, err)
	}
	return s, nil
}
