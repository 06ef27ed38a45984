package p2p

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/internal/mclock"
	"github.com/devp2p-go/devp2p/netutil"
	"github.com/devp2p-go/devp2p/rlpx"
)

// Peer is a connected remote node.
//
// A peer has one goroutine of its own, its read loop, plus one per agreed
// protocol (Protocol.Run). Writes are queued on the peer's single ordered
// write path, whose flusher goroutine runs only while messages are queued;
// pings are sent from a timer.
// All methods are safe for concurrent use.
type Peer struct {
	fd        *meteredConn
	rc        *rlpx.Conn
	w         *peerWriter
	cfg       *peerConfig // shared with the server's other peers
	id        enode.ID
	node      atomic.Pointer[enode.Node] // the dialed node; made on first use for inbound peers
	name      string
	caps      []Cap
	flags     atomic.Int32                // connFlag; the trusted bit may change
	sinceWake int32                       // messages delivered since wakeProtocols; read loop only
	protos    []*protoRW                  // by offset
	logger    atomic.Pointer[slog.Logger] // made on first use: most peers never log

	created mclock.AbsTime
	msgsIn  atomic.Uint64

	// Base protocol rate limit and RTT. Times are kept as 1 + the time
	// since created, so that 0 means none.
	baseBudget tokenBucket  // read loop only
	pingSent   atomic.Int64 // when the outstanding Ping was sent; 0: none
	srtt       atomic.Int64 // smoothed RTT in ns; 0: unknown
	minRTT     atomic.Int64 // lowest RTT in ns; 0: unknown
	useful     atomic.Int64 // last MarkUseful; 0: never

	msgsOut atomic.Uint64
	closing atomic.Bool    // set when the peer starts to shut down
	wg      sync.WaitGroup // protocol goroutines

	mu              sync.Mutex    // guards following
	cause           error         // why the peer ends; set once
	closed          chan struct{} // made on first use; closed when the peer starts to shut down
	remoteRequested bool          // the remote sent Disconnect
	pingTimer       mclock.Timer
}

// peerConfig is what a peer takes from the server. The server makes one
// and shares it with all its peers.
type peerConfig struct {
	protos    []Protocol
	traffic   protoTrafficSet // the server's per-protocol counters
	clock     mclock.Clock
	log       *slog.Logger
	events    *eventFeed // nil unless message events are enabled
	pingEvery time.Duration
	writeTO   time.Duration
	readTO    time.Duration
}

// newPeer makes a peer of a connection that passed checkpoint 2. The
// connection's read and write timeouts must be set already.
func newPeer(c *conn, cfg *peerConfig) *Peer {
	p := &Peer{
		fd:      c.fd,
		rc:      c.rc,
		cfg:     cfg,
		id:      c.id,
		name:    c.hello.Name,
		caps:    c.hello.Caps,
		created: cfg.clock.Now(),
	}
	if c.node != nil {
		p.node.Store(c.node)
	}
	p.flags.Store(int32(c.flags))
	p.fd.peer = p
	p.w = newPeerWriter(c.rc, cfg.writeTO, &p.msgsOut, p)
	matches := matchProtocols(cfg.protos, c.hello.Caps)
	p.protos = make([]*protoRW, len(matches))
	for i, m := range matches {
		p.protos[i] = &protoRW{proto: m.proto, offset: m.offset, peer: p, ready: make(chan struct{}, 1),
			srvTraffic: cfg.traffic.get(m.proto.Name)}
	}
	return p
}

// closedChan returns a channel that is closed when the peer starts to shut
// down. It is made on first use: only waits that must also watch for the
// peer's end need it.
func (p *Peer) closedChan() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed == nil {
		p.closed = make(chan struct{})
		if p.cause != nil {
			close(p.closed)
		}
	}
	return p.closed
}

