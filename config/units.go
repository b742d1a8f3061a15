package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Share is a probability or a part of a whole, 0 to 1, written as a
// fraction (0.3) or a percentage (30%).
type Share float64

// UnmarshalText accepts 0 to 1, or 0% to 100%.
func (s *Share) UnmarshalText(b []byte) error {
	text := strings.TrimSpace(string(b))
	scale := 1.0
	if t, ok := strings.CutSuffix(text, "%"); ok {
		text, scale = t, 100
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || f/scale < 0 || f/scale > 1 {
		return fmt.Errorf("%q is not a share: give 0 to 1 (0.3) or 0%% to 100%% (30%%)", b)
	}
	*s = Share(f / scale)
	return nil
}

// String gives the share as a fraction.
func (s Share) String() string { return strconv.FormatFloat(float64(s), 'g', -1, 64) }

// byteUnits are the size suffixes, longest first so that "KiB" is not
// read as "B" after a number.
var byteUnits = []struct {
	suffix string
	bytes  float64
}{
	{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"kB", 1e3}, {"B", 1},
}

// Bytes is a count of bytes, written plain (1000) or with a unit (64KiB,
// 1MB).
type Bytes int64

// UnmarshalText accepts a whole number of bytes, with or without a unit.
func (n *Bytes) UnmarshalText(b []byte) error {
	v, ok := parseBytes(strings.TrimSpace(string(b)))
	if !ok || v < 0 || v != math.Trunc(v) || v > math.MaxInt64/2 {
		return fmt.Errorf("%q is not a byte count (e.g. 1000, 64KiB, 1MB)", b)
	}
	*n = Bytes(v)
	return nil
}

// String gives the count in bytes.
func (n Bytes) String() string { return strconv.FormatInt(int64(n), 10) }

func parseBytes(s string) (float64, bool) {
	scale := 1.0
	for _, u := range byteUnits {
		if t, ok := strings.CutSuffix(s, u.suffix); ok {
			s, scale = strings.TrimSpace(t), u.bytes
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	v := f * scale
	// The unit can take a finite number past the largest float64: 1e308GiB.
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// Bandwidth is a rate in bytes per second, written with its unit: bytes
// (1MB/s, 64KiB/s) or bits (10Mbit/s, 1Gbit/s) per second; 0 is no limit.
type Bandwidth float64

// bitUnits are the rates in bits, longest first.
var bitUnits = []struct {
	suffix string
	bits   float64
}{
	{"Gbit", 1e9}, {"Mbit", 1e6}, {"Kbit", 1e3}, {"kbit", 1e3}, {"bit", 1},
}

// UnmarshalText accepts 0, or a number with a unit per second.
func (r *Bandwidth) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "0" {
		*r = 0
		return nil
	}
	bad := fmt.Errorf("%q is not a rate (e.g. 1MB/s, 64KiB/s, 10Mbit/s, or 0 for no limit)", b)
	s, ok := strings.CutSuffix(s, "/s")
	if !ok {
		return bad
	}
	for _, u := range bitUnits {
		if t, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
			v := f * u.bits / 8
			if err != nil || !(v > 0) || math.IsInf(v, 0) {
				return bad
			}
			*r = Bandwidth(v)
			return nil
		}
	}
	v, ok := parseBytes(s)
	if !ok || !(v > 0) {
		return bad
	}
	*r = Bandwidth(v)
	return nil
}

// String gives the rate in bytes per second.
func (r Bandwidth) String() string {
	if r == 0 {
		return "0"
	}
	return strconv.FormatFloat(float64(r), 'f', -1, 64) + "B/s"
}

// Seed is a number that seeds random choices; 0 is a new seed every run.
type Seed uint64

// UnmarshalText accepts a whole number of 0 or more.
func (s *Seed) UnmarshalText(b []byte) error {
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not a seed: give a whole number (0: a new one each run)", b)
	}
	*s = Seed(v)
	return nil
}

// String gives the seed.
func (s Seed) String() string { return strconv.FormatUint(uint64(s), 10) }
