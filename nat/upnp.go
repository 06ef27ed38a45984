package nat

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/devp2p-go/devp2p/internal/mclock"
	"github.com/huin/goupnp"
	"github.com/huin/goupnp/dcps/internetgateway2"
	"github.com/huin/goupnp/soap"
)

const (
	// upnpRequestTimeout bounds one SOAP request (go-ethereum: 3 s).
	upnpRequestTimeout = 3 * time.Second
	// upnpMinInterval is the least time between two requests to a gateway;
	// some routers drop requests that come faster (go-ethereum: 200 ms).
	upnpMinInterval = 200 * time.Millisecond
	// upnpRetries is how often the requested port is tried again after a
	// failure other than a conflict, and upnpRandomPorts how many random
	// ports in [upnpRandomMin, 65535] are tried after that (go-ethereum:
	// 3 and 3, ports from 10000).
	upnpRetries     = 3
	upnpRandomPorts = 3
	upnpRandomMin   = 10000
)

// UPnP error codes of WANIPConnection (UPnP IGD:2, WANIPConnection:2
// service, section 2.4) that AddMapping handles.
const (
	upnpErrConflict      = 718 // ConflictInMappingEntry: another host holds the port
	upnpErrOnlyPermanent = 725 // OnlyPermanentLeasesSupported: lease must be 0
)

// upnpClient is what this package uses of goupnp's generated clients for
// WANIPConnection:1, WANIPConnection:2 and WANPPPConnection:1.
type upnpClient interface {
	GetExternalIPAddressCtx(ctx context.Context) (string, error)
	AddPortMappingCtx(ctx context.Context, remoteHost string, extPort uint16, proto string, intPort uint16, intClient string, enabled bool, desc string, lease uint32) error
	DeletePortMappingCtx(ctx context.Context, remoteHost string, extPort uint16, proto string) error
	GetNATRSIPStatusCtx(ctx context.Context) (rsip, nat bool, err error)
}

// upnpServices are the services that can map ports, best first:
// WANIPConnection:2 has AddAnyPortMapping, which lets the gateway pick a
// free port.
var upnpServices = []struct {
	urn  string
	name string
	wrap func(goupnp.ServiceClient) upnpClient
}{
	{internetgateway2.URN_WANIPConnection_2, "WANIPConnection:2", func(sc goupnp.ServiceClient) upnpClient {
		return &internetgateway2.WANIPConnection2{ServiceClient: sc}
	}},
	{internetgateway2.URN_WANIPConnection_1, "WANIPConnection:1", func(sc goupnp.ServiceClient) upnpClient {
		return &internetgateway2.WANIPConnection1{ServiceClient: sc}
	}},
	{internetgateway2.URN_WANPPPConnection_1, "WANPPPConnection:1", func(sc goupnp.ServiceClient) upnpClient {
		return &internetgateway2.WANPPPConnection1{ServiceClient: sc}
	}},
}

// upnp maps ports on a UPnP Internet Gateway Device.
type upnp struct {
	service string // name from upnpServices
	host    string // host:port of the service's control URL
	client  upnpClient
	clock   mclock.Clock
	minGap  time.Duration // upnpMinInterval; tests lower it

	mu      sync.Mutex // guards following; held for each request, so requests do not overlap
	lastReq mclock.AbsTime
	reqDone bool // a request was made; lastReq is set
	rand    *rand.Rand
}

// String returns "UPnP(<service> at <host>)".
func (n *upnp) String() string { return "UPnP(" + n.service + " at " + n.host + ")" }

// MarshalText returns the spec Parse accepts for n: "upnp".
func (n *upnp) MarshalText() ([]byte, error) { return []byte("upnp"), nil }

