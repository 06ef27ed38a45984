package enode

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/devp2p-go/devp2p/enr"
)

// Resolver looks up the IP addresses of a host name. *net.Resolver
// implements it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// ErrNoResolvedIP means a DNS lookup found no address for a node's hostname.
var ErrNoResolvedIP = errors.New("enode: no IP address found for node hostname")

// Resolve looks up the DNS name of n (see Hostname) and returns a node with
// the first IPv4 and the first IPv6 address found, replacing the record's
// "ip" and "ip6" entries (a family missing from the answer is removed). A node
// without hostname, or whose addresses did not change, is returned as it is.
// A nil resolver means net.DefaultResolver. The lookup is bounded by ctx only:
// callers choose the timeout (go-ethereum uses 5 seconds).
//
// Like go-ethereum, the resolved node keeps the hostname, the ID, the public
// key and the sequence number, but its record loses any real signature: a
// NewV4 node stays a NewV4 node, and a node with a signed record gets the
// "null" scheme. Use the result as a dial target, not as a record to relay.
func Resolve(ctx context.Context, n *Node, resolver Resolver) (*Node, error) {
	if n.hostname == "" {
		return n, nil
	}
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	ips, err := resolver.LookupNetIP(ctx, "ip", n.hostname)
	if err != nil {
		return n, fmt.Errorf("enode: DNS lookup of %q failed: %w", n.hostname, err)
	}
	var ip4, ip6 netip.Addr
	for _, ip := range ips {
		ip = ip.Unmap().WithZone("")
		switch {
		case ip.Is4() && !ip4.IsValid():
			ip4 = ip
		case ip.Is6() && !ip6.IsValid():
			ip6 = ip
		}
	}
	if !ip4.IsValid() && !ip6.IsValid() {
		return n, fmt.Errorf("%w: %q", ErrNoResolvedIP, n.hostname)
	}
	var cur4, cur6 netip.Addr
	n.r.Load((*enr.IPv4)(&cur4))
	n.r.Load((*enr.IPv6)(&cur6))
	if cur4 == ip4 && cur6 == ip6 {
		return n, nil
	}
	return n.withIPs(ip4, ip6), nil
}

// withIPs returns a copy of n whose record has the given addresses.
func (n *Node) withIPs(ip4, ip6 netip.Addr) *Node {
	r := n.Record()
	r.Delete("ip")
	r.Delete("ip6")
	if ip4.IsValid() {
		r.Set(enr.IPv4(ip4))
	}
	if ip6.IsValid() {
		r.Set(enr.IPv6(ip6))
	}
	r.SetSeq(n.Seq())
	var nn *Node
	if n.isNewV4() {
		nn = newV4Compat(r, &n.pub)
	} else {
		r.Set(enr.ID("null"))
		r.Set(enr.WithEntry("nulladdr", n.id))
		if err := r.SetSig(NullID{}, []byte{}); err != nil {
			// The record grew past the size limit: keep the old record and
			// use the address for dialing only.
			nn = n.WithHostname(n.hostname)
			nn.ip = ip4
			if !ip4.IsValid() {
				nn.ip = ip6
			}
			return nn
		}
		nn = newNode(r, n.id, n.Pubkey())
	}
	nn.hostname = n.hostname
	return nn
}
