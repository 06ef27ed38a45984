// Package enode implements node identities: node IDs, the "v4" identity
// scheme for node records, Node (a verified record with its endpoints),
// enode:// URLs, the local node's record and iterators over nodes.
package enode

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enr"
)

// Node is a host on the network: a node record whose signature has been
// verified, its node ID and the endpoint chosen from the record.
//
// A Node is immutable and safe for concurrent use. Methods that "modify" a
// node (WithHostname, Resolve) return a new one.
type Node struct {
	r  enr.Record
	id ID

	pub    crypto.PublicKey // valid if hasPub
	hasPub bool

	// hostname is the DNS name of the node, from an enode:// URL.
	hostname string

	// The endpoint chosen from the record.
	ip       netip.Addr
	udp, tcp uint16
}

// New verifies the signature of r with the given identity scheme (usually
// ValidSchemes) and returns the node. The record is copied.
func New(schemes enr.IdentityScheme, r *enr.Record) (*Node, error) {
	if isV4Scheme(schemes, r.IdentityScheme()) {
		// The common case: verify and derive the ID from one key parse.
		pub, err := verifyV4(r, r.Signature())
		if err != nil {
			return nil, err
		}
		return newNode(r, PubkeyToIDV4(&pub), &pub), nil
	}
	if err := r.VerifySignature(schemes); err != nil {
		return nil, err
	}
	addr := schemes.NodeAddr(r)
	if len(addr) != len(ID{}) {
		return nil, fmt.Errorf("invalid node ID length %d, need %d", len(addr), len(ID{}))
	}
	return newNode(r, ID(addr), nil), nil
}

// newNode makes a node of a verified record. pub is the node's key if the
// caller has it; otherwise it is loaded from the record when present.
func newNode(r *enr.Record, id ID, pub *crypto.PublicKey) *Node {
	n := &Node{r: *r, id: id}
	if pub != nil {
		n.pub, n.hasPub = *pub, true
	} else {
		n.pub, n.hasPub = loadPubkey(r)
	}
	n.setEndpoint()
	return n
}

// setEndpoint picks the node's IP and ports from its record. If the record
// has both an IPv4 and an IPv6 address, the more global one wins (public >
// private > link-local > loopback > unspecified), IPv4 on a tie. IPv6
// addresses use the "udp6"/"tcp6" ports, falling back to "udp"/"tcp".
func (n *Node) setEndpoint() {
	var ip4, ip6 netip.Addr
	n.r.Load((*enr.IPv4)(&ip4))
	n.r.Load((*enr.IPv6)(&ip6))
	ip6 = ip6.Unmap()
	valid4, valid6 := validIP(ip4), validIP(ip6)
	if valid4 && valid6 && localityScore(ip4) < localityScore(ip6) {
		valid4 = false
	}
	switch {
	case valid4:
		n.ip = ip4
	case valid6:
		n.ip = ip6
	}
	n.r.Load((*enr.UDP)(&n.udp))
	n.r.Load((*enr.TCP)(&n.tcp))
	if n.ip.Is6() {
		n.r.Load((*enr.UDP6)(&n.udp))
		n.r.Load((*enr.TCP6)(&n.tcp))
	}
}

// validIP reports whether ip may be a node's endpoint address.
func validIP(ip netip.Addr) bool {
	return ip.IsValid() && !ip.IsMulticast()
}

// localityScore ranks addresses from local (0) to global (4).
func localityScore(ip netip.Addr) int {
	switch {
	case ip.IsUnspecified():
		return 0
	case ip.IsLoopback():
		return 1
	case ip.IsLinkLocalUnicast():
		return 2
	case ip.IsPrivate():
		return 3
	default:
		return 4
	}
}

// ID returns the node ID.
func (n *Node) ID() ID {
	return n.id
}

// Seq returns the sequence number of the node's record.
func (n *Node) Seq() uint64 {
	return n.r.Seq()
}

// Load reads an entry of the node's record; see enr.Record.Load.
func (n *Node) Load(e enr.Entry) error {
	return n.r.Load(e)
}

// Record returns a copy of the node's record, which the caller may modify.
func (n *Node) Record() *enr.Record {
	cpy := n.r
	return &cpy
}

