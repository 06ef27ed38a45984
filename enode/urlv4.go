package enode

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enr"
	"github.com/devp2p-go/devp2p/netutil"
)

// Parse decodes a node from its text form and verifies it: an "enr:" record
// (checked with schemes, usually ValidSchemes) or an enode:// URL (see
// ParseV4). Any other input fails with enr.ErrMissingPrefix.
func Parse(schemes enr.IdentityScheme, input string) (*Node, error) {
	if strings.HasPrefix(input, "enode://") {
		return ParseV4(input)
	}
	r, err := enr.Parse(input)
	if err != nil {
		return nil, err
	}
	return New(schemes, r)
}

// MustParse is like Parse with ValidSchemes but panics on invalid input. It
// is meant for constants in programs and tests.
func MustParse(input string) *Node {
	n, err := Parse(ValidSchemes, input)
	if err != nil {
		panic("invalid node: " + err.Error())
	}
	return n
}

// MustParseV4 is like ParseV4 but panics on invalid input.
func MustParseV4(rawurl string) *Node {
	n, err := ParseV4(rawurl)
	if err != nil {
		panic("invalid node URL: " + err.Error())
	}
	return n
}

// ParseV4 parses an enode:// URL, as go-ethereum does.
//
// A complete URL names the node's public key (128 hex digits) as user, its IP
// address or DNS name as host, its TCP port as port, and its UDP (discovery)
// port in the "discport" query parameter if it differs from the TCP port:
//
//	enode://<hex key>@10.3.58.6:30303?discport=30301
//	enode://<hex key>@[2001:db8::1]:30303
//	enode://<hex key>@bootnode.example.org:30303
//
// A DNS name is not resolved: the node has no IP and carries the name
// (Hostname), to be resolved by Resolve when it is dialed.
//
// An incomplete URL has only the key, "enode://<hex key>" or just
// "<hex key>"; the node has no address and must be found through discovery.
func ParseV4(rawurl string) (*Node, error) {
	if hexkey, ok := incompleteURL(rawurl); ok {
		pub, err := parsePubkey(hexkey)
		if err != nil {
			return nil, fmt.Errorf("invalid public key (%w)", err)
		}
		return NewV4(&pub, netip.Addr{}, 0, 0), nil
	}
	return parseComplete(rawurl)
}

// incompleteURL matches "(?i)^(?:enode://)?([0-9a-f]+)$" and returns the hex
// part.
func incompleteURL(s string) (string, bool) {
	if len(s) >= len("enode://") && strings.EqualFold(s[:len("enode://")], "enode://") {
		s = s[len("enode://"):]
	}
	if s == "" {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return "", false
		}
	}
	return s, true
}

func parseComplete(rawurl string) (*Node, error) {
	u, err := url.Parse(rawurl)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "enode" {
		return nil, errors.New(`invalid URL scheme, want "enode"`)
	}
	if u.User == nil {
		return nil, errors.New("does not contain node ID")
	}
	pub, err := parsePubkey(u.User.String())
	if err != nil {
		return nil, fmt.Errorf("invalid public key (%w)", err)
	}
	// net.ParseIP, not netip: it decides, like go-ethereum, which hosts are
	// addresses (no zones, no leading zeros) and which are DNS names.
	ip := netutil.AddrFromIP(net.ParseIP(u.Hostname()))
	tcpPort, err := strconv.ParseUint(u.Port(), 10, 16)
	if err != nil {
		return nil, errors.New("invalid port")
	}
	udpPort := tcpPort
	if dp := u.Query().Get("discport"); dp != "" {
		udpPort, err = strconv.ParseUint(dp, 10, 16)
		if err != nil {
			return nil, errors.New("invalid discport in query")
		}
	}
	n := NewV4(&pub, ip, int(tcpPort), int(udpPort))
	if !ip.IsValid() && u.Hostname() != "" {
		n.hostname = u.Hostname()
	}
	return n, nil
}

// errInvalidPubkey is go-ethereum's message for a key not on the curve.
var errInvalidPubkey = errors.New("invalid secp256k1 public key")

// parsePubkey parses a public key from 128 hex digits (X‖Y).
func parsePubkey(in string) (crypto.PublicKey, error) {
	b, err := hex.DecodeString(in)
	if err != nil {
		return crypto.PublicKey{}, err
	}
	if len(b) != 64 {
		return crypto.PublicKey{}, fmt.Errorf("wrong length, want %d hex chars", 128)
	}
	pub, err := crypto.ParsePublicKey(b)
	if err != nil {
		return crypto.PublicKey{}, errInvalidPubkey
	}
	return pub, nil
}

// NewV4 makes a node from "v4" discovery information: a public key, an IP
// address (the zero Addr for none) and ports (0 for none). Its record has the
// "secp256k1" entry and the address entries but no "id" entry and an empty
// signature, as go-ethereum's; such nodes print as enode:// URLs. pub must be
// a valid key (as returned by crypto.ParsePublicKey); it is not checked.
func NewV4(pub *crypto.PublicKey, ip netip.Addr, tcp, udp int) *Node {
	var r enr.Record
	if ip.IsValid() {
		r.Set(enr.IP(ip))
	}
	if udp != 0 {
		r.Set(enr.UDP(udp))
	}
	if tcp != 0 {
		r.Set(enr.TCP(tcp))
	}
	return newV4Compat(&r, pub)
}

// newV4Compat adds pub to r, "signs" it with an empty signature and returns
// the node.
func newV4Compat(r *enr.Record, pub *crypto.PublicKey) *Node {
	r.Set(enr.Secp256k1(pub.Compress()))
	if err := r.SetSig(acceptAll{}, []byte{}); err != nil {
		panic(fmt.Errorf("enode: can't make v4 node: %v", err))
	}
	return newNode(r, PubkeyToIDV4(pub), pub)
}

// URLv4 returns the enode:// URL of n: the hex public key, then the host (the
// DNS name if set, else the IP address) with the TCP port, and a discport
// query if the UDP port differs. Nodes without address give "enode://<key>";
// nodes without key use "<scheme>.<hex ID>" in place of it.
func (n *Node) URLv4() string {
	var nodeid string
	if n.hasPub {
		nodeid = hex.EncodeToString(n.pub[:])
	} else {
		nodeid = fmt.Sprintf("%s.%x", n.r.IdentityScheme(), n.id[:])
	}
	u := url.URL{Scheme: "enode"}
	switch {
	case n.hostname != "":
		u.User = url.User(nodeid)
		u.Host = net.JoinHostPort(n.hostname, strconv.Itoa(n.TCP()))
	case n.ip.IsValid():
		u.User = url.User(nodeid)
		u.Host = netip.AddrPortFrom(n.ip, n.tcp).String()
	default:
		u.Host = nodeid
	}
	if u.User != nil && n.udp != n.tcp {
		u.RawQuery = "discport=" + strconv.Itoa(n.UDP())
	}
	return u.String()
}
