package servertest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/p2p"
	gethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/event"
	gethlog "github.com/ethereum/go-ethereum/log"
	gethp2p "github.com/ethereum/go-ethereum/p2p"
	gethenode "github.com/ethereum/go-ethereum/p2p/enode"
)

// The shared test protocol, "test"/1.
const (
	protoName    = "test"
	protoVersion = 1
	protoLength  = 3

	codeRequest = 0 // answered with codeReply carrying the same payload bytes
	codeReply   = 1 // handed to the test as raw bytes
	codePush    = 2 // decoded by the receiver (its own Msg.Decode), handed to the test

	// waitTimeout bounds every wait for something the servers do at once.
	waitTimeout = 20 * time.Second
)

// testMsg is the payload of every test protocol message.
type testMsg struct {
	ID   uint64
	Data []byte
}

// nodeID is a node ID in neither library's type.
type nodeID [32]byte

func (id nodeID) String() string { return fmt.Sprintf("%x", id[:8]) }

// capSpec is a capability a node runs a test protocol for.
type capSpec struct {
	name    string
	version uint
}

var (
	testCaps = []capSpec{{protoName, protoVersion}}
	noCaps   = []capSpec{}
)

// nodeOpts configures a node of either implementation.
type nodeOpts struct {
	key      []byte    // 32-byte secret key; nil: a new key
	port     int       // TCP port on 127.0.0.1; 0: any free port
	maxPeers int       // 0: 10
	noDial   bool      // also makes every peer slot an inbound slot
	caps     []capSpec // nil: testCaps
}

func (o nodeOpts) withDefaults(t testing.TB) nodeOpts {
	if o.key == nil {
		k, err := gethcrypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		o.key = gethcrypto.FromECDSA(k)
	}
	if o.maxPeers == 0 {
		o.maxPeers = 10
	}
	if o.caps == nil {
		o.caps = testCaps
	}
	return o
}

// dropInfo is what a server reports about a dropped peer.
type dropInfo struct {
	err string // the drop event's Error
	// Ours only: the reason in the drop event and who asked for it.
	reason          *p2p.DiscReason
	remoteRequested bool
	cause           error
}

// node is a running server of either implementation, with the test
// protocol and its event subscription. Its wait methods are called from the
// test's goroutine only.
type node interface {
	String() string
	url() string
	id() nodeID
	opts() nodeOpts // as started, with the port it listens on
	addPeer(t testing.TB, url string)
	addTrusted(t testing.TB, url string)
	// waitAdd and waitDrop wait for a peer event about id.
	waitAdd(t testing.TB, id nodeID, timeout time.Duration)
	waitDrop(t testing.TB, id nodeID) dropInfo
	// peerInfo returns the admin view of a connected peer, nil if none.
	peerInfo(t testing.TB, id nodeID) *peerInfo
	// isReason reports whether err is, or wraps, the disconnect reason r of
	// the node's implementation.
	isReason(err error, r uint8) bool
	// waitSession waits for a run of the test protocol with id other than
	// old (nil for any).
	waitSession(t testing.TB, id nodeID, old *session) *session
	// setupError waits for a failed connection setup with id in the log
	// and returns its error.
	setupError(t testing.TB, id nodeID) error
	peerCount() int
	stop()
}

// peerInfo is the admin view of a peer (PeersInfo) in both implementations.
type peerInfo struct {
	name                     string
	caps                     []string
	inbound, trusted, static bool
}

// session is one run of the test protocol with a peer.
type session struct {
	peer       nodeID
	sendRaw    func(code uint64, payload []byte) error // payload bytes as given
	send       func(code uint64, m testMsg) error      // the implementation's Send (its RLP)
	disconnect func(reason uint8)                      // the implementation's Peer.Disconnect
	replies    chan []byte
	pushes     chan testMsg
	done       chan struct{} // closed when Run has returned
}

func newSession(id nodeID) *session {
	return &session{peer: id, replies: make(chan []byte, 64), pushes: make(chan testMsg, 1024), done: make(chan struct{})}
}

var errOverflow = errors.New("test did not read its messages")

// handle is the test protocol's reaction to one received message.
func (s *session) handle(code uint64, payload func() ([]byte, error), decode func(any) error) error {
	switch code {
	case codeRequest:
		b, err := payload()
		if err != nil {
			return err
		}
		return s.sendRaw(codeReply, b)
	case codeReply:
		b, err := payload()
		if err != nil {
			return err
		}
		select {
		case s.replies <- b:
		default:
			return errOverflow
		}
	case codePush:
		var m testMsg
		if err := decode(&m); err != nil {
			return err
		}
		select {
		case s.pushes <- m:
		default:
			return errOverflow
		}
	}
	return nil
}