// Pubkey returns a copy of the node's secp256k1 public key, or nil if the
// record has no valid "secp256k1" entry.
func (n *Node) Pubkey() *crypto.PublicKey {
	if !n.hasPub {
		return nil
	}
	pub := n.pub
	return &pub
}

// IP returns the node's IP address (4 bytes for IPv4), or nil.
func (n *Node) IP() net.IP {
	if !n.ip.IsValid() {
		return nil
	}
	return net.IP(n.ip.AsSlice())
}

// IPAddr returns the node's IP address, or the zero Addr. IPv4 addresses are
// never returned in their IPv4-mapped IPv6 form.
func (n *Node) IPAddr() netip.Addr {
	return n.ip
}

// UDP returns the node's UDP (discovery) port, or 0.
func (n *Node) UDP() int {
	return int(n.udp)
}

// TCP returns the node's TCP (RLPx) port, or 0.
func (n *Node) TCP() int {
	return int(n.tcp)
}

// UDPEndpoint returns the node's UDP endpoint. It is false if the node has no
// IP address, an unspecified one or no UDP port.
func (n *Node) UDPEndpoint() (netip.AddrPort, bool) {
	if !n.ip.IsValid() || n.ip.IsUnspecified() || n.udp == 0 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(n.ip, n.udp), true
}

// TCPEndpoint returns the node's TCP endpoint. It is false if the node has no
// IP address, an unspecified one or no TCP port.
func (n *Node) TCPEndpoint() (netip.AddrPort, bool) {
	if !n.ip.IsValid() || n.ip.IsUnspecified() || n.tcp == 0 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(n.ip, n.tcp), true
}

// QUICEndpoint returns the node's QUIC endpoint ("quic" or, for IPv6,
// "quic6"). It is false if there is none.
func (n *Node) QUICEndpoint() (netip.AddrPort, bool) {
	var quic uint16
	if n.ip.Is4() {
		n.r.Load((*enr.QUIC)(&quic))
	} else if n.ip.Is6() {
		n.r.Load((*enr.QUIC6)(&quic))
	}
	if !n.ip.IsValid() || n.ip.IsUnspecified() || quic == 0 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(n.ip, quic), true
}

// WithHostname returns a copy of n with the given DNS name. The name is kept
// for resolution by Resolve and for URLv4; it does not change the record.
func (n *Node) WithHostname(hostname string) *Node {
	cpy := *n
	cpy.hostname = hostname
	return &cpy
}

// Hostname returns the DNS name of the node, set by WithHostname or parsed
// from an enode:// URL, or "".
func (n *Node) Hostname() string {
	return n.hostname
}

// ValidateComplete checks that n has what it takes to be contacted through
// discovery: a valid IP that is neither multicast nor unspecified, a UDP port
// and a valid public key.
func (n *Node) ValidateComplete() error {
	switch {
	case !n.ip.IsValid():
		return errors.New("missing IP address")
	case n.ip.IsMulticast() || n.ip.IsUnspecified():
		return errors.New("invalid IP (multicast/unspecified)")
	case n.udp == 0:
		return errors.New("missing UDP port")
	case !n.hasPub:
		return errors.New("missing or invalid public key")
	}
	return nil
}

// String returns the text form of the node: an enode:// URL for nodes made
// by NewV4 or ParseV4 (records without identity scheme and signature), the
// "enr:" text of the record otherwise.
func (n *Node) String() string {
	if n.isNewV4() {
		return n.URLv4()
	}
	text, err := n.r.MarshalText()
	if err != nil {
		return n.URLv4()
	}
	return string(text)
}

// isNewV4 reports whether n was made by NewV4: a record with a public key,
// no identity scheme and an empty signature.
func (n *Node) isNewV4() bool {
	return n.hasPub && !n.r.Has("id") && len(n.r.Signature()) == 0
}

// MarshalText implements encoding.TextMarshaler, returning String().
func (n *Node) MarshalText() ([]byte, error) {
	return []byte(n.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler. It accepts what
// Parse(ValidSchemes, …) accepts.
func (n *Node) UnmarshalText(text []byte) error {
	dec, err := Parse(ValidSchemes, string(text))
	if err != nil {
		return err
	}
	*n = *dec
	return nil
}
