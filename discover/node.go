package discover

import (
	"errors"
	"net/netip"
	"slices"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/discover/v4wire"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/internal/mclock"
	"github.com/devp2p-go/devp2p/netutil"
)

// BucketNode describes a table entry, for diagnostics (go-ethereum's
// debug_discoveryV4Table).
type BucketNode struct {
	Node          *enode.Node
	AddedToTable  mclock.AbsTime // when first added to the bucket or replacements
	AddedToBucket mclock.AbsTime // when it became a bucket entry
	LastSeen      mclock.AbsTime // last packet from it, or when added
	Checks        int            // successful liveness checks (reduced on failure)
	Live          bool           // whether the last check succeeded
}

// tableNode is an entry of a bucket or a replacement list. All fields are
// guarded by the table lock.
type tableNode struct {
	node *enode.Node
	key  v4wire.Pubkey // wire form of the node's key, for Neighbors

	addedToTable  mclock.AbsTime
	addedToBucket mclock.AbsTime
	lastSeen      mclock.AbsTime
	checks        int  // successful liveness checks
	live          bool // last check succeeded

	reval    *revalList // the revalidation list holding it, nil if none
	checking bool       // a liveness check is in flight

	// contacted says that the node reached us from its recorded endpoint
	// after a bond (it pinged us, or a Findnode of ours was answered by
	// it): a replacement that did is relayed like a fresh entry.
	contacted bool
	// handouts counts how often the node was in our Findnode answers,
	// decaying with handoutHalfLife from handoutAt.
	handouts  float64
	handoutAt mclock.AbsTime
}

func newTableNode(n *enode.Node, now mclock.AbsTime) *tableNode {
	tn := &tableNode{node: n, addedToTable: now, lastSeen: now}
	if pub := n.Pubkey(); pub != nil {
		tn.key = v4wire.Pubkey(*pub)
	}
	return tn
}

// ID returns the node ID.
func (n *tableNode) ID() enode.ID { return n.node.ID() }

func (n *tableNode) rpc() v4wire.Node {
	return v4wire.Node{IP: n.node.IPAddr(), UDP: uint16(n.node.UDP()), TCP: uint16(n.node.TCP()), ID: n.key}
}

func (n *tableNode) info() BucketNode {
	return BucketNode{
		Node: n.node, AddedToTable: n.addedToTable, AddedToBucket: n.addedToBucket,
		LastSeen: n.lastSeen, Checks: n.checks, Live: n.live,
	}
}

type hasID interface{ ID() enode.ID }

// nodesByDistance keeps up to max nodes closest to target, closest first.
type nodesByDistance = distanceList[*enode.Node]

// distanceList keeps up to max elements closest to target, closest first.
type distanceList[T hasID] struct {
	target  enode.ID
	max     int
	entries []T
}

// push inserts n if it is closer than the farthest entry or there is room.
// It does not check for duplicates.
func (h *distanceList[T]) push(n T) {
	i, _ := slices.BinarySearchFunc(h.entries, n.ID(), func(e T, id enode.ID) int {
		return enode.DistCmp(h.target, e.ID(), id)
	})
	if i >= h.max {
		return
	}
	if len(h.entries) < h.max {
		var zero T
		h.entries = append(h.entries, zero)
	}
	copy(h.entries[i+1:], h.entries[i:])
	h.entries[i] = n
}

// Errors of nodeFromRPC.
var (
	errLowPort       = errors.New("discover: low port")
	errNotInRestrict = errors.New("discover: not contained in netrestrict list")
)

// nodeFromRPC checks a node relayed by the node at sender and converts it,
// like go-ethereum: discovery ports up to 1024 are refused, the address must
// be acceptable from that sender (netutil.CheckRelayAddr) and inside
// NetRestrict, and the key must be on the curve.
func nodeFromRPC(sender netip.Addr, rn *v4wire.Node, restrict *netutil.Netlist) (*enode.Node, error) {
	if rn.UDP <= 1024 {
		return nil, errLowPort
	}
	if err := netutil.CheckRelayAddr(sender, rn.IP); err != nil {
		return nil, err
	}
	if restrict != nil && !restrict.Contains(rn.IP) {
		return nil, errNotInRestrict
	}
	pub, err := crypto.ParsePublicKey(rn.ID[:])
	if err != nil {
		return nil, err
	}
	n := enode.NewV4(&pub, rn.IP, int(rn.TCP), int(rn.UDP))
	if err := n.ValidateComplete(); err != nil {
		return nil, err
	}
	return n, nil
}