// ExternalIP asks the gateway for its external address.
func (n *upnp) ExternalIP() (netip.Addr, error) {
	var s string
	err := n.request(context.Background(), func(ctx context.Context) (err error) {
		s, err = n.client.GetExternalIPAddressCtx(ctx)
		return err
	})
	if err != nil {
		return netip.Addr{}, fmt.Errorf("upnp: external address: %w", err)
	}
	ip, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("upnp: gateway sent a bad external address %q", s)
	}
	if ip.IsUnspecified() {
		return netip.Addr{}, errors.New("upnp: gateway has no external address")
	}
	return ip.Unmap(), nil
}

// AddMapping maps a port. With WANIPConnection:2 the gateway picks a free
// port near the one requested. Otherwise the requested port is tried (again
// on transient faults), then random ports if it is taken. A gateway that
// accepts only permanent leases gets lease 0; the Mapper deletes the
// mapping on stop.
func (n *upnp) AddMapping(protocol string, extport, intport int, name string, lifetime time.Duration) (uint16, error) {
	proto, err := checkMapping(protocol, extport, intport, lifetime)
	if err != nil {
		return 0, err
	}
	proto = strings.ToUpper(proto)
	if extport == 0 {
		extport = intport
	}
	internal, err := localAddrTo(n.host)
	if err != nil {
		return 0, fmt.Errorf("upnp: %w", err)
	}
	lease := uint32(min(lifetime/time.Second, math.MaxUint32))

	if c, ok := n.client.(*internetgateway2.WANIPConnection2); ok {
		var port uint16
		err := n.request(context.Background(), func(ctx context.Context) (err error) {
			port, err = c.AddAnyPortMappingCtx(ctx, "", uint16(extport), proto, uint16(intport), internal.String(), true, name, lease)
			return err
		})
		if err == nil && port != 0 {
			return port, nil
		}
		// Some IGDv2 devices implement AddAnyPortMapping badly: fall back.
	}

	add := func(port uint16) error {
		err := n.add(proto, port, intport, internal, name, lease)
		if upnpErrorCode(err) == upnpErrOnlyPermanent {
			err = n.add(proto, port, intport, internal, name, 0)
		}
		return err
	}
	for range upnpRetries + 1 {
		if err = add(uint16(extport)); err == nil {
			return uint16(extport), nil
		}
		if code := upnpErrorCode(err); code == 0 || code == upnpErrConflict {
			break // unreachable gateway, or the port is taken: retrying cannot help
		}
	}
	if upnpErrorCode(err) != 0 {
		for range upnpRandomPorts {
			port := n.randomPort()
			if err = add(port); err == nil {
				return port, nil
			}
		}
	}
	return 0, fmt.Errorf("upnp: mapping %s %d: %w", proto, intport, err)
}

func (n *upnp) add(proto string, extport uint16, intport int, internal netip.Addr, name string, lease uint32) error {
	return n.request(context.Background(), func(ctx context.Context) error {
		return n.client.AddPortMappingCtx(ctx, "", extport, proto, uint16(intport), internal.String(), true, name, lease)
	})
}

// DeleteMapping removes the mapping of extport.
func (n *upnp) DeleteMapping(protocol string, extport, intport int) error {
	proto, err := checkMapping(protocol, extport, max(intport, 1), time.Second)
	if err != nil {
		return err
	}
	err = n.request(context.Background(), func(ctx context.Context) error {
		return n.client.DeletePortMappingCtx(ctx, "", uint16(extport), strings.ToUpper(proto))
	})
	if err != nil {
		return fmt.Errorf("upnp: deleting %s %d: %w", proto, extport, err)
	}
	return nil
}

// natEnabled reports whether the service does NAT. A gateway that cannot
// answer is given the benefit of the doubt; one that says no is not used.
func (n *upnp) natEnabled(ctx context.Context) bool {
	var enabled bool
	err := n.request(ctx, func(ctx context.Context) (err error) {
		_, enabled, err = n.client.GetNATRSIPStatusCtx(ctx)
		return err
	})
	return err != nil || enabled
}

