package enode

import (
	"fmt"
	"net/netip"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enr"
	"github.com/devp2p-go/devp2p/netutil"
)

// Endpoint prediction parameters (go-ethereum's values).
const (
	iptrackMinStatements = 10
	iptrackWindow        = 5 * time.Minute
	iptrackContactWindow = 10 * time.Minute
)

// LocalNode holds the node key and the record of the node run by this
// process. Entries are set with Set and Delete; the IP address and UDP port
// come from a static IP, statements of other nodes about our endpoint, or
// fallbacks, in that order. The record is signed lazily: Node signs a new
// version, with the sequence number incremented, when something changed since
// the last call.
//
// LocalNode is safe for concurrent use.
type LocalNode struct {
	cur atomic.Pointer[Node] // the current node; nil when it must be re-signed

	id  ID
	key *crypto.PrivateKey

	mu        sync.Mutex // guards following
	seq       uint64
	onSeq     func(uint64)
	entries   map[string]enr.Entry
	endpoint4 lnEndpoint
	endpoint6 lnEndpoint
}

// lnEndpoint holds what is known about our address in one IP family.
type lnEndpoint struct {
	track                *netutil.IPTracker
	staticIP, fallbackIP netip.Addr
	fallbackUDP          uint16
}

// NewLocalNode creates a local node with key. seq is the sequence number of
// the last record signed with this key (persisted by the node database; a new
// key may start from the current Unix time in milliseconds, as go-ethereum
// does): the first record gets seq+1.
func NewLocalNode(key *crypto.PrivateKey, seq uint64) *LocalNode {
	return &LocalNode{
		id:        PubkeyToIDV4(key.Public()),
		key:       key,
		seq:       seq,
		entries:   make(map[string]enr.Entry),
		endpoint4: lnEndpoint{track: netutil.NewIPTracker(iptrackWindow, iptrackContactWindow, iptrackMinStatements, nil)},
		endpoint6: lnEndpoint{track: netutil.NewIPTracker(iptrackWindow, iptrackContactWindow, iptrackMinStatements, nil)},
	}
}

// ID returns the local node ID.
func (ln *LocalNode) ID() ID {
	return ln.id
}

// Seq returns the sequence number of the latest signed record (the one given
// to NewLocalNode if none was signed yet).
func (ln *LocalNode) Seq() uint64 {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	return ln.seq
}

// SetSeqListener registers fn to be called with the new sequence number each
// time a record is signed, so that it can be persisted. fn runs with the
// LocalNode's lock held and must not call its methods.
func (ln *LocalNode) SetSeqListener(fn func(seq uint64)) {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	ln.onSeq = fn
}

// Node returns the current local node, signing a new record if anything
// changed. It panics if the entries do not fit in a record (enr.SizeLimit):
// the entries come from the program, so that is a programming error.
func (ln *LocalNode) Node() *Node {
	if n := ln.cur.Load(); n != nil {
		return n
	}
	ln.mu.Lock()
	defer ln.mu.Unlock()
	if n := ln.cur.Load(); n != nil { // signed by another goroutine meanwhile
		return n
	}
	return ln.signLocked()
}

// signLocked signs a new record from the entries.
func (ln *LocalNode) signLocked() *Node {
	var r enr.Record
	for _, e := range ln.entries {
		r.Set(e)
	}
	r.SetSeq(ln.seq + 1)
	if err := SignV4(&r, ln.key); err != nil {
		panic(fmt.Errorf("enode: can't sign local record: %v", err))
	}
	n, err := New(ValidSchemes, &r)
	if err != nil {
		panic(fmt.Errorf("enode: can't verify local record: %v", err))
	}
	ln.seq++
	if ln.onSeq != nil {
		ln.onSeq(ln.seq)
	}
	ln.cur.Store(n)
	return n
}

// Set puts entry e in the local record, replacing an entry with the same key.
// Don't set "ip", "ip6", "udp" or "udp6" this way: they are managed by the
// endpoint methods (SetStaticIP, SetFallbackIP, SetFallbackUDP) and would be
// overwritten. The TCP port is set with Set(enr.TCP(port)).
func (ln *LocalNode) Set(e enr.Entry) {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	ln.setLocked(e)
}

