// Package nat opens ports on the network's NAT gateway and finds the node's
// external address, so that the address can go into the node record.
//
// Three mechanisms sit behind one Interface: a fixed external IP (ExtIP,
// for hosts with a public address or manual port forwarding), UPnP Internet
// Gateway Devices (IGDv1 and IGDv2, through github.com/huin/goupnp) and
// NAT-PMP (RFC 6886, through github.com/jackpal/go-nat-pmp). Parse turns
// go-ethereum's --nat spellings into an Interface; a Mapper keeps one
// mapping alive and reports its external address.
//
// Discovery of a gateway never happens in Parse: the Interfaces returned for
// "any", "upnp" and "pmp" find their gateway on first use, bounded in time,
// and search again on a later call if nothing was found.
package nat

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Interface is a way to map ports and learn the external address. Calls
// may block on network round trips to the gateway; each is bounded by a
// timeout of a few seconds. Implementations in this package are safe for
// concurrent use.
type Interface interface {
	// AddMapping maps extport on the gateway's external address to intport
	// on this host for protocol ("tcp" or "udp"), for lifetime. An extport
	// of zero asks for intport. The gateway may grant another external
	// port; the one granted is returned. name describes the mapping in the
	// gateway's user interface.
	AddMapping(protocol string, extport, intport int, name string, lifetime time.Duration) (uint16, error)

	// DeleteMapping removes a mapping made by AddMapping.
	DeleteMapping(protocol string, extport, intport int) error

	// ExternalIP returns the gateway's external address.
	ExternalIP() (netip.Addr, error)

	// String describes the mechanism for logs, such as "NAT-PMP(192.168.1.1)".
	String() string
}

// ErrNoGateway is returned (wrapped, with the reasons) by the Interfaces of
// "any", "upnp" and "pmp" when discovery found no usable gateway.
var ErrNoGateway = errors.New("nat: no gateway found")

// Parse errors.
var (
	errNoArg     = errors.New("takes no argument")
	errNeedIP    = errors.New("needs an IP address, as in extip:203.0.113.7")
	errPMPNotIP4 = errors.New("NAT-PMP gateway must be an IPv4 address")
)

// Parse returns the Interface a --nat value names, with go-ethereum's
// spellings:
//
//	"", "none", "off"         no mapping: nil Interface, nil error
//	"any", "auto", "on"       UPnP or NAT-PMP, whichever is found first
//	"extip:<IP>", "ip:<IP>"   a fixed external address, no mapping
//	"upnp"                    UPnP IGD, found by SSDP
//	"pmp", "natpmp", "nat-pmp"[:<gateway IP>]
//	                          NAT-PMP, at the gateway given or one found
//
// Mechanism names are case-insensitive. Parse does no network I/O, so it can
// validate configuration. go-ethereum's "stun" is refused with an error.
func Parse(spec string) (Interface, error) {
	mech, arg, hasArg := strings.Cut(spec, ":")
	fail := func(err error) (Interface, error) {
		return nil, fmt.Errorf("nat: %q: %s %w", spec, strings.ToLower(mech), err)
	}
	switch strings.ToLower(mech) {
	case "", "none", "off":
		if hasArg {
			return fail(errNoArg)
		}
		return nil, nil
	case "any", "auto", "on":
		if hasArg {
			return fail(errNoArg)
		}
		return Any(), nil
	case "extip", "ip":
		ip, err := netip.ParseAddr(arg)
		if err != nil || ip.Zone() != "" {
			return fail(errNeedIP)
		}
		return ExtIP(ip.Unmap()), nil
	case "upnp":
		if hasArg {
			return fail(errNoArg)
		}
		return UPnP(), nil
	case "pmp", "natpmp", "nat-pmp":
		if !hasArg {
			return PMP(netip.Addr{}), nil
		}
		gw, err := netip.ParseAddr(arg)
		if err != nil {
			return fail(errors.New("needs a gateway IP address after the colon"))
		}
		if gw = gw.Unmap(); !gw.Is4() {
			return fail(errPMPNotIP4)
		}
		return PMP(gw), nil
	case "stun":
		return nil, fmt.Errorf("nat: %q: stun is not supported (use extip:<IP>, upnp, pmp or any)", spec)
	}
	return nil, fmt.Errorf("nat: unknown mechanism %q (want none, any, extip:<IP>, upnp or pmp[:<gateway IP>])", spec)
}

// Any returns an Interface that looks for a UPnP gateway and a NAT-PMP
// gateway at the same time and uses whichever answers first. Discovery
// runs on first use.
func Any() Interface {
	return newAutodisc("any", discoverAny)
}

// UPnP returns an Interface for the first UPnP Internet Gateway Device that
// answers an SSDP search on the local networks. Discovery runs on first use.
func UPnP() Interface {
	return newAutodisc("upnp", discoverUPnPAny)
}

// PMP returns an Interface for NAT-PMP. If gateway is valid it is used
// as is; otherwise the gateway is searched for on first use among the
// default routes and the .1 address of each private IPv4 network this host
// is on.
func PMP(gateway netip.Addr) Interface {
	if gateway.IsValid() {
		return newPMP(gateway)
	}
	return newAutodisc("natpmp", discoverPMPAny)
}

// ExtIP is a fixed external address: the host has a public IP, or the
// operator forwards ports by hand. Mapping calls succeed without doing
// anything.
type ExtIP netip.Addr

// ExternalIP returns the address.
func (n ExtIP) ExternalIP() (netip.Addr, error) { return netip.Addr(n), nil }

// String returns "ExtIP(<address>)".
func (n ExtIP) String() string { return "ExtIP(" + netip.Addr(n).String() + ")" }

// MarshalText returns the spec Parse accepts for n: "extip:<address>".
func (n ExtIP) MarshalText() ([]byte, error) {
	return []byte("extip:" + netip.Addr(n).String()), nil
}

// AddMapping maps nothing and reports extport (or intport if extport is
// zero) as the external port.
func (ExtIP) AddMapping(protocol string, extport, intport int, name string, lifetime time.Duration) (uint16, error) {
	if extport == 0 {
		extport = intport
	}
	return uint16(extport), nil
}

// DeleteMapping does nothing.
func (ExtIP) DeleteMapping(protocol string, extport, intport int) error { return nil }

// checkMapping validates the arguments of AddMapping for the gateway
// mechanisms and returns the protocol in lower case.
func checkMapping(protocol string, extport, intport int, lifetime time.Duration) (string, error) {
	p := strings.ToLower(protocol)
	if p != "tcp" && p != "udp" {
		return "", fmt.Errorf("nat: protocol %q is not tcp or udp", protocol)
	}
	if intport < 1 || intport > 65535 {
		return "", fmt.Errorf("nat: internal port %d out of range", intport)
	}
	if extport < 0 || extport > 65535 {
		return "", fmt.Errorf("nat: external port %d out of range", extport)
	}
	if lifetime < time.Second {
		return "", fmt.Errorf("nat: mapping lifetime %v is shorter than a second", lifetime)
	}
	return p, nil
}
