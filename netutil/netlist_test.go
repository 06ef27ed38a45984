package netutil

import (
	"net/netip"
	"reflect"
	"testing"
)

var parseNetlistTests = []struct {
	input    string
	wantErr  string
	wantList Netlist
}{
	{input: "", wantList: Netlist{}},
	{input: " , ,", wantList: Netlist{}},
	{input: "127.0.0.0/8", wantList: Netlist{netip.MustParsePrefix("127.0.0.0/8")}},
	{
		input:   "127.0.0.0/44",
		wantErr: `netip.ParsePrefix("127.0.0.0/44"): prefix length out of range`,
	},
	{input: "127.0.0.1", wantErr: `netip.ParsePrefix("127.0.0.1"): no '/'`},
	{
		input: "127.0.0.0/16, 23.23.23.23/24,",
		wantList: Netlist{
			netip.MustParsePrefix("127.0.0.0/16"),
			netip.MustParsePrefix("23.23.23.23/24"),
		},
	},
	{
		input: "10.0.0.0/8,\n\t::1/128",
		wantList: Netlist{
			netip.MustParsePrefix("10.0.0.0/8"),
			netip.MustParsePrefix("::1/128"),
		},
	},
}

func TestParseNetlist(t *testing.T) {
	t.Parallel()
	for _, test := range parseNetlistTests {
		l, err := ParseNetlist(test.input)
		if test.wantErr != "" {
			if err == nil || err.Error() != test.wantErr {
				t.Errorf("%q: got error %v, want %q", test.input, err, test.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: unexpected error %v", test.input, err)
			continue
		}
		if !reflect.DeepEqual(*l, test.wantList) {
			t.Errorf("%q: got %v, want %v", test.input, *l, test.wantList)
		}
	}
}

func TestNetlistContains(t *testing.T) {
	t.Parallel()
	l := MustParseNetlist("10.0.0.0/8, ::1/128, 192.168.7.0/24")
	tests := []struct {
		ip   string
		want bool
	}{
		{"10.1.2.3", true},
		{"::ffff:10.1.2.3", true},
		{"::1", true},
		{"192.168.7.255", true},
		{"192.168.8.1", false},
		{"11.0.0.1", false},
		{"::2", false},
	}
	for _, test := range tests {
		if got := l.Contains(netip.MustParseAddr(test.ip)); got != test.want {
			t.Errorf("Contains(%s) = %t, want %t", test.ip, got, test.want)
		}
	}
	if l.Contains(netip.Addr{}) {
		t.Error("list contains the zero Addr")
	}
	var nilList *Netlist
	if nilList.Contains(netip.MustParseAddr("1.2.3.4")) {
		t.Error("nil list contains 1.2.3.4")
	}
}

func TestNetlistText(t *testing.T) {
	t.Parallel()
	l := MustParseNetlist("10.0.0.0/8,::1/128")
	text, err := l.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	if string(text) != "10.0.0.0/8, ::1/128" {
		t.Errorf("MarshalText = %q", text)
	}
	var l2 Netlist
	if err := l2.UnmarshalText(text); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(l2, *l) {
		t.Errorf("round trip: got %v, want %v", l2, *l)
	}
	if err := l2.UnmarshalText([]byte("foo")); err == nil {
		t.Error("UnmarshalText accepted invalid input")
	}
}

func TestNetlistAddPanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("Add did not panic on invalid CIDR")
		}
	}()
	var l Netlist
	l.Add("1.2.3.4")
}

func TestIsLAN(t *testing.T) {
	t.Parallel()
	checkContains(t, IsLAN,
		[]string{ // included
			"127.0.0.1",
			"10.0.1.1",
			"10.22.0.3",
			"172.31.252.251",
			"192.168.1.4",
			"169.254.1.1",
			"::1",
			"fe80::f4a1:8eff:fec5:9d9d",
			"febf::ab32:2233",
			"fc00::4",
			"fdff::1",
			"::ffff:127.0.0.1", // 4-in-6
			"::ffff:10.10.0.2",
		},
		[]string{ // excluded
			"192.0.2.1",
			"1.0.0.0",
			"172.32.0.1",
			"fec0::2233",
			"2001:4860::8888",
			"::ffff:88.99.100.2",
		},
	)
	if IsLAN(netip.Addr{}) {
		t.Error("zero Addr is LAN")
	}
}

