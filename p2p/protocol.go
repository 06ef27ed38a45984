package p2p

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/rlpx"
)

// Protocol is a sub-protocol run over devp2p connections, such as eth or
// snap. Its messages get codes after the 16 base protocol codes; within the
// protocol they are numbered from 0 to Length-1.
type Protocol struct {
	// Name is the official protocol name, usually three letters.
	Name string

	// Version is the protocol version announced in Hello.
	Version uint

	// Length is the number of message codes the protocol uses.
	Length uint64

	// Run is called on its own goroutine when the protocol has been agreed
	// with a peer. It reads and writes messages through rw. The peer is
	// disconnected when Run returns: with DiscQuitting if it returns nil,
	// with the reason DiscReasonFor gives for the error otherwise.
	// Run should return soon after rw.ReadMsg returns an error.
	Run func(peer *Peer, rw MsgReadWriter) error

	// NodeInfo, if set, returns protocol metadata about the local node for
	// Server.NodeInfo.
	NodeInfo func() any

	// PeerInfo, if set, returns protocol metadata about a peer for
	// Peer.Info. A nil result means the protocol handshake is still running.
	PeerInfo func(id enode.ID) any
}

func (p *Protocol) cap() Cap { return Cap{Name: p.Name, Version: p.Version} }

// Cap is a peer capability: a protocol name and version, as listed in Hello.
type Cap struct {
	Name    string
	Version uint
}

// String returns "name/version".
func (c Cap) String() string { return c.Name + "/" + strconv.FormatUint(uint64(c.Version), 10) }

// Cmp orders capabilities by name (byte-wise), then by version ascending.
// This is the order of Hello's capability list.
func (c Cap) Cmp(other Cap) int {
	if c.Name == other.Name {
		return cmp.Compare(c.Version, other.Version)
	}
	return strings.Compare(c.Name, other.Name)
}

// localCaps returns the capabilities of protos in Hello order.
func localCaps(protos []Protocol) []Cap {
	caps := make([]Cap, 0, len(protos))
	for i := range protos {
		caps = append(caps, protos[i].cap())
	}
	slices.SortFunc(caps, Cap.Cmp)
	return slices.CompactFunc(caps, func(a, b Cap) bool { return a == b })
}

// protoMatch is one protocol agreed with a peer: the local protocol and the
// first message code it owns on the wire.
type protoMatch struct {
	proto  *Protocol
	offset uint64
}

// matchProtocols agrees on protocols with a peer: for every name both sides
// know, the highest version both announce. Message code ranges follow the
// 16 base codes in the order of the names, without gaps. remote is not
// modified.
func matchProtocols(local []Protocol, remote []Cap) []protoMatch {
	sorted := slices.SortedFunc(slices.Values(remote), Cap.Cmp)
	var (
		out    []protoMatch
		offset = uint64(baseProtoLen)
	)
	for _, c := range sorted {
		i := slices.IndexFunc(local, func(p Protocol) bool { return p.Name == c.Name && p.Version == c.Version })
		if i < 0 {
			continue
		}
		if n := len(out); n > 0 && out[n-1].proto.Name == c.Name {
			// A higher version of a name we matched already replaces it.
			offset -= out[n-1].proto.Length
			out = out[:n-1]
		}
		out = append(out, protoMatch{proto: &local[i], offset: offset})
		offset += local[i].Length
	}
	return out
}

// sharesCap reports whether some (name, version) pair is in both lists.
func sharesCap(local []Protocol, remote []Cap) bool {
	for _, c := range remote {
		for i := range local {
			if local[i].Name == c.Name && local[i].Version == c.Version {
				return true
			}
		}
	}
	return false
}

// protoRW is the MsgReadWriter a protocol gets for one peer. Received
// messages wait in a queue bounded by protoQueueBudget bytes, so a protocol
// that is slow to read holds up the peer's other protocols only once it has
// that much unread. Writes go through the peer's ordered write path.
//
// The read loop wakes a protocol goroutine that waits for messages lazily:
// after wakeBatch messages or wakeBytes bytes for it, after wakeBatch
// messages for any protocol, and whenever the read loop itself is about to
// wait (for the network, for queue space, for the writer). Messages decoded from one network read are thus handed over
// with one wake-up instead of one each, at the cost of a few message
// decodes of latency.
type protoRW struct {
	proto  *Protocol
	offset uint64
	peer   *Peer
	ready  chan struct{} // cap 1; signalled when messages wait for a sleeping reader, and on shutdown

	traffic    protoTraffic  // this peer's messages of the protocol
	srvTraffic *protoTraffic // the server's counters of the protocol; nil outside a server

	// Used only by the read loop.
	unsignalled      int // messages queued since the reader was last woken
	unsignalledBytes int

	mu       sync.Mutex    // guards following
	queue    []Msg         // queue[head:] is unread
	head     int           //
	queued   int           // bytes charged to the queue
	space    chan struct{} // cap 1, made when first needed; signalled when the queue shrinks while the read loop waits
	waiting  bool          // the read loop waits for space
	sleeping bool          // the protocol waits in ReadMsg for a message
}