// log returns the peer's logger, making it on first use.
func (p *Peer) log() *slog.Logger {
	if l := p.logger.Load(); l != nil {
		return l
	}
	l := p.cfg.log.With("id", p.id, "addr", p.fd.RemoteAddr(), "conn", p.connFlags())
	if p.logger.CompareAndSwap(nil, l) {
		return l
	}
	return p.logger.Load()
}

// ID returns the node ID of the remote.
func (p *Peer) ID() enode.ID { return p.id }

// Node returns the remote's node record: the dialed record, or for an
// inbound peer one made from its key and address.
func (p *Peer) Node() *enode.Node {
	if n := p.node.Load(); n != nil {
		return n
	}
	addr := netutil.AddrPortFromNetAddr(p.fd.RemoteAddr())
	n := enode.NewV4(p.rc.RemoteKey(), addr.Addr(), int(addr.Port()), int(addr.Port()))
	if p.node.CompareAndSwap(nil, n) {
		return n
	}
	return p.node.Load()
}

// Name returns the client name from the remote's Hello, shortened to 20
// characters for logs.
func (p *Peer) Name() string {
	if len(p.name) > 20 {
		return p.name[:20] + "..."
	}
	return p.name
}

// Fullname returns the client name from the remote's Hello.
func (p *Peer) Fullname() string { return p.name }

// Caps returns the capabilities the remote announced, in Hello order.
// The slice must not be modified.
func (p *Peer) Caps() []Cap { return p.caps }

// RunningCap reports whether a protocol of the given name runs with the
// peer in one of the given versions.
func (p *Peer) RunningCap(protocol string, versions []uint) bool {
	for _, rw := range p.protos {
		if rw.proto.Name == protocol && slices.Contains(versions, rw.proto.Version) {
			return true
		}
	}
	return false
}

// RemoteAddr returns the remote address of the connection.
func (p *Peer) RemoteAddr() net.Addr { return p.fd.RemoteAddr() }

// LocalAddr returns the local address of the connection.
func (p *Peer) LocalAddr() net.Addr { return p.fd.LocalAddr() }

// Inbound reports whether the remote connected to us.
func (p *Peer) Inbound() bool { return p.connFlags().is(inboundConn) }

// Trusted reports whether the remote is a trusted node.
func (p *Peer) Trusted() bool { return p.connFlags().is(trustedConn) }

// StaticDialed reports whether we dialed the remote as a static node.
func (p *Peer) StaticDialed() bool { return p.connFlags().is(staticDialedConn) }

// DynDialed reports whether we dialed the remote to fill a dynamic slot.
func (p *Peer) DynDialed() bool { return p.connFlags().is(dynDialedConn) }

// Log returns the peer's logger.
func (p *Peer) Log() *slog.Logger { return p.log() }

// Lifetime returns how long the peer has been connected.
func (p *Peer) Lifetime() time.Duration { return p.cfg.clock.Now().Sub(p.created) }

// RTT returns the smoothed round-trip time of the peer's Pings: the time
// from queueing a Ping to reading its Pong, averaged over the recent
// Pings (each new sample weighs 1/8). It is 0 until the first Pong, about
// one ping interval (15 s) after the peer was added.
func (p *Peer) RTT() time.Duration { return time.Duration(p.srtt.Load()) }

// MarkUseful tells the server that the peer just did something useful,
// such as delivering a new block or transaction. A sub-protocol calls it;
// the most recently useful inbound peers are protected from eviction (see
// Limits.EvictInbound). It is cheap enough to call for every message.
func (p *Peer) MarkUseful() { p.useful.Store(p.sinceCreated()) }

// lastUseful returns the time of the last MarkUseful, and false if there
// was none.
func (p *Peer) lastUseful() (mclock.AbsTime, bool) {
	v := p.useful.Load()
	return p.created.Add(time.Duration(v - 1)), v != 0
}

// sinceCreated returns 1 + the time since the peer was made, in ns.
func (p *Peer) sinceCreated() int64 {
	return int64(p.cfg.clock.Now().Sub(p.created)) + 1
}

