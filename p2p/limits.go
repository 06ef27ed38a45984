package p2p

import (
	"net/netip"

	"github.com/devp2p-go/devp2p/netutil"
)

// Limits is the part of the limit model that goes beyond go-ethereum's
// settings: caps per source IP and per subnet, before and after the
// encryption handshake, and a trusted-only mode. Together with
// Config.MaxPeers, MaxInbound, MaxOutbound, DialRatio and MaxPendingPeers
// (kept at the top level under go-ethereum's names) it is the whole limit
// model; docs/limits.md lists every limit in one table. Trusted peers are
// exempt from every cap here except MaxPendingPerIP. Checks that the source
// IP alone decides are made before any cryptography.
//
// In all integer fields zero means the documented default and a negative
// value means no limit.
type Limits struct {
	// MaxPendingPerIP caps the inbound handshakes in flight from one IP
	// address. Default 4.
	MaxPendingPerIP int

	// MaxPendingPerSubnet caps the inbound handshakes in flight from one
	// subnet (see SubnetBitsV4, SubnetBitsV6). Default 8.
	MaxPendingPerSubnet int

	// MaxInboundPerSubnet and MaxOutboundPerSubnet cap the connected peers
	// of one subnet, inbound and dialed. Static dialed peers are exempt
	// from MaxOutboundPerSubnet, as they are from MaxOutbound. Defaults:
	// a quarter of the direction's cap, at least 2.
	MaxInboundPerSubnet  int
	MaxOutboundPerSubnet int

	// SubnetBitsV4 and SubnetBitsV6 are the prefix lengths that group
	// addresses into subnets. Defaults 24 and 48.
	SubnetBitsV4 int
	SubnetBitsV6 int

	// SubnetExempt lists the networks whose addresses are not held to the
	// per-subnet caps (the per-IP pending cap still applies). Nil means the
	// LAN ranges (loopback, RFC 1918, RFC 4193, link-local); an empty list
	// exempts nothing. The same list exempts addresses from the subnet
	// limits of discovery's table (discover.Config.IPLimitExempt).
	SubnetExempt *netutil.Netlist

	// TrustedOnly admits trusted nodes only, both ways: other inbound
	// connections are closed before the encryption handshake where the IP
	// tells (none of the trusted nodes has it), or refused at checkpoint 1
	// with DiscTooManyPeers, as are dialed connections to nodes that are
	// not trusted.
	TrustedOnly bool

	// EvictInbound, when inbound is full, lets a new inbound peer from a
	// subnet that has no inbound peer yet take the place of the weakest
	// unprotected inbound peer, which is disconnected with
	// DiscTooManyPeers, instead of being refused. Trusted and static peers,
	// one peer in each of a few subnets chosen by a secret hash, and the
	// few peers with the lowest RTT, most recently useful
	// (Peer.MarkUseful) and longest connected are protected; evictions are
	// rate limited. docs/limits.md has the details. Nil means on: without
	// eviction, idle peers that took every inbound slot keep everyone else
	// out.
	EvictInbound *bool
}

// Default limits.
const (
	defaultMaxPendingPerIP     = 4
	defaultMaxPendingPerSubnet = 8
	defaultSubnetBitsV4        = 24
	defaultSubnetBitsV6        = 48
	minPeersPerSubnet          = 2
)

// noLimit is what a negative limit becomes after withDefaults.
const noLimit = int(^uint(0) >> 1)

// withDefaults returns l with zero values replaced by the defaults and
// negative ones by noLimit. maxInbound and maxOutbound are the server's
// direction caps.
func (l Limits) withDefaults(maxInbound, maxOutbound int) Limits {
	def := func(v *int, d int) {
		switch {
		case *v == 0:
			*v = d
		case *v < 0:
			*v = noLimit
		}
	}
	def(&l.MaxPendingPerIP, defaultMaxPendingPerIP)
	def(&l.MaxPendingPerSubnet, defaultMaxPendingPerSubnet)
	def(&l.MaxInboundPerSubnet, max(maxInbound/4, minPeersPerSubnet))
	def(&l.MaxOutboundPerSubnet, max(maxOutbound/4, minPeersPerSubnet))
	if l.SubnetBitsV4 <= 0 {
		l.SubnetBitsV4 = defaultSubnetBitsV4
	}
	if l.SubnetBitsV6 <= 0 {
		l.SubnetBitsV6 = defaultSubnetBitsV6
	}
	l.SubnetBitsV4 = min(l.SubnetBitsV4, 32)
	l.SubnetBitsV6 = min(l.SubnetBitsV6, 128)
	return l
}

// subnet returns the subnet of ip for the per-subnet caps, and false if ip
// is invalid or exempt from them.
func (l *Limits) subnet(ip netip.Addr) (netip.Prefix, bool) {
	ip = ip.Unmap()
	if !ip.IsValid() || l.subnetExempt(ip) {
		return netip.Prefix{}, false
	}
	bits := l.SubnetBitsV6
	if ip.Is4() {
		bits = l.SubnetBitsV4
	}
	p, err := ip.Prefix(bits)
	return p, err == nil
}

// group returns the group of ip for eviction: its subnet, or for an
// address exempt from the subnet caps the address itself, so that exempt
// addresses (the LAN by default) are told apart one by one. It returns the
// zero prefix for an invalid ip.
func (l *Limits) group(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap()
	if !ip.IsValid() {
		return netip.Prefix{}
	}
	if p, ok := l.subnet(ip); ok {
		return p
	}
	return netip.PrefixFrom(ip, ip.BitLen())
}

// evictOn reports whether inbound eviction is on.
func (l *Limits) evictOn() bool { return l.EvictInbound == nil || *l.EvictInbound }

func (l *Limits) subnetExempt(ip netip.Addr) bool {
	if l.SubnetExempt == nil {
		return netutil.IsLAN(ip)
	}
	return l.SubnetExempt.Contains(ip)
}
