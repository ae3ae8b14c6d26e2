package traces

import (
	"fmt"
	"strconv"
)

// parseUint reads a number of the text form: `0x` and hexadecimal digits
// (either case), or decimal digits. Signs, underscores, `0X`, octal and
// binary prefixes are errors, and so is a decimal number with a leading
// zero: a C programmer would read 0755 as octal, and the reader does not
// guess which was meant.
func parseUint(b []byte) (uint64, error) {
	if len(b) == 0 {
		return 0, fmt.Errorf("missing number")
	}
	if len(b) >= 2 && b[0] == '0' && b[1] == 'x' {
		digits := b[2:]
		if len(digits) == 0 {
			return 0, fmt.Errorf("malformed number %s: no digits after 0x", shown(b))
		}
		var v uint64
		for _, c := range digits {
			d, ok := hexDigit(c)
			if !ok {
				return 0, fmt.Errorf("malformed number %s", shown(b))
			}
			if v>>60 != 0 {
				return 0, fmt.Errorf("number %s overflows 64 bits", shown(b))
			}
			v = v<<4 | d
		}
		return v, nil
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("malformed number %s", shown(b))
		}
	}
	if b[0] == '0' && len(b) > 1 {
		return 0, fmt.Errorf("number %s has a leading zero (write hexadecimal as 0x..., octal is not supported)", shown(b))
	}
	for _, c := range b {
		d := uint64(c - '0')
		if v > (1<<64-1-d)/10 {
			return 0, fmt.Errorf("number %s overflows 64 bits", shown(b))
		}
		v = v*10 + d
	}
	return v, nil
}

func hexDigit(c byte) (uint64, bool) {
	switch {
	case c >= '0' && c <= '9':
		return uint64(c - '0'), true
	case c >= 'a' && c <= 'f':
		return uint64(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return uint64(c-'A') + 10, true
	}
	return 0, false
}

// sizeUnits are the suffixes a size may carry, as the contract lists them.
// A larger unit (T, P) is deliberately absent: no range can be that big.
var sizeUnits = [...]struct {
	suffix byte
	shift  uint
}{{'K', 10}, {'M', 20}, {'G', 30}}

// ParseSize reads a byte count as the text form writes range sizes:
// decimal or 0x hexadecimal, optionally followed by K, M or G (powers of
// 1024), e.g. 256M. The command-line flags that take sizes use it too.
func ParseSize(s string) (uint64, error) { return parseSize([]byte(s)) }

// parseSize reads a byte count: a number, optionally followed by K, M or
// G (powers of 1024).
func parseSize(b []byte) (uint64, error) {
	if len(b) >= 2 {
		last := b[len(b)-1]
		for _, u := range sizeUnits {
			if last != u.suffix {
				continue
			}
			v, err := parseUint(b[:len(b)-1])
			if err != nil {
				return 0, fmt.Errorf("malformed size %s: %v", shown(b), err)
			}
			if v > (1<<64-1)>>u.shift {
				return 0, fmt.Errorf("size %s overflows 64 bits", shown(b))
			}
			return v << u.shift, nil
		}
		// Name the bad suffix rather than calling the whole size
		// malformed: `16k` and `1T` are easy mistakes to make.
		if isLetter(last) {
			if _, err := parseUint(b[:len(b)-1]); err == nil {
				if _, err := parseUint(b); err != nil {
					return 0, fmt.Errorf("size %s has an unknown unit %q (want K, M or G)", shown(b), last)
				}
			}
		}
	}
	return parseUint(b)
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// appendHex appends v as the canonical form writes addresses and values:
// 0x and lower-case digits without leading zeros.
func appendHex(dst []byte, v uint64) []byte {
	dst = append(dst, '0', 'x')
	return strconv.AppendUint(dst, v, 16)
}

// appendSize appends a range size in the largest unit that divides it
// exactly (the same units parseSize reads), or in hexadecimal.
func appendSize(dst []byte, n uint64) []byte {
	for i := len(sizeUnits) - 1; i >= 0; i-- {
		u := sizeUnits[i]
		if n != 0 && n&(1<<u.shift-1) == 0 {
			dst = strconv.AppendUint(dst, n>>u.shift, 10)
			return append(dst, u.suffix)
		}
	}
	return appendHex(dst, n)
}
