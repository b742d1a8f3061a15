package diag

import (
	"encoding/binary"
	"encoding/json"
	"slices"
	"testing"
)

// TestSocketJSONRoundTrip: every socket of the fake machine reads back
// from its JSON as it was, IPv4-mapped addresses and absent values
// included.
func TestSocketJSONRoundTrip(t *testing.T) {
	t.Parallel()
	sys := fakeSystem("root-le", binary.LittleEndian, deny300)
	var socks []Socket
	for _, port := range []uint16{7007, 80, 40000, 41234, 443} {
		got, err := Who(port, sys)
		if err != nil {
			t.Fatal(err)
		}
		socks = append(socks, got...)
	}
	all, err := Ports(true, sys)
	if err != nil {
		t.Fatal(err)
	}
	socks = append(socks, all...)
	js, err := json.Marshal(socks)
	if err != nil {
		t.Fatal(err)
	}
	var back []Socket
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if got, want := rows(back), rows(socks); !slices.Equal(got, want) {
		t.Errorf("JSON round trip:\n%q\nwant\n%q\nJSON: %s", got, want, js)
	}
	for i := range socks {
		if back[i].Inode != socks[i].Inode || !slices.Equal(back[i].OtherPIDs, socks[i].OtherPIDs) {
			t.Errorf("%s: inode %d, other pids %v; want %d, %v", row(socks[i]), back[i].Inode, back[i].OtherPIDs,
				socks[i].Inode, socks[i].OtherPIDs)
		}
	}
}

// TestSocketJSONGolden pins who's JSON on the fake machine: clients,
// sides, TIME_WAIT, a hidden pid, an IPv6 listener.
func TestSocketJSONGolden(t *testing.T) {
	t.Parallel()
	socks, err := Who(7007, fakeSystem("root-le", binary.LittleEndian, deny300))
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.MarshalIndent(socks, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "who_7007.json.golden", string(js)+"\n")
}
