package p2p

import "sync/atomic"

// ProtocolStats counts the messages of one protocol. Bytes are message
// payloads as the protocol reads and writes them (before compression and
// framing); messages the peer closed before they could be sent are not
// counted.
type ProtocolStats struct {
	MsgsIn   uint64 `json:"msgsIn"`
	MsgsOut  uint64 `json:"msgsOut"`
	BytesIn  uint64 `json:"bytesIn"`
	BytesOut uint64 `json:"bytesOut"`
}

func (s ProtocolStats) add(o ProtocolStats) ProtocolStats {
	return ProtocolStats{s.MsgsIn + o.MsgsIn, s.MsgsOut + o.MsgsOut, s.BytesIn + o.BytesIn, s.BytesOut + o.BytesOut}
}

// protoTraffic are the counters of one protocol. The read loop updates the
// in side and writers the out side, so each side has its own cache line.
type protoTraffic struct {
	msgsIn, bytesIn   atomic.Uint64
	_                 [48]byte
	msgsOut, bytesOut atomic.Uint64
}

func (t *protoTraffic) received(n int) {
	t.msgsIn.Add(1)
	t.bytesIn.Add(uint64(n))
}

func (t *protoTraffic) sent(n int) {
	t.msgsOut.Add(1)
	t.bytesOut.Add(uint64(n))
}

func (t *protoTraffic) snapshot() ProtocolStats {
	return ProtocolStats{
		MsgsIn:   t.msgsIn.Load(),
		MsgsOut:  t.msgsOut.Load(),
		BytesIn:  t.bytesIn.Load(),
		BytesOut: t.bytesOut.Load(),
	}
}

// protoTrafficSet holds a server's counters by protocol name. It is made
// once, before the first peer, and not changed after: peers look up their
// counters once, when they start.
type protoTrafficSet map[string]*protoTraffic

func newProtoTrafficSet(protos []Protocol) protoTrafficSet {
	set := make(protoTrafficSet, len(protos))
	for _, p := range protos {
		if set[p.Name] == nil {
			set[p.Name] = new(protoTraffic)
		}
	}
	return set
}

// get returns the counters of a protocol, or nil.
func (set protoTrafficSet) get(name string) *protoTraffic { return set[name] }

func (set protoTrafficSet) snapshot() map[string]ProtocolStats {
	out := make(map[string]ProtocolStats, len(set))
	for name, t := range set {
		out[name] = t.snapshot()
	}
	return out
}