const (
	// msgOverhead is charged per queued message on top of its payload, so
	// a flood of empty messages is bounded too.
	msgOverhead = 64
	// wakeBatch and wakeBytes bound how much the read loop queues for a
	// sleeping protocol before it wakes it.
	wakeBatch = 16
	wakeBytes = 32 << 10
	// initialQueueCap is the capacity of a new receive queue; it grows
	// while the protocol is busy and goes when the protocol waits.
	initialQueueCap = 4
)

// deliver queues a received message, waiting while the queue is over its
// budget. It fails only when the peer shuts down.
func (rw *protoRW) deliver(msg Msg) error {
	cost := int(msg.Size) + msgOverhead
	for {
		rw.mu.Lock()
		if rw.queued == 0 || rw.queued+cost <= protoQueueBudget {
			if rw.queue == nil {
				rw.queue = make([]Msg, 0, initialQueueCap)
			}
			rw.queue = append(rw.queue, msg)
			rw.queued += cost
			sleeping := rw.sleeping
			rw.mu.Unlock()
			if sleeping {
				rw.unsignalled++
				rw.unsignalledBytes += cost
				if rw.unsignalled >= wakeBatch || rw.unsignalledBytes >= wakeBytes {
					rw.wake()
				}
			}
			// Messages for other protocols count too, so none waits
			// behind more than wakeBatch messages.
			if p := rw.peer; len(p.protos) > 1 {
				if p.sinceWake++; p.sinceWake >= wakeBatch {
					p.wakeProtocols()
				}
			}
			return nil
		}
		rw.waiting = true
		if rw.space == nil {
			rw.space = make(chan struct{}, 1)
		}
		space := rw.space
		rw.mu.Unlock()
		rw.peer.wakeProtocols()
		select {
		case <-space:
		case <-rw.peer.closedChan():
			return ErrShuttingDown
		}
	}
}

// wake wakes the protocol for the messages queued since it was last woken.
// Only the read loop calls it.
func (rw *protoRW) wake() {
	rw.unsignalled, rw.unsignalledBytes = 0, 0
	rw.signal()
}

// ReadMsg returns the next message for the protocol, with a code relative
// to the protocol. It returns io.EOF once the peer is shutting down.
func (rw *protoRW) ReadMsg() (Msg, error) {
	for {
		if rw.peer.closing.Load() {
			return Msg{}, io.EOF
		}
		rw.mu.Lock()
		rw.sleeping = false
		if rw.head < len(rw.queue) {
			msg := rw.queue[rw.head]
			rw.queue[rw.head] = Msg{}
			rw.head++
			if rw.head == len(rw.queue) {
				rw.queue, rw.head = rw.queue[:0], 0
			}
			rw.queued -= int(msg.Size) + msgOverhead
			var space chan struct{}
			if rw.waiting {
				rw.waiting, space = false, rw.space
			}
			rw.mu.Unlock()
			if space != nil {
				select {
				case space <- struct{}{}:
				default:
				}
			}
			if rw.peer.cfg.events != nil {
				rw.peer.msgEvent(PeerEventTypeMsgRecv, rw.proto.Name, msg.Code, msg.Size)
			}
			return msg, nil
		}
		rw.queue, rw.head = nil, 0 // a protocol that waits keeps no queue buffer
		rw.sleeping = true
		rw.mu.Unlock()
		<-rw.ready // also signalled when the peer shuts down
	}
}

// signal wakes the protocol's ReadMsg if it waits. Any goroutine may call it.
func (rw *protoRW) signal() {
	select {
	case rw.ready <- struct{}{}:
	default:
	}
}

// WriteMsg sends a message of the protocol. The code is relative to the
// protocol; a code beyond its Length is an error with DiscProtocolError.
// It returns once the message is queued (the payload has been read or
// copied); it waits only while the peer has a full write queue. An error
// means the message will not be sent: the peer is shutting down or an
// earlier write failed.
func (rw *protoRW) WriteMsg(msg Msg) error {
	if msg.Code >= rw.proto.Length {
		return newPeerError(DiscProtocolError, "invalid message code %d for %v", msg.Code, rw.proto.cap())
	}
	if rw.peer.closing.Load() {
		return ErrShuttingDown
	}
	data, owned, err := msg.takePayload()
	if err != nil {
		return err
	}
	if len(data) > rlpx.MaxMessageSize {
		return fmt.Errorf("%w: %d bytes", rlpx.ErrMessageTooLarge, len(data))
	}
	size := len(data) // data may be reused once written
	if err := rw.peer.w.write(msg.Code+rw.offset, data, owned); err != nil {
		return err
	}
	rw.traffic.sent(size)
	if rw.srvTraffic != nil {
		rw.srvTraffic.sent(size)
	}
	if rw.peer.cfg.events != nil {
		rw.peer.msgEvent(PeerEventTypeMsgSend, rw.proto.Name, msg.Code, uint32(size))
	}
	return nil
}