// sessionSet holds the latest protocol run with each peer.
type sessionSet struct {
	mu      sync.Mutex // guards following
	byPeer  map[nodeID]*session
	changed chan struct{}
}

func newSessionSet() *sessionSet {
	return &sessionSet{byPeer: make(map[nodeID]*session), changed: make(chan struct{})}
}

func (ss *sessionSet) add(s *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.byPeer[s.peer] = s
	close(ss.changed)
	ss.changed = make(chan struct{})
}

func (ss *sessionSet) wait(t testing.TB, id nodeID, old *session) *session {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		ss.mu.Lock()
		s, changed := ss.byPeer[id], ss.changed
		ss.mu.Unlock()
		if s != nil && s != old {
			return s
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for the test protocol with %v", waitTimeout, id)
		}
	}
}

// eventWaiter keeps the events a wait skipped, for later waits.
type eventWaiter[E any] struct {
	ch      chan E
	backlog []E
}

func (w *eventWaiter[E]) wait(t testing.TB, what string, timeout time.Duration, match func(E) bool) E {
	t.Helper()
	for i, ev := range w.backlog {
		if match(ev) {
			w.backlog = append(w.backlog[:i:i], w.backlog[i+1:]...)
			return ev
		}
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case ev := <-w.ch:
			if match(ev) {
				return ev
			}
			w.backlog = append(w.backlog, ev)
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}

// idBytes returns the bytes of a node ID logged by either implementation.
func idBytes(v any) []byte {
	if b, ok := v.(interface{ Bytes() []byte }); ok {
		return b.Bytes()
	}
	return nil
}

func listenAddr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

func portOf(t testing.TB, a net.Addr) int {
	t.Helper()
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		t.Fatalf("listener address %v is not TCP", a)
	}
	return tcp.Port
}

// ---- ours ----

type ourNode struct {
	o        nodeOpts
	srv      *p2p.Server
	events   eventWaiter[*p2p.PeerEvent]
	sub      p2p.Subscription
	logs     *logRecorder
	sessions *sessionSet
	stopOnce sync.Once
}

// startOurs starts our server on 127.0.0.1; it is stopped when the test ends.
func startOurs(t testing.TB, o nodeOpts) *ourNode {
	t.Helper()
	o = o.withDefaults(t)
	key, err := crypto.PrivateKeyFromBytes(o.key)
	if err != nil {
		t.Fatal(err)
	}
	n := &ourNode{o: o, logs: newLogRecorder(t, "ours"), sessions: newSessionSet()}
	var protos []p2p.Protocol
	for _, c := range o.caps {
		protos = append(protos, p2p.Protocol{Name: c.name, Version: c.version, Length: protoLength, Run: n.run})
	}
	n.srv = &p2p.Server{Config: p2p.Config{
		PrivateKey: key,
		Name:       "devp2p-go/servertest",
		ListenAddr: listenAddr(o.port),
		MaxPeers:   o.maxPeers,
		NoDial:     o.noDial,
		Protocols:  protos,
		Logger:     slog.New(n.logs.handler()),
	}}
	n.events.ch = make(chan *p2p.PeerEvent, 1024)
	n.sub = n.srv.SubscribeEvents(n.events.ch)
	if err := n.srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.stop)
	self := n.srv.Self()
	if self == nil || self.TCP() == 0 {
		t.Fatalf("our server has no listening port: %v", self)
	}
	n.o.port = self.TCP()
	return n
}

func (n *ourNode) run(p *p2p.Peer, rw p2p.MsgReadWriter) error {
	s := newSession(nodeID(p.ID()))
	s.sendRaw = func(code uint64, b []byte) error {
		return rw.WriteMsg(p2p.Msg{Code: code, Size: uint32(len(b)), Payload: bytes.NewReader(b)})
	}
	s.send = func(code uint64, m testMsg) error { return p2p.Send(rw, code, m) }
	s.disconnect = func(r uint8) { p.Disconnect(p2p.DiscReason(r)) }
	defer close(s.done)
	n.sessions.add(s)
	for {
		msg, err := rw.ReadMsg()
		if err != nil {
			return err
		}
		payload := func() ([]byte, error) { return io.ReadAll(msg.Payload) }
		if err := s.handle(msg.Code, payload, msg.Decode); err != nil {
			return err
		}
	}
}

func (n *ourNode) String() string { return "ours" }
func (n *ourNode) url() string    { return n.srv.Self().URLv4() }
func (n *ourNode) id() nodeID     { return nodeID(n.srv.Self().ID()) }
func (n *ourNode) opts() nodeOpts { return n.o }
func (n *ourNode) peerCount() int { return n.srv.PeerCount() }
func (n *ourNode) stop()          { n.stopOnce.Do(func() { n.srv.Stop(); n.sub.Unsubscribe() }) }
func (n *ourNode) parse(t testing.TB, url string) *enode.Node {
	t.Helper()
	node, err := enode.ParseV4(url)
	if err != nil {
		t.Fatalf("our enode.ParseV4(%q): %v", url, err)
	}
	return node
}

