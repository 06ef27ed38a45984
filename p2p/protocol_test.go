package p2p

import (
	"fmt"
	"slices"
	"testing"
)

func TestMatchProtocols(t *testing.T) {
	t.Parallel()
	proto := func(name string, version uint, length uint64) Protocol {
		return Protocol{Name: name, Version: version, Length: length}
	}
	tests := []struct {
		name   string
		local  []Protocol
		remote []Cap
		want   string // name/version@offset, in order
	}{
		{
			name:   "no local protocols",
			remote: []Cap{{"eth", 68}},
			want:   "[]",
		},
		{
			name:   "no shared protocol",
			local:  []Protocol{proto("eth", 68, 17)},
			remote: []Cap{{"eth", 67}, {"snap", 1}},
			want:   "[]",
		},
		{
			name:   "one",
			local:  []Protocol{proto("eth", 68, 17)},
			remote: []Cap{{"eth", 68}},
			want:   "[eth/68@16]",
		},
		{
			name:   "sorted by name, not by local order",
			local:  []Protocol{proto("snap", 1, 8), proto("eth", 68, 17)},
			remote: []Cap{{"snap", 1}, {"eth", 68}},
			want:   "[eth/68@16 snap/1@33]",
		},
		{
			name:   "highest shared version wins, codes stay compact",
			local:  []Protocol{proto("eth", 68, 17), proto("eth", 69, 18), proto("eth", 70, 18), proto("snap", 1, 8)},
			remote: []Cap{{"eth", 70}, {"eth", 68}, {"eth", 69}, {"snap", 1}, {"snap", 2}},
			want:   "[eth/70@16 snap/1@34]",
		},
		{
			name:   "remote's highest is not ours",
			local:  []Protocol{proto("eth", 68, 17), proto("eth", 69, 18)},
			remote: []Cap{{"eth", 68}, {"eth", 71}},
			want:   "[eth/68@16]",
		},
		{
			name:   "geth example: eth/72 and snap/2",
			local:  []Protocol{proto("eth", 69, 18), proto("eth", 72, 22), proto("snap", 1, 8), proto("snap", 2, 10)},
			remote: []Cap{{"eth", 69}, {"eth", 72}, {"snap", 1}, {"snap", 2}},
			want:   "[eth/72@16 snap/2@38]",
		},
		{
			name:   "duplicate remote caps",
			local:  []Protocol{proto("a", 1, 3)},
			remote: []Cap{{"a", 1}, {"a", 1}},
			want:   "[a/1@16]",
		},
		{
			name:   "case-sensitive byte order",
			local:  []Protocol{proto("a", 1, 2), proto("B", 1, 3)},
			remote: []Cap{{"a", 1}, {"B", 1}},
			want:   "[B/1@16 a/1@19]",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			remote := slices.Clone(tc.remote)
			var got []string
			for _, m := range matchProtocols(tc.local, tc.remote) {
				got = append(got, fmt.Sprintf("%v@%d", m.proto.cap(), m.offset))
			}
			if s := fmt.Sprint(got); s != tc.want && !(len(got) == 0 && tc.want == "[]") {
				t.Errorf("got %s, want %s", s, tc.want)
			}
			if !slices.Equal(remote, tc.remote) {
				t.Error("remote caps were modified")
			}
		})
	}
}

func TestCapOrder(t *testing.T) {
	t.Parallel()
	caps := localCaps([]Protocol{{Name: "snap", Version: 1}, {Name: "eth", Version: 69}, {Name: "eth", Version: 68}})
	if fmt.Sprint(caps) != "[eth/68 eth/69 snap/1]" {
		t.Fatalf("localCaps = %v", caps)
	}
	if (Cap{"eth", 68}).String() != "eth/68" {
		t.Fatal("Cap.String")
	}
}
