package netutil

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
)

// DistinctNetSet counts IP addresses per subnet and enforces a limit on the
// number of addresses in each subnet, and optionally on the total. It is used
// to keep the discovery table diverse and to cap the number of peers from one
// network.
//
// The set only counts: it does not remember individual addresses, so removing
// an address that was never added decrements the count of its subnet (if that
// subnet has any members).
//
// The zero value with Subnet and Limit set is ready to use. A DistinctNetSet is
// not safe for concurrent use.
type DistinctNetSet struct {
	// Subnet is the number of leading address bits that identify a subnet.
	// Like go-ethereum, the same number applies to IPv6 addresses unless
	// Subnet6 is set; values above an address's length are clamped to it.
	Subnet uint
	// Subnet6, when non-zero, is the subnet size used for IPv6 addresses.
	Subnet6 uint
	// Limit is the maximum number of addresses in each subnet.
	Limit uint
	// Total, when non-zero, is the maximum number of addresses in the set.
	Total uint

	members map[netip.Prefix]uint
	count   uint
}

// Add counts ip in its subnet and reports whether it was added. It returns
// false, leaving the set unchanged, when the subnet already holds Limit
// addresses, the set holds Total addresses, or ip is invalid.
func (s *DistinctNetSet) Add(ip netip.Addr) bool {
	key, ok := s.key(ip)
	if !ok {
		return false
	}
	if s.Total != 0 && s.count >= s.Total {
		return false
	}
	n := s.members[key]
	if n >= s.Limit {
		return false
	}
	if s.members == nil {
		s.members = make(map[netip.Prefix]uint)
	}
	s.members[key] = n + 1
	s.count++
	return true
}

// Remove decrements the count of ip's subnet, if it has any members.
func (s *DistinctNetSet) Remove(ip netip.Addr) {
	key, ok := s.key(ip)
	if !ok {
		return
	}
	switch n := s.members[key]; n {
	case 0:
		return
	case 1:
		delete(s.members, key)
	default:
		s.members[key] = n - 1
	}
	s.count--
}

// Contains reports whether the subnet of ip has at least one member. Note that
// this is true for any address in the subnet, not only the added ones.
func (s *DistinctNetSet) Contains(ip netip.Addr) bool {
	key, ok := s.key(ip)
	return ok && s.members[key] > 0
}

// Count returns the number of addresses counted in the subnet of ip.
func (s *DistinctNetSet) Count(ip netip.Addr) uint {
	key, ok := s.key(ip)
	if !ok {
		return 0
	}
	return s.members[key]
}

// Len returns the number of addresses in the set.
func (s *DistinctNetSet) Len() int {
	return int(s.count)
}

// key returns the subnet of ip.
func (s *DistinctNetSet) key(ip netip.Addr) (netip.Prefix, bool) {
	if !ip.IsValid() {
		return netip.Prefix{}, false
	}
	ip = ip.Unmap().WithZone("")
	bits := s.Subnet
	if ip.Is6() && s.Subnet6 != 0 {
		bits = s.Subnet6
	}
	bits = min(bits, uint(ip.BitLen()))
	p, err := ip.Prefix(int(bits))
	return p, err == nil
}

// String returns the subnets and their counts, for example
// "{10.0.0.0/24×2 127.0.0.0/24×1}".
func (s *DistinctNetSet) String() string {
	keys := slices.SortedFunc(maps.Keys(s.members), func(a, b netip.Prefix) int {
		return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
	})
	var b strings.Builder
	b.WriteString("{")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%v×%d", k, s.members[k])
	}
	b.WriteString("}")
	return b.String()
}
