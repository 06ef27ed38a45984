package netutil

import (
	"errors"
	"net"
	"net/netip"
	"runtime"
	"syscall"
)

// AddrFromIP converts ip to a netip.Addr. IPv4 addresses, including IPv4
// addresses stored in 16 bytes, become 4-byte addresses (Is4 is true). A nil or
// malformed ip yields the zero Addr.
func AddrFromIP(ip net.IP) netip.Addr {
	if ip4 := ip.To4(); ip4 != nil {
		return netip.AddrFrom4([4]byte(ip4))
	}
	if len(ip) == net.IPv6len {
		return netip.AddrFrom16([16]byte(ip))
	}
	return netip.Addr{}
}

// AddrFromNetAddr returns the IP address of a *net.TCPAddr, *net.UDPAddr or
// *net.IPAddr, unmapped and without zone, or the zero Addr for other types.
func AddrFromNetAddr(addr net.Addr) netip.Addr {
	return AddrPortFromNetAddr(addr).Addr()
}

// AddrPortFromNetAddr returns the IP address and port of a *net.TCPAddr,
// *net.UDPAddr or *net.IPAddr (port 0), with the address unmapped and without
// zone. Other types yield the zero AddrPort.
func AddrPortFromNetAddr(addr net.Addr) netip.AddrPort {
	var (
		ip   net.IP
		port int
	)
	switch a := addr.(type) {
	case *net.TCPAddr:
		if a == nil {
			return netip.AddrPort{}
		}
		ip, port = a.IP, a.Port
	case *net.UDPAddr:
		if a == nil {
			return netip.AddrPort{}
		}
		ip, port = a.IP, a.Port
	case *net.IPAddr:
		if a == nil {
			return netip.AddrPort{}
		}
		ip = a.IP
	default:
		return netip.AddrPort{}
	}
	ipa := AddrFromIP(ip)
	if !ipa.IsValid() {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ipa, uint16(port))
}

// IsTemporaryError reports whether err, or an error it wraps, says of itself
// that it is temporary (a Temporary() bool method returning true). On Windows
// it is also true for WSAEMSGSIZE, which a UDP socket returns for datagrams
// larger than the receive buffer.
func IsTemporaryError(err error) bool {
	var te interface{ Temporary() bool }
	if errors.As(err, &te) && te.Temporary() {
		return true
	}
	return isPacketTooBig(err)
}

// IsTimeout reports whether err, or an error it wraps, is a timeout (a
// Timeout() bool method returning true), such as an expired I/O deadline.
func IsTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// wsaEMSGSIZE is the Windows error for a datagram that did not fit the buffer.
const wsaEMSGSIZE = syscall.Errno(10040)

func isPacketTooBig(err error) bool {
	return runtime.GOOS == "windows" && errors.Is(err, wsaEMSGSIZE)
}