func (n *ourNode) addPeer(t testing.TB, url string)    { n.srv.AddPeer(n.parse(t, url)) }
func (n *ourNode) addTrusted(t testing.TB, url string) { n.srv.AddTrustedPeer(n.parse(t, url)) }

func (n *ourNode) waitAdd(t testing.TB, id nodeID, timeout time.Duration) {
	t.Helper()
	n.events.wait(t, fmt.Sprintf("our add event for %v", id), timeout, func(ev *p2p.PeerEvent) bool {
		return ev.Type == p2p.PeerEventTypeAdd && nodeID(ev.Peer) == id
	})
}

func (n *ourNode) waitDrop(t testing.TB, id nodeID) dropInfo {
	t.Helper()
	ev := n.events.wait(t, fmt.Sprintf("our drop event for %v", id), waitTimeout, func(ev *p2p.PeerEvent) bool {
		return ev.Type == p2p.PeerEventTypeDrop && nodeID(ev.Peer) == id
	})
	return dropInfo{err: ev.Error, reason: ev.Reason, remoteRequested: ev.RemoteRequested, cause: ev.Err}
}

func (n *ourNode) peerInfo(t testing.TB, id nodeID) *peerInfo {
	for _, p := range n.srv.PeersInfo() {
		if p.ID == fmt.Sprintf("%x", id[:]) {
			return &peerInfo{name: p.Name, caps: p.Caps, inbound: p.Network.Inbound, trusted: p.Network.Trusted, static: p.Network.Static}
		}
	}
	return nil
}

func (n *ourNode) isReason(err error, r uint8) bool { return errors.Is(err, p2p.DiscReason(r)) }

func (n *ourNode) waitSession(t testing.TB, id nodeID, old *session) *session {
	t.Helper()
	return n.sessions.wait(t, id, old)
}

func (n *ourNode) setupError(t testing.TB, id nodeID) error {
	t.Helper()
	r := n.logs.wait(t, fmt.Sprintf("our failed setup with %v", id), waitTimeout, func(r logRecord) bool {
		return r.msg == "Connection setup failed" && bytes.Equal(idBytes(r.attrs["id"]), id[:])
	})
	err, _ := r.attrs["err"].(error)
	return err
}

// ---- go-ethereum ----

type gethNode struct {
	o        nodeOpts
	srv      *gethp2p.Server
	events   eventWaiter[*gethp2p.PeerEvent]
	sub      event.Subscription
	logs     *logRecorder
	sessions *sessionSet
	stopOnce sync.Once
}

// startGeth starts go-ethereum's server on 127.0.0.1 without discovery; it
// is stopped when the test ends.
func startGeth(t testing.TB, o nodeOpts) *gethNode {
	t.Helper()
	o = o.withDefaults(t)
	key, err := gethcrypto.ToECDSA(o.key)
	if err != nil {
		t.Fatal(err)
	}
	n := &gethNode{o: o, logs: newLogRecorder(t, "go-ethereum"), sessions: newSessionSet()}
	var protos []gethp2p.Protocol
	for _, c := range o.caps {
		protos = append(protos, gethp2p.Protocol{Name: c.name, Version: c.version, Length: protoLength, Run: n.run})
	}
	n.srv = &gethp2p.Server{Config: gethp2p.Config{
		PrivateKey:  key,
		Name:        "geth/servertest",
		ListenAddr:  listenAddr(o.port),
		MaxPeers:    o.maxPeers,
		NoDial:      o.noDial,
		NoDiscovery: true,
		Protocols:   protos,
		Logger:      gethlog.NewLogger(n.logs.handler()),
	}}
	n.events.ch = make(chan *gethp2p.PeerEvent, 1024)
	n.sub = n.srv.SubscribeEvents(n.events.ch)
	if err := n.srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.stop)
	n.o.port = n.srv.Self().TCP()
	if n.o.port == 0 {
		t.Fatal("go-ethereum's server has no listening port")
	}
	return n
}

func (n *gethNode) run(p *gethp2p.Peer, rw gethp2p.MsgReadWriter) error {
	s := newSession(nodeID(p.ID()))
	s.sendRaw = func(code uint64, b []byte) error {
		return rw.WriteMsg(gethp2p.Msg{Code: code, Size: uint32(len(b)), Payload: bytes.NewReader(b)})
	}
	s.send = func(code uint64, m testMsg) error { return gethp2p.Send(rw, code, m) }
	s.disconnect = func(r uint8) { p.Disconnect(gethp2p.DiscReason(r)) }
	defer close(s.done)
	n.sessions.add(s)
	for {
		msg, err := rw.ReadMsg()
		if err != nil {
			return err
		}
		payload := func() ([]byte, error) { return io.ReadAll(msg.Payload) }
		if err := s.handle(msg.Code, payload, msg.Decode); err != nil {
			return err
		}
	}
}

