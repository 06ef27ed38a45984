package discover

import (
	"sync/atomic"

	"github.com/devp2p-go/devp2p/discover/v4wire"
)

// DropReason says why an inbound packet (or, for DropBadNeighbor, one node
// of a Neighbors packet) was dropped.
type DropReason int

// Reasons for dropping inbound packets, in the order they are checked.
const (
	DropNetRestrict  DropReason = iota // sender outside Config.NetRestrict
	DropTooSmall                       // shorter than a header
	DropTooLarge                       // longer than 1280 bytes
	DropBadHash                        // hash does not match: not discv4
	DropUnknownType                    // packet type unknown (EIP-8: ignore)
	DropMalformed                      // packet data does not decode
	DropExpired                        // expiration in the past
	DropBadSignature                   // no key recoverable
	DropSelf                           // signed with our own key
	DropUnsolicited                    // reply matching no request of ours
	DropUnbonded                       // Findnode or ENRRequest without endpoint proof
	DropBadNeighbor                    // invalid node in a Neighbors packet (counted per node)
	numDropReasons
)

var dropReasonNames = [numDropReasons]string{
	"netrestrict", "too-small", "too-large", "bad-hash", "unknown-type", "malformed",
	"expired", "bad-signature", "self", "unsolicited", "unbonded", "bad-neighbor",
}

// String returns a short name for the reason, usable as a metric label.
func (r DropReason) String() string {
	if r < 0 || r >= numDropReasons {
		return "unknown"
	}
	return dropReasonNames[r]
}

// numPacketTypes is the size of per-type arrays: index 0 counts unknown
// types, 1–6 the discv4 packet types.
const numPacketTypes = 7

// Stats is a snapshot of the listener's counters, for metrics. Counters
// only grow; table figures are current values.
type Stats struct {
	// PacketsIn and PacketsOut count datagrams by packet type (index
	// v4wire.PingPacket … v4wire.ENRResponsePacket); index 0 counts inbound
	// datagrams whose type could not be read or is unknown.
	PacketsIn, PacketsOut [numPacketTypes]uint64
	// BytesIn and BytesOut count datagram bytes.
	BytesIn, BytesOut uint64
	// Drops counts dropped packets by reason (index DropReason).
	Drops [numDropReasons]uint64
	// Timeouts counts requests that got no (complete) reply in time.
	Timeouts uint64
	// WriteErrors counts failed sends.
	WriteErrors uint64

	// TableNodes is the number of nodes in the table's buckets and
	// TableReplacements the number in their replacement lists.
	TableNodes, TableReplacements int
	// Buckets holds the number of nodes in each bucket; bucket 0 holds log
	// distances up to 240, bucket i > 0 distance 240+i.
	Buckets [nBuckets]int
	// Validated is the number of table nodes whose last check succeeded.
	Validated int
}

// counters are the live counters behind Stats.
type counters struct {
	packetsIn, packetsOut [numPacketTypes]atomic.Uint64
	bytesIn, bytesOut     atomic.Uint64
	drops                 [numDropReasons]atomic.Uint64
	timeouts              atomic.Uint64
	writeErrors           atomic.Uint64
}

func packetIndex(ptype byte) int {
	if ptype < v4wire.PingPacket || ptype > v4wire.ENRResponsePacket {
		return 0
	}
	return int(ptype)
}

func (c *counters) drop(r DropReason) { c.drops[r].Add(1) }

func (c *counters) received(ptype byte, size int) {
	c.packetsIn[packetIndex(ptype)].Add(1)
	c.bytesIn.Add(uint64(size))
}

func (c *counters) sent(ptype byte, size int) {
	c.packetsOut[packetIndex(ptype)].Add(1)
	c.bytesOut.Add(uint64(size))
}

func (c *counters) snapshot(s *Stats) {
	for i := range s.PacketsIn {
		s.PacketsIn[i] = c.packetsIn[i].Load()
		s.PacketsOut[i] = c.packetsOut[i].Load()
	}
	s.BytesIn, s.BytesOut = c.bytesIn.Load(), c.bytesOut.Load()
	for i := range s.Drops {
		s.Drops[i] = c.drops[i].Load()
	}
	s.Timeouts = c.timeouts.Load()
	s.WriteErrors = c.writeErrors.Load()
}