// Disconnect ends the connection, sending reason to the remote. It returns
// at once; the peer is gone from the server when its drop event is sent.
func (p *Peer) Disconnect(reason DiscReason) {
	p.fail(reason, false)
}

func (p *Peer) connFlags() connFlag { return connFlag(p.flags.Load()) }

func (p *Peer) setFlag(f connFlag, on bool) {
	for {
		old := p.flags.Load()
		n := old &^ int32(f)
		if on {
			n |= int32(f)
		}
		if p.flags.CompareAndSwap(old, n) {
			return
		}
	}
}

// PeerStats are the traffic counters of a peer.
type PeerStats struct {
	BytesIn, BytesOut uint64 // bytes on the wire, handshakes and framing included
	MsgsIn, MsgsOut   uint64 // messages, base protocol included

	// Protocols counts the messages of each running protocol, by
	// protocol name.
	Protocols map[string]ProtocolStats
}

// Stats returns the peer's traffic counters.
func (p *Peer) Stats() PeerStats {
	return PeerStats{
		BytesIn:  p.fd.bytesIn.Load(),
		BytesOut: p.fd.bytesOut.Load(),
		MsgsIn:   p.msgsIn.Load(),
		MsgsOut:  p.msgsOut.Load(),
		Protocols: func() map[string]ProtocolStats {
			m := make(map[string]ProtocolStats, len(p.protos))
			for _, rw := range p.protos {
				m[rw.proto.Name] = m[rw.proto.Name].add(rw.traffic.snapshot())
			}
			return m
		}(),
	}
}

// PeerInfo is the admin view of a peer, with go-ethereum's JSON form.
type PeerInfo struct {
	ENR     string   `json:"enr,omitempty"` // node record, if it has a sequence number
	Enode   string   `json:"enode"`         // enode URL
	ID      string   `json:"id"`            // node ID, hex
	Name    string   `json:"name"`          // client name from Hello
	Caps    []string `json:"caps"`          // capabilities from Hello
	Network struct {
		LocalAddress  string `json:"localAddress"`
		RemoteAddress string `json:"remoteAddress"`
		Inbound       bool   `json:"inbound"`
		Trusted       bool   `json:"trusted"`
		Static        bool   `json:"static"`
	} `json:"network"`
	Protocols map[string]any `json:"protocols"` // per running protocol: its PeerInfo, "handshake" or "unknown"
}

// Info returns the admin view of the peer.
func (p *Peer) Info() *PeerInfo {
	node := p.Node()
	info := &PeerInfo{
		Enode:     node.URLv4(),
		ID:        p.ID().String(),
		Name:      p.name,
		Caps:      make([]string, 0, len(p.caps)),
		Protocols: make(map[string]any, len(p.protos)),
	}
	for _, c := range p.caps {
		info.Caps = append(info.Caps, c.String())
	}
	if node.Seq() > 0 {
		info.ENR = node.String()
	}
	flags := p.connFlags()
	info.Network.LocalAddress = p.LocalAddr().String()
	info.Network.RemoteAddress = p.RemoteAddr().String()
	info.Network.Inbound = flags.is(inboundConn)
	info.Network.Trusted = flags.is(trustedConn)
	info.Network.Static = flags.is(staticDialedConn)
	for _, rw := range p.protos {
		var v any = "unknown"
		if q := rw.proto.PeerInfo; q != nil {
			if v = q(p.ID()); v == nil {
				v = "handshake"
			}
		}
		info.Protocols[rw.proto.Name] = v
	}
	return info
}