// request runs one SOAP request under its timeout (and ctx), at least
// minGap after the previous request ended.
func (n *upnp) request(ctx context.Context, fn func(context.Context) error) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.reqDone {
		if since := n.clock.Now().Sub(n.lastReq); since >= 0 && since < n.minGap {
			n.clock.Sleep(n.minGap - since)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, upnpRequestTimeout)
	defer cancel()
	err := fn(ctx)
	n.lastReq, n.reqDone = n.clock.Now(), true
	return err
}

// randomPort returns a port in [upnpRandomMin, 65535]. n.mu must not be held.
func (n *upnp) randomPort() uint16 {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.rand == nil {
		n.rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return uint16(upnpRandomMin + n.rand.IntN(65536-upnpRandomMin))
}

// upnpErrorCode returns the UPnP error code of a SOAP fault, or 0 if err
// is not one.
func upnpErrorCode(err error) int {
	var fault *soap.SOAPFaultError
	if errors.As(err, &fault) {
		if code := fault.Detail.UPnPError.Errorcode; code != 0 {
			return code
		}
		return -1 // a fault without a UPnP code
	}
	return 0
}

// localAddrTo returns this host's address on the route to hostport: the
// address the gateway sees and must forward to. Connecting a UDP socket
// sends nothing.
func localAddrTo(hostport string) (netip.Addr, error) {
	c, err := net.Dial("udp4", hostport)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("no route to gateway %s: %w", hostport, err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(), nil
}

// newUPnP picks the best port-mapping service of a root device, skipping
// services that say they do not do NAT.
func newUPnP(ctx context.Context, root *goupnp.RootDevice, loc *url.URL) (*upnp, error) {
	for _, s := range upnpServices {
		clients, err := goupnp.NewServiceClientsFromRootDevice(root, loc, s.urn)
		if err != nil {
			continue // the device lacks this service
		}
		for _, sc := range clients {
			n := &upnp{
				service: s.name,
				host:    hostPort(&sc.Service.ControlURL.URL),
				client:  s.wrap(sc),
				clock:   mclock.System{},
				minGap:  upnpMinInterval,
			}
			if n.natEnabled(ctx) {
				return n, nil
			}
		}
	}
	return nil, fmt.Errorf("device at %v has no port-mapping service with NAT enabled", loc)
}

// hostPort returns the host:port of u, with the scheme's default port if
// it has none.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	if u.Scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// upnpAt makes an Interface from a known device description URL, without
// SSDP (tests use it to reach a fake gateway).
func upnpAt(ctx context.Context, loc *url.URL) (*upnp, error) {
	root, err := goupnp.DeviceByURLCtx(ctx, loc)
	if err != nil {
		return nil, err
	}
	return newUPnP(ctx, root, loc)
}

// discoverUPnPAny searches the local networks for IGDv1 and IGDv2 devices
// with SSDP (multicast to 239.255.255.250:1900) and returns the first
// usable one.
func discoverUPnPAny(ctx context.Context) (Interface, error) {
	return firstFound(ctx, map[string]discoverFunc{
		"IGDv1": func(ctx context.Context) (Interface, error) {
			return discoverUPnP(ctx, internetgateway2.URN_WANConnectionDevice_1)
		},
		"IGDv2": func(ctx context.Context) (Interface, error) {
			return discoverUPnP(ctx, internetgateway2.URN_WANConnectionDevice_2)
		},
	})
}

// discoverUPnP runs one SSDP search for target. It is the only code of
// this package that needs a real network; tests bypass it with upnpAt.
func discoverUPnP(ctx context.Context, target string) (Interface, error) {
	devs, err := goupnp.DiscoverDevicesCtx(ctx, target)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, d := range devs {
		if d.Err != nil {
			errs = append(errs, d.Err)
			continue
		}
		n, err := newUPnP(ctx, d.Root, d.Location)
		if err == nil {
			return n, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, errors.New("no device answered the SSDP search")
	}
	return nil, joinErrors(errs)
}