func (ln *LocalNode) setLocked(e enr.Entry) {
	old, ok := ln.entries[e.ENRKey()]
	if !ok || !reflect.DeepEqual(old, e) {
		ln.entries[e.ENRKey()] = e
		ln.cur.Store(nil)
	}
}

// Delete removes the entry with the key of e from the local record.
func (ln *LocalNode) Delete(e enr.Entry) {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	ln.deleteLocked(e.ENRKey())
}

func (ln *LocalNode) deleteLocked(key string) {
	if _, ok := ln.entries[key]; ok {
		delete(ln.entries, key)
		ln.cur.Store(nil)
	}
}

// endpointLocked returns the endpoint of ip's family.
func (ln *LocalNode) endpointLocked(ip netip.Addr) *lnEndpoint {
	if ip.Unmap().Is4() {
		return &ln.endpoint4
	}
	return &ln.endpoint6
}

// SetStaticIP sets the IP address of its family unconditionally (for example
// from a NAT configuration), disabling endpoint prediction for that family.
func (ln *LocalNode) SetStaticIP(ip netip.Addr) {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	ln.endpointLocked(ip).staticIP = ip.Unmap()
	ln.updateEndpointsLocked()
}

// SetFallbackIP sets the IP address of its family used when there is neither a
// static IP nor a prediction.
func (ln *LocalNode) SetFallbackIP(ip netip.Addr) {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	ln.endpointLocked(ip).fallbackIP = ip.Unmap()
	ln.updateEndpointsLocked()
}

// SetFallbackUDP sets the UDP port used when no endpoint is predicted.
func (ln *LocalNode) SetFallbackUDP(port int) {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	ln.endpoint4.fallbackUDP = uint16(port)
	ln.endpoint6.fallbackUDP = uint16(port)
	ln.updateEndpointsLocked()
}

// UDPEndpointStatement records that the node at from sees our UDP endpoint as
// endpoint. Discovery calls it for every pong (and ping) it receives; once
// enough nodes agree, the prediction replaces the fallback IP and port.
func (ln *LocalNode) UDPEndpointStatement(from, endpoint netip.AddrPort) {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	endpoint = netip.AddrPortFrom(endpoint.Addr().Unmap(), endpoint.Port())
	ln.endpointLocked(endpoint.Addr()).track.AddStatement(from.Addr().Unmap(), endpoint)
	ln.updateEndpointsLocked()
}

// UDPContact records that we sent our endpoint to the node at to.
func (ln *LocalNode) UDPContact(to netip.AddrPort) {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	ln.endpointLocked(to.Addr()).track.AddContact(to.Addr().Unmap())
	ln.updateEndpointsLocked()
}

// updateEndpointsLocked puts the best known endpoints in the entries.
func (ln *LocalNode) updateEndpointsLocked() {
	ip4, udp4 := ln.endpoint4.get()
	ip6, udp6 := ln.endpoint6.get()
	if ip4.IsValid() && !ip4.IsUnspecified() {
		ln.setLocked(enr.IPv4(ip4))
	} else {
		ln.deleteLocked("ip")
	}
	if ip6.IsValid() && !ip6.IsUnspecified() {
		ln.setLocked(enr.IPv6(ip6))
	} else {
		ln.deleteLocked("ip6")
	}
	if udp4 != 0 {
		ln.setLocked(enr.UDP(udp4))
	} else {
		ln.deleteLocked("udp")
	}
	if udp6 != 0 && udp6 != udp4 {
		ln.setLocked(enr.UDP6(udp6))
	} else {
		ln.deleteLocked("udp6")
	}
}

// get returns the endpoint with the highest precedence: static IP, then
// prediction (which also gives the port), then fallback.
func (e *lnEndpoint) get() (ip netip.Addr, port uint16) {
	ip, port = e.fallbackIP, e.fallbackUDP
	if e.staticIP.IsValid() {
		ip = e.staticIP
	} else if ap := e.track.PredictEndpoint(); ap.IsValid() {
		ip, port = ap.Addr(), ap.Port()
	}
	return ip, port
}
