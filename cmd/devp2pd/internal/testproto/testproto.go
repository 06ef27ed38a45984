// Package testproto implements test/1, devp2pd's diagnostic sub-protocol.
// It measures round trips through the whole stack: a message goes through
// the sender's protocol writer, RLPx framing, encryption and snappy, the
// network, and the receiver's read loop and protocol, and back.
//
// The protocol has two messages:
//
//	code 0  Echo       any payload
//	code 1  EchoReply  the payload of the Echo, unchanged
//
// A node running test/1 answers every Echo with an EchoReply. Replies are
// never answered, so two nodes cannot bounce messages forever. The
// requests made by Echo carry the RLP list [requestID, data].
package testproto

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/p2p"
	"github.com/devp2p-go/devp2p/rlp"
)

// Protocol identity and message codes.
const (
	Name         = "test"
	Version      = 1
	EchoMsg      = 0x00
	EchoReplyMsg = 0x01
	length       = 2
)

// Errors of Echo.
var (
	ErrNoPeer  = errors.New("testproto: peer does not run test/1 with us")
	ErrPeerEnd = errors.New("testproto: peer disconnected")
)

// Protocol is a test/1 instance shared by all peers of a server. It is
// safe for concurrent use.
type Protocol struct {
	nextID atomic.Uint64

	mu    sync.Mutex // guards following
	peers map[enode.ID]*peer
}

// peer is the test/1 state of one connected peer.
type peer struct {
	rw      p2p.MsgReadWriter
	done    chan struct{} // closed when Run returns
	echoes  atomic.Uint64 // Echo messages answered
	mu      sync.Mutex    // guards following
	waiting map[uint64]chan struct{}
}

// New returns a Protocol.
func New() *Protocol {
	return &Protocol{peers: make(map[enode.ID]*peer)}
}

// Protocol returns the p2p.Protocol to put in a server's Config.
func (tp *Protocol) Protocol() p2p.Protocol {
	return p2p.Protocol{
		Name:     Name,
		Version:  Version,
		Length:   length,
		Run:      tp.run,
		NodeInfo: func() any { return map[string]any{"version": Version} },
		PeerInfo: tp.peerInfo,
	}
}

// Peers returns the IDs of the peers that run test/1 with us.
func (tp *Protocol) Peers() []enode.ID {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	ids := make([]enode.ID, 0, len(tp.peers))
	for id := range tp.peers {
		ids = append(ids, id)
	}
	return ids
}

func (tp *Protocol) peerInfo(id enode.ID) any {
	tp.mu.Lock()
	p := tp.peers[id]
	tp.mu.Unlock()
	if p == nil {
		return nil
	}
	return map[string]any{"version": Version, "echoed": p.echoes.Load()}
}

// run is the protocol's Run function.
func (tp *Protocol) run(pp *p2p.Peer, rw p2p.MsgReadWriter) error {
	return tp.serve(pp.ID(), rw)
}

// serve answers Echo messages of the peer id and delivers its replies to
// waiting Echo calls.
func (tp *Protocol) serve(id enode.ID, rw p2p.MsgReadWriter) error {
	p := &peer{rw: rw, done: make(chan struct{}), waiting: make(map[uint64]chan struct{})}
	tp.mu.Lock()
	tp.peers[id] = p
	tp.mu.Unlock()
	defer func() {
		tp.mu.Lock()
		if tp.peers[id] == p {
			delete(tp.peers, id)
		}
		tp.mu.Unlock()
		close(p.done)
	}()
	for {
		msg, err := rw.ReadMsg()
		if err != nil {
			return err
		}
		switch msg.Code {
		case EchoMsg:
			data, err := io.ReadAll(msg.Payload)
			if err != nil {
				return err
			}
			if err := rw.WriteMsg(p2p.Msg{Code: EchoReplyMsg, Size: uint32(len(data)), Payload: bytes.NewReader(data)}); err != nil {
				return err
			}
			p.echoes.Add(1)
		case EchoReplyMsg:
			var reply struct {
				ID   uint64
				Data []byte
			}
			if err := msg.Decode(&reply); err != nil {
				return err
			}
			p.mu.Lock()
			if ch := p.waiting[reply.ID]; ch != nil {
				delete(p.waiting, reply.ID)
				close(ch)
			}
			p.mu.Unlock()
		default:
			return &p2p.PeerError{Reason: p2p.DiscProtocolError, Msg: fmt.Sprintf("test/1: unknown message code %d", msg.Code)}
		}
	}
}

// Echo sends data to the peer with the given ID and waits for the reply.
// It returns the round-trip time.
func (tp *Protocol) Echo(ctx context.Context, id enode.ID, data []byte) (time.Duration, error) {
	tp.mu.Lock()
	p := tp.peers[id]
	tp.mu.Unlock()
	if p == nil {
		return 0, ErrNoPeer
	}
	reqID := tp.nextID.Add(1)
	payload, err := rlp.EncodeToBytes([]any{reqID, data})
	if err != nil {
		return 0, err
	}
	ch := make(chan struct{})
	p.mu.Lock()
	p.waiting[reqID] = ch
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.waiting, reqID)
		p.mu.Unlock()
	}()
	start := time.Now()
	if err := p.rw.WriteMsg(p2p.Msg{Code: EchoMsg, Size: uint32(len(payload)), Payload: bytes.NewReader(payload)}); err != nil {
		return 0, err
	}
	select {
	case <-ch:
		return time.Since(start), nil
	case <-p.done:
		return 0, ErrPeerEnd
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
