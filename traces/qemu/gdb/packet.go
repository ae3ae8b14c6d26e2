package gdb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Limits of the packet layer: a reply longer than MaxPacket, or more
// noise than MaxNoise between packets, is a broken stub, not a slow one.
const (
	MaxPacket = 1 << 20
	MaxNoise  = 64 << 10
	maxRetry  = 3 // a packet whose checksum is wrong is asked for again this often
)

// Sentinel errors, matched with errors.Is.
var (
	ErrProtocol = errors.New("gdb remote protocol error")
	ErrStub     = errors.New("the stub answered with an error")
)

// encode frames data as "$data#cs", escaping the bytes the protocol
// reserves ('#', '$', '}' and '*' become '}' and the byte XOR 0x20).
func encode(data []byte) []byte {
	out := make([]byte, 0, len(data)+4)
	out = append(out, '$')
	var sum byte
	for _, c := range data {
		if c == '#' || c == '$' || c == '}' || c == '*' {
			out = append(out, '}')
			sum += '}'
			c ^= 0x20
		}
		out = append(out, c)
		sum += c
	}
	return append(out, '#', hexDigit(sum>>4), hexDigit(sum&15))
}

func hexDigit(v byte) byte { return "0123456789abcdef"[v] }

// readPacket reads the next packet: it skips acknowledgements and noise
// up to '$', checks the checksum, and undoes escapes and run-length
// encoding. A wrong checksum is answered with '-' (the stub sends the
// packet again) up to maxRetry times; a good packet with '+'.
func readPacket(r *bufio.Reader, w io.Writer) ([]byte, error) {
	for try := 0; ; try++ {
		noise := 0
		for {
			c, err := r.ReadByte()
			if err != nil {
				return nil, err
			}
			if c == '$' {
				break
			}
			if noise++; noise > MaxNoise {
				return nil, fmt.Errorf("%w: %d bytes that are not a packet", ErrProtocol, noise)
			}
		}
		var raw []byte
		var sum byte
		for {
			c, err := r.ReadByte()
			if err != nil {
				return nil, err
			}
			if c == '#' {
				break
			}
			if len(raw) >= MaxPacket {
				return nil, fmt.Errorf("%w: a packet of more than %d bytes", ErrProtocol, MaxPacket)
			}
			raw = append(raw, c)
			sum += c
		}
		var cs [2]byte
		if _, err := io.ReadFull(r, cs[:]); err != nil {
			return nil, err
		}
		want, err := strconv.ParseUint(string(cs[:]), 16, 8)
		if err != nil || byte(want) != sum {
			if try+1 >= maxRetry {
				return nil, fmt.Errorf("%w: checksum %q of %q is wrong (%02x) %d times", ErrProtocol, cs[:], clip(raw), sum, maxRetry)
			}
			if _, err := w.Write([]byte{'-'}); err != nil {
				return nil, err
			}
			continue
		}
		if _, err := w.Write([]byte{'+'}); err != nil {
			return nil, err
		}
		return decode(raw)
	}
}

// decode undoes escapes ('}' then the byte XOR 0x20) and run-length
// encoding ("X*n": X repeated n-29 more times, n a printable byte).
func decode(raw []byte) ([]byte, error) {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case '}':
			if i+1 == len(raw) {
				return nil, fmt.Errorf("%w: %q ends in an escape", ErrProtocol, clip(raw))
			}
			i++
			out = append(out, raw[i]^0x20)
		case '*':
			if len(out) == 0 || i+1 == len(raw) || raw[i+1] < 29 || raw[i+1] > 126 {
				return nil, fmt.Errorf("%w: bad run-length at byte %d of %q", ErrProtocol, i, clip(raw))
			}
			i++
			n := int(raw[i]) - 29
			if len(out)+n > MaxPacket {
				return nil, fmt.Errorf("%w: a packet of more than %d bytes", ErrProtocol, MaxPacket)
			}
			out = append(out, bytes.Repeat(out[len(out)-1:], n)...)
		default:
			out = append(out, c)
		}
	}
	return out, nil
}

// clip shortens a packet for a message.
func clip(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}

// stubError turns an "Enn" reply into an error; other replies give nil.
func stubError(cmd string, reply []byte) error {
	if len(reply) == 3 && reply[0] == 'E' {
		if _, err := strconv.ParseUint(string(reply[1:]), 16, 8); err == nil {
			return fmt.Errorf("%w: %s: %s", ErrStub, cmd, reply)
		}
	}
	return nil
}