// run is the peer's read loop. It starts the protocols, reads until the
// connection fails or the peer is told to end, then disconnects, waits for
// the protocols to return and reports why the peer ended. A Disconnect it
// sends is followed by a graceful close (meteredConn.closeGracefully): the
// connection is closed at most discWriteTimeout plus lingerTimeout after the
// peer was told to end. Each peer closes on its own goroutine, so with many
// peers Server.Stop waits that long once, not once per peer.
func (p *Peer) run() (err error, remoteRequested bool) {
	for _, rw := range p.protos {
		p.wg.Add(1)
		go p.runProtocol(rw)
	}
	p.armPing()
	readErr := p.readLoop()
	p.fail(readErr, false) // no effect if something else ended the peer first

	p.mu.Lock()
	err, remoteRequested = p.cause, p.remoteRequested
	p.mu.Unlock()
	sent := false
	if reason := DiscReasonFor(err); !remoteRequested && reason != DiscNetworkError {
		sent = p.w.close(discMsg, appendDisconnect(nil, reason), discWriteTimeout)
	} else {
		p.w.close(0, nil, 0)
	}
	if sent {
		// The flusher ends with the Disconnect: nothing writes after it.
		p.w.wait()
		p.fd.closeGracefully()
	} else {
		p.rc.Close() // ends a flusher stuck on the network
		p.w.wait()
	}
	p.wg.Wait()
	return err, remoteRequested
}

func (p *Peer) runProtocol(rw *protoRW) {
	defer p.wg.Done()
	err := rw.proto.Run(p, rw)
	if err == nil {
		err = errProtocolReturned
	} else if !errors.Is(err, io.EOF) && !errors.Is(err, ErrShuttingDown) {
		p.log().Log(context.Background(), LevelTrace, "Protocol ended", "proto", rw.proto.cap(), "err", err)
	}
	p.fail(err, false)
}

// readLoop reads and dispatches messages until an error.
func (p *Peer) readLoop() error {
	for {
		code, data, wire, err := p.rc.ReadMsg()
		if err != nil {
			return readError(err)
		}
		p.msgsIn.Add(1)
		switch {
		case code == discMsg:
			return remoteDisconnect{decodeDisconnect(data)}
		case code < baseProtoLen:
			if !p.baseBudget.take(p.cfg.clock.Now(), baseMsgBurst, baseMsgInterval) {
				return &PeerError{Reason: DiscProtocolError, Msg: fmt.Sprintf("base protocol messages faster than one per %v", baseMsgInterval), Err: errBaseFlood}
			}
			switch code {
			case pingMsg:
				p.wakeProtocols() // the write may wait for queue space
				if err := p.w.write(pongMsg, emptyList, true); err != nil {
					return err
				}
			case pongMsg:
				p.gotPong()
			}
			// Other codes: Hello again, or a code the base protocol does
			// not use yet. Ignored, within the budget.
		default:
			rw := p.protoFor(code)
			if rw == nil {
				return newPeerError(DiscProtocolError, "message code %#x out of range", code)
			}
			buf := make([]byte, len(data))
			copy(buf, data)
			msg := Msg{
				Code:       code - rw.offset,
				Size:       uint32(len(buf)),
				Payload:    newPayload(buf),
				ReceivedAt: p.fd.lastReadTime(),
				wireSize:   uint32(wire),
			}
			rw.traffic.received(len(buf))
			if rw.srvTraffic != nil {
				rw.srvTraffic.received(len(buf))
			}
			if err := rw.deliver(msg); err != nil {
				return err
			}
		}
	}
}

// wakeProtocols wakes the protocols that have messages the read loop has
// not told them about. Only the read loop calls it: before it reads from
// the network (meteredConn.beforeRead) or waits for anything else.
func (p *Peer) wakeProtocols() {
	p.sinceWake = 0
	for _, rw := range p.protos {
		if rw.unsignalled > 0 {
			rw.wake()
		}
	}
}

// beforeRead is called by the read loop before it reads from the network.
func (p *Peer) beforeRead() { p.wakeProtocols() }

// remoteDisconnect is what readLoop returns when the remote sent Disconnect.
type remoteDisconnect struct{ reason DiscReason }

func (r remoteDisconnect) Error() string { return r.reason.Error() }

