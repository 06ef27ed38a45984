// Package netutil contains helpers for IP address classification, CIDR lists,
// per-subnet address counting and network error inspection, as used by node
// discovery and the peer-to-peer server.
//
// All functions take net/netip addresses. IPv4-mapped IPv6 addresses
// (::ffff:a.b.c.d) are treated as the IPv4 address they contain.
//
// Nothing in this package logs, starts goroutines or reads the clock.
package netutil

import (
	"errors"
	"net/netip"
	"strings"
)

// Netlist is a list of IP networks. A nil *Netlist contains no address.
//
// A Netlist is not modified by Contains, so it may be shared between goroutines
// once it is fully built.
type Netlist []netip.Prefix

// ParseNetlist parses a comma-separated list of CIDR masks such as
// "10.0.0.0/8, ::1/128". Whitespace is ignored, as are empty elements; the
// empty string yields an empty (non-nil) list.
func ParseNetlist(s string) (*Netlist, error) {
	l := make(Netlist, 0)
	for mask := range strings.SplitSeq(s, ",") {
		mask = strings.Join(strings.Fields(mask), "")
		if mask == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(mask)
		if err != nil {
			return nil, err
		}
		l = append(l, prefix)
	}
	return &l, nil
}

// MustParseNetlist is like ParseNetlist but panics on invalid input. It is
// meant for constants in programs and tests.
func MustParseNetlist(s string) *Netlist {
	l, err := ParseNetlist(s)
	if err != nil {
		panic(err)
	}
	return l
}

// Add parses cidr and appends it to the list. It panics if cidr is not a valid
// CIDR mask; use ParseNetlist for untrusted input.
func (l *Netlist) Add(cidr string) {
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil {
		panic(err)
	}
	*l = append(*l, prefix)
}

// Contains reports whether ip is in any network of the list. It returns false
// for a nil list and for the zero (invalid) address.
func (l *Netlist) Contains(ip netip.Addr) bool {
	if l == nil || !ip.IsValid() {
		return false
	}
	ip = ip.Unmap()
	for _, p := range *l {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// String returns the list in the form accepted by ParseNetlist.
func (l Netlist) String() string {
	var b strings.Builder
	for i, p := range l {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// MarshalText implements encoding.TextMarshaler. The text form is the one
// accepted by ParseNetlist.
func (l Netlist) MarshalText() ([]byte, error) {
	return []byte(l.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler, replacing the list with
// the one parsed from text.
func (l *Netlist) UnmarshalText(text []byte) error {
	parsed, err := ParseNetlist(string(text))
	if err != nil {
		return err
	}
	*l = *parsed
	return nil
}

// special4 and special6 hold the IANA special-purpose address registries
// (RFC 5735, RFC 5156, iana-ipv4-special-registry, iana-ipv6-special-registry)
// that go-ethereum treats as special.
var special4, special6 = MustParseNetlist(
	"0.0.0.0/8," + // "this" network
		"192.0.0.0/29," + // IPv4 service continuity
		"192.0.0.9/32," + // PCP anycast
		"192.0.0.170/32," + // NAT64/DNS64 discovery
		"192.0.0.171/32," + // NAT64/DNS64 discovery
		"192.0.2.0/24," + // TEST-NET-1
		"192.31.196.0/24," + // AS112
		"192.52.193.0/24," + // AMT
		"192.88.99.0/24," + // 6to4 relay anycast
		"192.175.48.0/24," + // AS112
		"198.18.0.0/15," + // device benchmark testing
		"198.51.100.0/24," + // TEST-NET-2
		"203.0.113.0/24," + // TEST-NET-3
		"255.255.255.255/32", // limited broadcast
), MustParseNetlist(
	"100::/64," +
		"2001::/32," +
		"2001:1::1/128," +
		"2001:2::/48," +
		"2001:3::/32," +
		"2001:4:112::/48," +
		"2001:5::/32," +
		"2001:10::/28," +
		"2001:20::/28," +
		"2001:db8::/32," +
		"2002::/16",
)

// IsLAN reports whether ip is a local network address: loopback, private
// (RFC 1918, RFC 4193 fc00::/7) or link-local unicast.
func IsLAN(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast()
}

// IsSpecialNetwork reports whether ip is a multicast address or belongs to an
// IANA special-purpose network (documentation ranges, benchmarking, 6to4 relay,
// the limited broadcast address and others). Such addresses are never valid
// endpoints of remote nodes.
func IsSpecialNetwork(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsMulticast() {
		return true
	}
	if ip.Is4() {
		return special4.Contains(ip)
	}
	return special6.Contains(ip)
}

// CheckRelayAddr errors.
var (
	errInvalid     = errors.New("invalid IP")
	errUnspecified = errors.New("zero address")
	errSpecial     = errors.New("special network")
	errLoopback    = errors.New("loopback address from non-loopback host")
	errLAN         = errors.New("LAN address from WAN host")
)

// CheckRelayAddr reports whether addr, an address relayed to us by the host at
// sender (for example in a discovery Neighbors packet), is acceptable as a
// node endpoint. It rejects invalid, unspecified and special-network
// addresses, loopback addresses unless the sender is itself a loopback host,
// and LAN addresses unless the sender is on a LAN.
func CheckRelayAddr(sender, addr netip.Addr) error {
	sender, addr = sender.Unmap(), addr.Unmap()
	switch {
	case !addr.IsValid():
		return errInvalid
	case addr.IsUnspecified():
		return errUnspecified
	case IsSpecialNetwork(addr):
		return errSpecial
	case addr.IsLoopback() && !sender.IsLoopback():
		return errLoopback
	case IsLAN(addr) && !IsLAN(sender):
		return errLAN
	}
	return nil
}

// SameNet reports whether ip and other share their first bits bits. Addresses
// of different families (after unmapping IPv4-mapped IPv6) are never in the
// same network. A bits value larger than the address length compares the
// whole address.
func SameNet(bits int, ip, other netip.Addr) bool {
	ip, other = ip.Unmap(), other.Unmap()
	if !ip.IsValid() || !other.IsValid() || ip.Is4() != other.Is4() {
		return false
	}
	bits = min(max(bits, 0), ip.BitLen())
	p1, _ := ip.Prefix(bits)
	p2, _ := other.Prefix(bits)
	return p1 == p2
}
