package nat

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	natpmp "github.com/jackpal/go-nat-pmp"
)

const (
	// pmpRequestTimeout bounds one NAT-PMP request, retransmissions
	// included (RFC 6886 §3.1: 250 ms, doubling).
	pmpRequestTimeout = 3 * time.Second
	// pmpProbeTimeout bounds the probe of one candidate gateway during
	// discovery (go-ethereum waits 1 s).
	pmpProbeTimeout = time.Second
)

// pmp maps ports with NAT-PMP (RFC 6886). The library sends to UDP port
// 5351 of the gateway, as the RFC fixes; only the gateway IP can be chosen.
type pmp struct {
	gw netip.Addr
	c  *natpmp.Client
}

func newPMP(gw netip.Addr) *pmp {
	return &pmp{gw: gw, c: natpmp.NewClientWithTimeout(net.IP(gw.AsSlice()), pmpRequestTimeout)}
}

// String returns "NAT-PMP(<gateway>)".
func (n *pmp) String() string { return "NAT-PMP(" + n.gw.String() + ")" }

// MarshalText returns the spec Parse accepts for n: "natpmp:<gateway>".
func (n *pmp) MarshalText() ([]byte, error) { return []byte("natpmp:" + n.gw.String()), nil }

// ExternalIP asks the gateway for its external address (RFC 6886 §3.2).
func (n *pmp) ExternalIP() (netip.Addr, error) {
	res, err := n.c.GetExternalAddress()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("nat-pmp: external address from %v: %w", n.gw, err)
	}
	ip := netip.AddrFrom4(res.ExternalIPAddress)
	if ip.IsUnspecified() {
		return netip.Addr{}, fmt.Errorf("nat-pmp: gateway %v has no external address", n.gw)
	}
	return ip, nil
}

// AddMapping requests a mapping (RFC 6886 §3.3). The gateway may grant
// another external port than the one suggested; that port is returned.
func (n *pmp) AddMapping(protocol string, extport, intport int, name string, lifetime time.Duration) (uint16, error) {
	proto, err := checkMapping(protocol, extport, intport, lifetime)
	if err != nil {
		return 0, err
	}
	if extport == 0 {
		extport = intport
	}
	secs := min(lifetime/time.Second, math.MaxUint32)
	res, err := n.c.AddPortMapping(proto, intport, extport, int(secs))
	if err != nil {
		return 0, fmt.Errorf("nat-pmp: mapping %s %d at %v: %w", proto, intport, n.gw, err)
	}
	if res.MappedExternalPort == 0 {
		return 0, fmt.Errorf("nat-pmp: gateway %v granted no port for %s %d", n.gw, proto, intport)
	}
	return res.MappedExternalPort, nil
}

// DeleteMapping removes the mapping of intport: a request with suggested
// external port and lifetime zero (RFC 6886 §3.4).
func (n *pmp) DeleteMapping(protocol string, extport, intport int) error {
	proto, err := checkMapping(protocol, 0, intport, time.Second)
	if err != nil {
		return err
	}
	if _, err := n.c.AddPortMapping(proto, intport, 0, 0); err != nil {
		return fmt.Errorf("nat-pmp: deleting %s %d at %v: %w", proto, intport, n.gw, err)
	}
	return nil
}

// discoverPMPAny finds a NAT-PMP gateway on the real network.
func discoverPMPAny(ctx context.Context) (Interface, error) {
	return discoverPMP(ctx, pmpCandidates(), pmpProbeTimeout)
}

// discoverPMP asks every candidate for its external address at once and
// returns the first that answers. It waits for all probes, which are
// bounded by timeout (or the context's deadline, if sooner); the library
// cannot abandon a probe when ctx is cancelled.
func discoverPMP(ctx context.Context, candidates []netip.Addr, timeout time.Duration) (Interface, error) {
	if len(candidates) == 0 {
		return nil, errors.New("no candidate gateway (no default route, no private IPv4 network)")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if timeout <= 0 {
		return nil, ctx.Err()
	}
	found := make(chan netip.Addr, len(candidates))
	for _, gw := range candidates {
		go func() {
			c := natpmp.NewClientWithTimeout(net.IP(gw.AsSlice()), timeout)
			if _, err := c.GetExternalAddress(); err != nil {
				gw = netip.Addr{}
			}
			found <- gw
		}()
	}
	var first netip.Addr
	for range candidates {
		if gw := <-found; gw.IsValid() && !first.IsValid() {
			first = gw
		}
	}
	if !first.IsValid() {
		return nil, fmt.Errorf("no answer from %v", candidates)
	}
	return newPMP(first), nil
}

// pmpCandidates lists the addresses that may be a NAT-PMP gateway: the
// IPv4 default gateways of the routing table (Linux), then the .1 address
// of each private IPv4 network of this host, as go-ethereum guesses.
func pmpCandidates() []netip.Addr {
	var gws []netip.Addr
	if f, err := os.Open("/proc/net/route"); err == nil {
		gws = parseProcNetRoute(f)
		f.Close()
	}
	ifaddrs, _ := net.InterfaceAddrs()
	for _, a := range ifaddrs {
		ipnet, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipnet.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		ones, _ := ipnet.Mask.Size()
		if !ip.Is4() || !ip.IsPrivate() || ones > 30 {
			continue
		}
		b := netip.PrefixFrom(ip, ones).Masked().Addr().As4()
		b[3] |= 1
		gws = append(gws, netip.AddrFrom4(b))
	}
	var out []netip.Addr
	for _, gw := range gws {
		if !slices.Contains(out, gw) {
			out = append(out, gw)
		}
	}
	return out
}

// parseProcNetRoute returns the gateways of the default routes in a Linux
// /proc/net/route table. Addresses there are hexadecimal in host byte
// order, which is little-endian on every platform this matters for.
func parseProcNetRoute(r io.Reader) []netip.Addr {
	const rtfGateway = 0x2
	var gws []netip.Addr
	sc := bufio.NewScanner(r)
	sc.Scan() // header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 || f[1] != "00000000" || f[7] != "00000000" {
			continue // not a default route
		}
		flags, err := strconv.ParseUint(f[3], 16, 32)
		if err != nil || flags&rtfGateway == 0 {
			continue
		}
		b, err := hex.DecodeString(f[2])
		if err != nil || len(b) != 4 {
			continue
		}
		gw := netip.AddrFrom4([4]byte{b[3], b[2], b[1], b[0]})
		if !gw.IsUnspecified() {
			gws = append(gws, gw)
		}
	}
	return gws
}