// readError classifies an error of the connection's read side.
func readError(err error) error {
	switch {
	case netutil.IsTimeout(err):
		return &PeerError{Reason: DiscReadTimeout, Err: err}
	case errors.Is(err, rlpx.ErrMessageTooLarge), errors.Is(err, rlpx.ErrSnappy),
		errors.Is(err, rlpx.ErrMessageCode), errors.Is(err, rlpx.ErrEmptyFrame),
		errors.Is(err, rlpx.ErrHeaderMAC), errors.Is(err, rlpx.ErrFrameMAC):
		return &PeerError{Reason: DiscProtocolError, Err: err}
	default:
		return &PeerError{Reason: DiscNetworkError, Err: err}
	}
}

func (p *Peer) protoFor(code uint64) *protoRW {
	for _, rw := range p.protos {
		if code >= rw.offset && code < rw.offset+rw.proto.Length {
			return rw
		}
	}
	return nil
}

// fail ends the peer with err, unless it is ending already. It wakes the
// read loop, which does the rest.
func (p *Peer) fail(err error, remote bool) {
	if rd, ok := err.(remoteDisconnect); ok {
		err, remote = rd.reason, true
	}
	p.mu.Lock()
	if p.cause != nil {
		p.mu.Unlock()
		return
	}
	p.cause, p.remoteRequested = err, remote
	if p.pingTimer != nil {
		p.pingTimer.Stop()
	}
	p.closing.Store(true)
	if p.closed != nil {
		close(p.closed)
	}
	p.mu.Unlock()
	for _, rw := range p.protos {
		rw.signal() // ReadMsg waits on ready only
	}
	p.fd.interrupt()
}

// writeFailed is called by the writer when a write fails.
func (p *Peer) writeFailed(err error) {
	p.fail(&PeerError{Reason: DiscNetworkError, Msg: "write", Err: err}, false)
}

// armPing schedules the next Ping.
func (p *Peer) armPing() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cause == nil {
		p.pingTimer = p.cfg.clock.AfterFunc(p.cfg.pingEvery, p.ping)
	}
}

func (p *Peer) ping() {
	// With a Ping still unanswered, its time is kept: a late Pong then
	// overstates the RTT rather than understating it.
	p.pingSent.CompareAndSwap(0, p.sinceCreated())
	if p.w.write(pingMsg, emptyList, true) == nil {
		p.armPing()
	}
}

// gotPong measures the RTT of the outstanding Ping. A Pong without one is
// ignored.
func (p *Peer) gotPong() {
	sent := p.pingSent.Swap(0)
	if sent == 0 {
		return
	}
	rtt := max(p.sinceCreated()-sent, 1)
	if m := p.minRTT.Load(); m == 0 || rtt < m {
		p.minRTT.Store(rtt)
	}
	if s := p.srtt.Load(); s == 0 {
		p.srtt.Store(rtt)
	} else {
		p.srtt.Store(s + (rtt-s)/8)
	}
}

// The base protocol's messages (Ping, Pong, and codes below 16 other than
// Disconnect) are limited per peer by a token bucket: at most
// baseMsgBurst at once and one per baseMsgInterval on average. An honest
// peer sends one Ping and one Pong per 15 s (go-ethereum's and our ping
// interval), some 30 times less; a peer over the limit is disconnected with
// DiscProtocolError. Each Ping within the limit gets one Pong.
const (
	baseMsgBurst    = 10
	baseMsgInterval = 500 * time.Millisecond
)

// LevelTrace is the log level of per-message and per-handshake detail.
const LevelTrace = slog.Level(-8)

// String describes the peer for logs.
func (p *Peer) String() string {
	return fmt.Sprintf("Peer %x %v", p.ID().Bytes()[:8], p.RemoteAddr())
}

// msgEvent emits a message event.
func (p *Peer) msgEvent(typ PeerEventType, proto string, code uint64, size uint32) {
	if !p.cfg.events.hasSubscribers() {
		return
	}
	p.cfg.events.send(&PeerEvent{
		Type:          typ,
		Peer:          p.ID(),
		Protocol:      proto,
		MsgCode:       &code,
		MsgSize:       &size,
		LocalAddress:  p.LocalAddr().String(),
		RemoteAddress: p.RemoteAddr().String(),
	})
}
