package probe

import (
	"bytes"
	"encoding/binary"
)

// Payloads: each carries its seq and the run's nonce, then filler derived
// from both, so a reply is checked byte for byte without keeping a copy of
// what was sent.

// golden is 2^64 divided by the golden ratio, the splitmix64 increment.
const golden = 0x9e3779b97f4a7c15

// fill writes the payload for seq: the seq and the run nonce big-endian,
// then filler bytes that depend on both. Damage anywhere in the payload is
// detected, a reply sent for another seq does not match, and no part of it
// is all zeros.
func fill(b []byte, seq, nonce uint64) {
	binary.BigEndian.PutUint64(b, seq)
	binary.BigEndian.PutUint64(b[8:], nonce)
	state := seq*golden ^ nonce
	rest := b[MinSize:]
	for len(rest) >= 8 {
		state += golden
		binary.LittleEndian.PutUint64(rest, mix(state))
		rest = rest[8:]
	}
	if len(rest) > 0 {
		var tail [8]byte
		binary.LittleEndian.PutUint64(tail[:], mix(state+golden))
		copy(rest, tail[:])
	}
}

// intact reports whether b is exactly the payload fill would write for seq.
// It regenerates the filler as it goes, so checking an old seq needs no copy
// of what was sent.
func intact(b []byte, seq, nonce uint64) bool {
	if len(b) < MinSize || binary.BigEndian.Uint64(b) != seq || binary.BigEndian.Uint64(b[8:]) != nonce {
		return false
	}
	state := seq*golden ^ nonce
	rest := b[MinSize:]
	for len(rest) >= 8 {
		state += golden
		if binary.LittleEndian.Uint64(rest) != mix(state) {
			return false
		}
		rest = rest[8:]
	}
	var tail [8]byte
	binary.LittleEndian.PutUint64(tail[:], mix(state+golden))
	return bytes.Equal(rest, tail[:len(rest)])
}

// mix is the splitmix64 output function: a cheap bijection that scatters
// consecutive states over all 64 bits.
func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