func TestIsSpecialNetwork(t *testing.T) {
	t.Parallel()
	checkContains(t, IsSpecialNetwork,
		[]string{ // included
			"0.0.0.0",
			"0.2.0.8",
			"192.0.0.9",
			"192.0.2.1",
			"192.0.2.44",
			"198.19.255.255",
			"203.0.113.7",
			"2001:db8:85a3:8d3:1319:8a2e:370:7348",
			"2002::1",
			"100::5",
			"255.255.255.255",
			"224.0.0.22", // IPv4 multicast
			"ff05::1:3",  // IPv6 multicast
			"::ffff:255.255.255.255",
			"::ffff:192.0.2.1",
		},
		[]string{ // excluded
			"192.0.3.1",
			"192.0.0.10",
			"1.0.0.0",
			"172.32.0.1",
			"fec0::2233",
			"2001:4860::8888",
			"100:0:0:1::1",
		},
	)
}

func checkContains(t *testing.T, fn func(netip.Addr) bool, inc, exc []string) {
	t.Helper()
	for _, s := range inc {
		if !fn(netip.MustParseAddr(s)) {
			t.Error("returned false for included address", s)
		}
	}
	for _, s := range exc {
		if fn(netip.MustParseAddr(s)) {
			t.Error("returned true for excluded address", s)
		}
	}
}

func TestCheckRelayAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sender, addr string
		want         error
	}{
		{"127.0.0.1", "0.0.0.0", errUnspecified},
		{"192.168.0.1", "0.0.0.0", errUnspecified},
		{"23.55.1.242", "0.0.0.0", errUnspecified},
		{"23.55.1.242", "::", errUnspecified},
		{"23.55.1.242", "::ffff:0.0.0.0", errUnspecified},
		{"127.0.0.1", "255.255.255.255", errSpecial},
		{"192.168.0.1", "255.255.255.255", errSpecial},
		{"23.55.1.242", "255.255.255.255", errSpecial},
		{"23.55.1.242", "224.0.0.1", errSpecial},
		{"23.55.1.242", "2001:db8::1", errSpecial},
		{"192.168.0.1", "127.0.2.19", errLoopback},
		{"23.55.1.242", "::1", errLoopback},
		{"23.55.1.242", "::ffff:127.0.0.1", errLoopback},
		{"23.55.1.242", "192.168.0.1", errLAN},
		{"23.55.1.242", "fe80::1", errLAN},
		{"2a00:1450::1", "10.0.0.1", errLAN},

		{"127.0.0.1", "127.0.2.19", nil},
		{"::ffff:127.0.0.1", "127.0.2.19", nil},
		{"127.0.0.1", "192.168.0.1", nil},
		{"127.0.0.1", "23.55.1.242", nil},
		{"192.168.0.1", "192.168.0.1", nil},
		{"192.168.0.1", "23.55.1.242", nil},
		{"23.55.1.242", "23.55.1.242", nil},
		{"23.55.1.242", "2a00:1450::1", nil},
	}
	for _, test := range tests {
		err := CheckRelayAddr(netip.MustParseAddr(test.sender), netip.MustParseAddr(test.addr))
		if err != test.want {
			t.Errorf("%s from %s: got %v, want %v", test.addr, test.sender, err, test.want)
		}
	}
	if err := CheckRelayAddr(netip.MustParseAddr("1.2.3.4"), netip.Addr{}); err != errInvalid {
		t.Errorf("zero Addr: got %v, want %v", err, errInvalid)
	}
}

func TestSameNet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ip, other string
		bits      int
		want      bool
	}{
		{"0.0.0.0", "0.0.0.0", 32, true},
		{"0.0.0.0", "0.0.0.1", 0, true},
		{"0.0.0.0", "0.0.0.1", 31, true},
		{"0.0.0.0", "0.0.0.1", 32, false},
		{"0.33.0.1", "0.34.0.2", 8, true},
		{"0.33.0.1", "0.34.0.2", 13, true},
		{"0.33.0.1", "0.34.0.2", 15, false},
		{"127.0.0.1", "127.0.0.3", 24, true},
		{"127.3.0.1", "127.5.0.3", 24, false},
		{"127.0.0.1", "::ffff:127.0.0.3", 24, true},
		{"127.0.0.1", "127.0.0.1", 64, true},
		{"127.0.0.1", "127.0.0.2", 64, false},
		{"2001:4860::1", "2001:4860::2", 64, true},
		{"2001:4860::1", "2001:4861::2", 32, false},
		{"127.0.0.1", "::1", 0, false},
	}
	for _, test := range tests {
		ip, other := netip.MustParseAddr(test.ip), netip.MustParseAddr(test.other)
		if ok := SameNet(test.bits, ip, other); ok != test.want {
			t.Errorf("SameNet(%d, %s, %s) = %t, want %t", test.bits, test.ip, test.other, ok, test.want)
		}
	}
}

func BenchmarkCheckRelayAddr(b *testing.B) {
	sender := netip.MustParseAddr("23.55.1.242")
	addr := netip.MustParseAddr("23.55.1.2")
	for b.Loop() {
		CheckRelayAddr(sender, addr)
	}
}
