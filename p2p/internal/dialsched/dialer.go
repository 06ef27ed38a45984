package dialsched

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/netutil"
)

// DNSTimeout bounds the lookup of a node's DNS name, as in go-ethereum.
const DNSTimeout = 5 * time.Second

// TCPDialer is the default NodeDialer: plain TCP.
//
// A node with a DNS name (from an enode:// URL such as
// enode://…@boot.example.org:30303) is looked up at every dial, so a name
// that moves to another address is followed. The first IPv4 and the first
// IPv6 answer are tried, in that order; if the lookup fails, the node's own
// IP, if any, is dialed.
type TCPDialer struct {
	// Timeout bounds each TCP connect. Zero means DefaultDialTimeout.
	Timeout time.Duration

	// NetRestrict, if non-nil, drops addresses outside the list. The
	// scheduler checks nodes with an IP itself; this catches addresses that
	// come from DNS.
	NetRestrict *netutil.Netlist

	// LookupNetIP resolves DNS names. Nil means net.DefaultResolver.LookupNetIP.
	LookupNetIP func(ctx context.Context, network, host string) ([]netip.Addr, error)

	// LocalIP, if valid, is the source address of dials to addresses it
	// can reach: of the same family, and loopback only to loopback. Other
	// dials leave from the address the system chooses.
	LocalIP netip.Addr
}

// Errors of TCPDialer.
var (
	errNoEndpoint   = errors.New("node has no TCP endpoint")
	errNoAllowedIP  = errors.New("no resolved address inside netrestrict list")
	errNoResolvedIP = errors.New("DNS name resolved to no address")
)

// Dial connects to n.
func (d TCPDialer) Dial(ctx context.Context, n *enode.Node) (net.Conn, error) {
	addrs, err := d.endpoints(ctx, n)
	if err != nil {
		return nil, err
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	var firstErr error
	for _, addr := range addrs {
		nd := net.Dialer{Timeout: timeout}
		if d.usesLocalIP(addr.Addr()) {
			nd.LocalAddr = &net.TCPAddr{IP: d.LocalIP.AsSlice()}
		}
		fd, err := nd.DialContext(ctx, "tcp", addr.String())
		if err == nil {
			return fd, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, firstErr
}

// usesLocalIP reports whether a dial to dest leaves from LocalIP.
func (d TCPDialer) usesLocalIP(dest netip.Addr) bool {
	local, dest := d.LocalIP.Unmap(), dest.Unmap()
	return local.IsValid() && !local.IsUnspecified() && local.Is4() == dest.Is4() &&
		(!local.IsLoopback() || dest.IsLoopback())
}

// endpoints returns the addresses to try for n, best first.
func (d TCPDialer) endpoints(ctx context.Context, n *enode.Node) ([]netip.AddrPort, error) {
	if n.Hostname() == "" {
		ep, ok := n.TCPEndpoint()
		if !ok {
			return nil, errNoEndpoint
		}
		if d.NetRestrict != nil && !d.NetRestrict.Contains(ep.Addr()) {
			return nil, errNetRestrict
		}
		return []netip.AddrPort{ep}, nil
	}
	port := uint16(n.TCP())
	if port == 0 {
		return nil, errNoPort
	}
	ips, lookupErr := d.lookup(ctx, n.Hostname())
	var ip4, ip6 netip.Addr
	for _, ip := range ips {
		ip = ip.Unmap()
		if d.NetRestrict != nil && !d.NetRestrict.Contains(ip) {
			continue
		}
		if ip.Is4() && !ip4.IsValid() {
			ip4 = ip
		} else if ip.Is6() && !ip6.IsValid() {
			ip6 = ip
		}
	}
	var out []netip.AddrPort
	for _, ip := range []netip.Addr{ip4, ip6} {
		if ip.IsValid() {
			out = append(out, netip.AddrPortFrom(ip, port))
		}
	}
	switch {
	case len(out) > 0:
		return out, nil
	case lookupErr != nil && n.IPAddr().IsValid():
		// The name does not resolve now; the address it had before may
		// still be right.
		if ep, ok := n.TCPEndpoint(); ok && (d.NetRestrict == nil || d.NetRestrict.Contains(ep.Addr())) {
			return []netip.AddrPort{ep}, nil
		}
		return nil, fmt.Errorf("lookup %s: %w", n.Hostname(), lookupErr)
	case lookupErr != nil:
		return nil, fmt.Errorf("lookup %s: %w", n.Hostname(), lookupErr)
	case len(ips) > 0:
		return nil, errNoAllowedIP
	default:
		return nil, errNoResolvedIP
	}
}

func (d TCPDialer) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(ctx, DNSTimeout)
	defer cancel()
	lookup := d.LookupNetIP
	if lookup == nil {
		lookup = net.DefaultResolver.LookupNetIP
	}
	return lookup(ctx, "ip", host)
}

// nodeAddr formats the address a node is dialed at, for logs.
func nodeAddr(n *enode.Node) string {
	if h := n.Hostname(); h != "" {
		return net.JoinHostPort(h, fmt.Sprint(n.TCP()))
	}
	if ep, ok := n.TCPEndpoint(); ok {
		return ep.String()
	}
	if ip := n.IPAddr(); ip.IsValid() {
		return ip.String()
	}
	return ""
}