func (n *gethNode) String() string { return "go-ethereum" }
func (n *gethNode) url() string    { return n.srv.Self().URLv4() }
func (n *gethNode) id() nodeID     { return nodeID(n.srv.Self().ID()) }
func (n *gethNode) opts() nodeOpts { return n.o }
func (n *gethNode) peerCount() int { return n.srv.PeerCount() }

// stop ends the subscription first: go-ethereum's event feed blocks its
// peers' goroutines while a subscriber does not read.
func (n *gethNode) stop() { n.stopOnce.Do(func() { n.sub.Unsubscribe(); n.srv.Stop() }) }

func (n *gethNode) parse(t testing.TB, url string) *gethenode.Node {
	t.Helper()
	node, err := gethenode.ParseV4(url)
	if err != nil {
		t.Fatalf("go-ethereum's enode.ParseV4(%q): %v", url, err)
	}
	return node
}

func (n *gethNode) addPeer(t testing.TB, url string)    { n.srv.AddPeer(n.parse(t, url)) }
func (n *gethNode) addTrusted(t testing.TB, url string) { n.srv.AddTrustedPeer(n.parse(t, url)) }

func (n *gethNode) waitAdd(t testing.TB, id nodeID, timeout time.Duration) {
	t.Helper()
	n.events.wait(t, fmt.Sprintf("go-ethereum's add event for %v", id), timeout, func(ev *gethp2p.PeerEvent) bool {
		return ev.Type == gethp2p.PeerEventTypeAdd && nodeID(ev.Peer) == id
	})
}

func (n *gethNode) waitDrop(t testing.TB, id nodeID) dropInfo {
	t.Helper()
	ev := n.events.wait(t, fmt.Sprintf("go-ethereum's drop event for %v", id), waitTimeout, func(ev *gethp2p.PeerEvent) bool {
		return ev.Type == gethp2p.PeerEventTypeDrop && nodeID(ev.Peer) == id
	})
	return dropInfo{err: ev.Error}
}

func (n *gethNode) peerInfo(t testing.TB, id nodeID) *peerInfo {
	for _, p := range n.srv.PeersInfo() {
		if p.ID == fmt.Sprintf("%x", id[:]) {
			return &peerInfo{name: p.Name, caps: p.Caps, inbound: p.Network.Inbound, trusted: p.Network.Trusted, static: p.Network.Static}
		}
	}
	return nil
}

func (n *gethNode) isReason(err error, r uint8) bool { return errors.Is(err, gethp2p.DiscReason(r)) }

func (n *gethNode) waitSession(t testing.TB, id nodeID, old *session) *session {
	t.Helper()
	return n.sessions.wait(t, id, old)
}

// setupError finds go-ethereum's log of a failed setup: "Rejected peer" for
// its own checkpoint decisions, "Failed p2p handshake" when the Hello
// exchange failed, e.g. because the remote sent Disconnect.
func (n *gethNode) setupError(t testing.TB, id nodeID) error {
	t.Helper()
	r := n.logs.wait(t, fmt.Sprintf("go-ethereum's failed setup with %v", id), waitTimeout, func(r logRecord) bool {
		return (r.msg == "Rejected peer" || r.msg == "Failed p2p handshake") && bytes.Equal(idBytes(r.attrs["id"]), id[:])
	})
	err, _ := r.attrs["err"].(error)
	return err
}

// startNode starts a node of the named implementation.
func startNode(t testing.TB, impl string, o nodeOpts) node {
	t.Helper()
	if impl == "ours" {
		return startOurs(t, o)
	}
	return startGeth(t, o)
}

// other returns the name of the other implementation.
func other(impl string) string {
	if impl == "ours" {
		return "go-ethereum"
	}
	return "ours"
}

var impls = []string{"ours", "go-ethereum"}

// connect makes dialer dial listener (AddPeer) and waits until both have
// added the other and run the test protocol with it.
func connect(t testing.TB, dialer, listener node) (dialerSession, listenerSession *session) {
	t.Helper()
	dialer.addPeer(t, listener.url())
	dialer.waitAdd(t, listener.id(), waitTimeout)
	listener.waitAdd(t, dialer.id(), waitTimeout)
	return dialer.waitSession(t, listener.id(), nil), listener.waitSession(t, dialer.id(), nil)
}
