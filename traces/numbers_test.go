package traces

import (
	"strings"
	"testing"
)

func TestParseUint(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		err  string // substring of the error; empty when none is expected
	}{
		{"0", 0, ""},
		{"42", 42, ""},
		{"0x0", 0, ""},
		{"0xDeadBeef", 0xdeadbeef, ""},
		{"0x00000007", 7, ""},
		{"18446744073709551615", 1<<64 - 1, ""},
		{"0xffffffffffffffff", 1<<64 - 1, ""},
		{"0x0000ffffffffffffffff", 1<<64 - 1, ""},
		{"18446744073709551616", 0, "overflows 64 bits"},
		{"99999999999999999999", 0, "overflows 64 bits"},
		{"0x10000000000000000", 0, "overflows 64 bits"},
		{"", 0, "missing number"},
		{"0x", 0, "no digits after 0x"},
		{"0X10", 0, "malformed number"},
		{"0x1g", 0, "malformed number"},
		{"-1", 0, "malformed number"},
		{"+1", 0, "malformed number"},
		{"1_000", 0, "malformed number"},
		{"0b101", 0, "malformed number"},
		{"0755", 0, "leading zero"},
		{"12a", 0, "malformed number"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseUint([]byte(tt.in))
			checkErr(t, err, tt.err)
			if tt.err == "" && got != tt.want {
				t.Errorf("parseUint(%q) = %#x, want %#x", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		err  string
	}{
		{"4096", 4096, ""},
		{"0x1000", 0x1000, ""},
		{"4K", 4 << 10, ""},
		{"16M", 16 << 20, ""},
		{"3G", 3 << 30, ""},
		{"0x10M", 16 << 20, ""},
		{"0x1E", 0x1e, ""}, // a hex digit, not a unit
		{"1048576G", 1 << 50, ""},
		{"17179869183G", 17179869183 << 30, ""},
		{"17179869184G", 0, "overflows 64 bits"},
		{"1P", 0, `unknown unit 'P'`},
		{"1T", 0, `unknown unit 'T'`},
		{"16k", 0, `unknown unit 'k'`},
		{"K", 0, "malformed number"},
		{"1KK", 0, "malformed size"},
		{"-1K", 0, "malformed size"},
		{"", 0, "missing number"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSize([]byte(tt.in))
			checkErr(t, err, tt.err)
			if tt.err == "" && got != tt.want {
				t.Errorf("parseSize(%q) = %#x, want %#x", tt.in, got, tt.want)
			}
		})
	}
}

func TestAppendSize(t *testing.T) {
	tests := []struct {
		in   uint64
		want string
	}{
		{0x1000, "4K"}, {0x3000, "12K"}, {16 << 20, "16M"}, {1 << 30, "1G"},
		{3 << 30, "3G"}, {1536 << 20, "1536M"}, {64 << 30, "64G"}, {0x10, "0x10"}, {0, "0x0"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := string(appendSize(nil, tt.in))
			if got != tt.want {
				t.Errorf("appendSize(%#x) = %q, want %q", tt.in, got, tt.want)
			}
			if back, err := parseSize([]byte(got)); err != nil || back != tt.in {
				t.Errorf("parseSize(%q) = %#x, %v; want %#x", got, back, err, tt.in)
			}
		})
	}
}

// checkErr fails unless err matches want: nil for "", else an error whose
// message contains want.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q does not contain %q", err, want)
	}
}
