// Package p2p implements the devp2p connection pool: a Server that accepts
// and dials RLPx connections, admits peers through checkpoints, and runs
// sub-protocols over them.
//
// A connection lives like this. The listener checks the source IP before
// any cryptography (NetRestrict, bans, trusted-only, a per-IP throttle,
// per-IP and per-subnet pending caps, whether an inbound slot is free or
// could be freed by evicting a peer, the subnet's share of inbound peers;
// see Limits) and takes a pending slot, closing the setup that has waited
// longest for its remote when none is free. The encryption handshake
// follows, with a filter that refuses replayed auth packets; at checkpoint
// 1 the run loop checks the remote ID (self, bans, already connected, peer
// and subnet caps with a bypass for trusted nodes). After the Hello
// exchange, checkpoint 2 requires a shared capability and checks the caps
// again (evicting the weakest unprotected inbound peer for a newcomer when
// inbound is full), then the peer runs: its protocols
// get message codes after the 16 base codes, it is pinged every 15 s and
// dropped after 30 s of silence. Dialing is done by a scheduler
// (p2p/internal/dialsched) that keeps static nodes connected and fills the
// outbound slots with candidates from discovery v4 (package discover),
// which shares the TCP port over UDP, and, after a restart, first with the
// best outbound peers of earlier runs, kept in the node database (package
// nodedb) with discovery's knowledge of the network. Every failure is
// classified by phase, direction and reason and mapped by one table to a
// dial backoff, a reputation change or a ban (see Policy).
package p2p

import (
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/devp2p-go/devp2p/discover"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/enr"
	"github.com/devp2p-go/devp2p/nodedb"
	"github.com/devp2p-go/devp2p/p2p/internal/dialsched"
)

// Server is the devp2p connection pool. Set Config, call Start, and Stop
// when done; a Server cannot be restarted. Config must not be modified
// after Start. All methods are safe for concurrent use.
type Server struct {
	Config

	cfg          Config // Config with defaults applied
	ctx          context.Context
	log          *slog.Logger
	limits       peerLimits
	localnode    *enode.LocalNode
	helloPayload []byte // our encoded Hello
	listener     net.Listener
	listenAddr   string
	inbound      *inboundState
	dialsched    *dialsched.Scheduler
	events       eventFeed
	snapshot     atomic.Pointer[admissionSnapshot] // published by run
	nodedb       *nodedb.DB
	ownDB        bool             // nodedb was opened by Start and is closed by Stop
	udpConn      discover.UDPConn // discovery's socket; owned by discv4 once it runs
	discv4       *discover.UDPv4  // nil without discovery
	store        *peerStore
	pol          policyState   // failure counters, reputation, policy settings
	bans         *banList      // made by Start
	pendingSlots *pendingSlots // of inbound setups; made by Start

	replay *replayFilter // recent inbound auth packets, made by Start

	// Wall-clock times (Unix nanoseconds, 0: never) of the last accepted
	// TCP connection and of the last inbound peer added, for diagnostics.
	lastInboundConn atomic.Int64
	lastInboundPeer atomic.Int64
	startedAt       atomic.Int64    // wall-clock UnixNano of Start
	trustedCount    atomic.Int64    // size of the run loop's trusted set
	traffic         protoTrafficSet // per protocol name, made by Start

	mu      sync.Mutex // guards following
	running bool
	stopped bool
	setups  map[*meteredConn]struct{} // connections in setup, closed by Stop

	quit   chan struct{}
	loopWG sync.WaitGroup // run and listenLoop

	// Channels of the run loop. Setup goroutines write the checkpoint
	// channels; runPeer writes delPeerCh; the public API writes the rest.
	postHandshakeCh chan *conn
	addPeerCh       chan *conn
	delPeerCh       chan peerDrop
	addTrustedCh    chan trustedReq
	removeTrustedCh chan trustedReq
	peerOpCh        chan peerOp
	peerOpDone      chan struct{}

	// Everything below here belongs to the run loop.
	dropWaiters map[enode.ID][]chan struct{} // closed when the peer is removed
	peerCfg     *peerConfig                  // shared by all peers
}

// peerOp is a function run on the run loop with the peer set.
type peerOp func(peers map[enode.ID]*Peer)

// trustedReq asks the run loop to change the trusted set; done is closed
// when the change is in effect.
type trustedReq struct {
	node *enode.Node
	done chan struct{}
}

// peerDrop is sent by runPeer when a peer has ended.
type peerDrop struct {
	p               *Peer
	err             error
	remoteRequested bool
}

// Server errors.
var (
	errAlreadyRunning = errors.New("p2p: server already running")
	errStopped        = errors.New("p2p: server was stopped and cannot be restarted")
)

// Start starts the server: it opens the node database, the listener (if
// ListenAddr is set) and discovery's UDP socket (unless NoDiscovery),
// starts discovery, the dial scheduler and the run loop. On error nothing
// is left open.
func (srv *Server) Start() (err error) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	switch {
	case srv.running:
		return errAlreadyRunning
	case srv.stopped:
		return errStopped
	}
	cfg := srv.Config.withDefaults()
	if err := cfg.validate(); err != nil {
		return err
	}
	srv.cfg = cfg
	srv.ctx = context.Background()
	srv.log = cfg.Logger
	srv.limits = peerLimits{maxPeers: cfg.MaxPeers, maxInbound: cfg.maxInbound(), maxOutbound: cfg.maxOutbound()}
	srv.cfg.Limits = cfg.Limits.withDefaults(srv.limits.maxInbound, srv.limits.maxOutbound)
	if srv.cfg.maxPendingPerIP == 0 {
		srv.cfg.maxPendingPerIP = srv.cfg.Limits.MaxPendingPerIP
	}
	srv.bans = newBanList(cfg.clock)
	srv.pendingSlots = newPendingSlots(cfg.clock, cfg.MaxPendingPeers, cfg.handshakeTO)
	srv.replay = newReplayFilter(cfg.clock)
	srv.quit = make(chan struct{})
	srv.setups = make(map[*meteredConn]struct{})
	srv.postHandshakeCh = make(chan *conn)
	srv.addPeerCh = make(chan *conn)
	srv.delPeerCh = make(chan peerDrop)
	srv.addTrustedCh = make(chan trustedReq)
	srv.removeTrustedCh = make(chan trustedReq)
	srv.peerOpCh = make(chan peerOp)
	srv.peerOpDone = make(chan struct{})
	srv.dropWaiters = make(map[enode.ID][]chan struct{})
	srv.inbound = newInboundState(cfg.clock, cfg.throttleTime)
	tIPs, tNoIP := trustedIPs(cfg.TrustedNodes)
	srv.snapshot.Store(&admissionSnapshot{trustedIPs: tIPs, trustedNoIP: tNoIP})

	srv.helloPayload = appendHello(nil, &hello{
		Version: baseVersion,
		Name:    cfg.Name,
		Caps:    localCaps(cfg.Protocols),
		ID:      cfg.PrivateKey.Public()[:],
	})
	if err := srv.setupLocalNode(); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			if srv.listener != nil {
				srv.listener.Close()
				srv.listener = nil
			}
			srv.closeResources()
			srv.nodedb, srv.discv4, srv.udpConn = nil, nil, nil
		}
	}()
	if cfg.ListenAddr != "" {
		if err := srv.setupListening(); err != nil {
			return err
		}
	} else if cfg.NoDial {
		srv.log.Warn("P2P server will be useless, neither dialing nor listening")
	}
	if err := srv.setupDiscovery(); err != nil {
		return err
	}
	srv.setupPolicy()
	srv.cfg.nodeSource = srv.dialCandidates()
	srv.setupDialScheduler()
	srv.store = newPeerStore(srv.nodedb, srv.log, cfg.clock, cfg.maintainEvery)
	srv.startPolicy()
	srv.traffic = newProtoTrafficSet(srv.cfg.Protocols)

	srv.running = true
	srv.startedAt.Store(time.Now().UnixNano())
	srv.loopWG.Add(1)
	go srv.run()
	if srv.listener != nil {
		srv.loopWG.Add(1)
		go srv.listenLoop()
	}
	self := srv.localnode.Node()
	if srv.discv4 != nil {
		srv.log.Info("Started P2P networking", "self", self.URLv4(), "discovery", srv.udpConn.LocalAddr())
	} else {
		srv.log.Info("Started P2P networking", "self", self.URLv4())
	}
	return nil
}

// setupListening opens the TCP listener (and discovery's UDP socket on the
// same port) and puts the port into the local node. The listen loop is
// started at the end of Start.
func (srv *Server) setupListening() error {
	if err := srv.listenTCPAndUDP(); err != nil {
		return err
	}
	l := srv.listener
	srv.listenAddr = l.Addr().String()
	if ap := addrPort(l.Addr()); ap.IsValid() {
		srv.localnode.Set(enr.TCP(ap.Port()))
		if ip := ap.Addr().Unmap(); !ip.IsUnspecified() {
			srv.localnode.SetFallbackIP(ip)
		}
	}
	return nil
}

func addrPort(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.AddrPort()
	}
	return netip.AddrPort{}
}

// Stop disconnects every peer with DiscQuitting, closes the listener,
// connections in setup and discovery, records the peers' sessions in the
// peer store, closes the node database (unless it came from
// Config.NodeDB) and returns when every goroutine of the server has ended.
// Peers are closed gracefully (Disconnect written, write side shut, incoming
// bytes drained until EOF), so Stop can take up to about 2 s when remotes do
// not close their end. Calling it again, or before Start, does nothing.
func (srv *Server) Stop() {
	srv.mu.Lock()
	if !srv.running {
		srv.stopped = true
		srv.mu.Unlock()
		return
	}
	srv.running, srv.stopped = false, true
	close(srv.quit)
	if srv.listener != nil {
		srv.listener.Close()
	}
	for fd := range srv.setups {
		fd.Close()
	}
	srv.mu.Unlock()
	srv.loopWG.Wait()
	srv.closeResources()
	srv.events.close()
}

// Running reports whether the server has been started and not stopped.
func (srv *Server) Running() bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.running
}

// trackSetup registers a connection in setup so that Stop can close it.
// It returns false if the server is stopping.
func (srv *Server) trackSetup(fd *meteredConn) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if !srv.running {
		return false
	}
	srv.setups[fd] = struct{}{}
	return true
}

func (srv *Server) untrackSetup(fd *meteredConn) {
	srv.mu.Lock()
	delete(srv.setups, fd)
	srv.mu.Unlock()
}

// run is the run loop. It alone owns the peer set, the inbound count and
// the trusted set.
func (srv *Server) run() {
	defer srv.loopWG.Done()
	var (
		peers   = make(map[enode.ID]*Peer)
		counts  peerCounts
		trusted = make(map[enode.ID]*enode.Node)
		snap    = srv.snapshot.Load()
		seed    = maphash.MakeSeed() // the secret key of eviction's subnet choice
		evicts  tokenBucket          // bounds the rate of evictions
	)
	evictOK := func() bool { return evicts.has(srv.cfg.clock.Now(), evictBurst, evictInterval) }
	for _, n := range srv.cfg.TrustedNodes {
		trusted[n.ID()] = n
	}
	srv.trustedCount.Store(int64(len(trusted)))
	publish := func(trustedChanged bool) {
		s := &admissionSnapshot{counts: counts, trustedIPs: snap.trustedIPs, trustedNoIP: snap.trustedNoIP}
		if trustedChanged {
			s.trustedIPs, s.trustedNoIP = trustedIPs(slices.Collect(mapValues(trusted)))
			srv.trustedCount.Store(int64(len(trusted)))
		}
		s.inbound, s.outbound = groupCounts(peers, &srv.cfg.Limits)
		s.evictable = srv.evictable(peers, counts, seed)
		snap = s
		srv.snapshot.Store(s)
	}
	// detach removes p from the peer set. It is called when p has ended, or
	// earlier when a new connection replaces it (p is in replaced then).
	replaced := make(map[*Peer]bool)
	detach := func(pd peerDrop) {
		id, flags := pd.p.ID(), pd.p.connFlags()
		delete(peers, id)
		counts = counts.without(flags)
		srv.dialsched.PeerRemoved(id, flags.dialed(), pd.err)
		srv.log.Debug("Removing p2p peer", "id", id, "addr", pd.p.RemoteAddr(), "conn", flags,
			"duration", pd.p.Lifetime(), "peercount", len(peers), "reason", DiscReasonFor(pd.err),
			"remote", pd.remoteRequested, "err", pd.err)
		srv.store.peerDropped(pd.p, flags, pd.err)
		srv.peerEnded(pd)
		srv.emitDrop(pd, flags)
	}
	removePeer := func(pd peerDrop) {
		if replaced[pd.p] {
			delete(replaced, pd.p)
			return
		}
		detach(pd)
		publish(false) // before RemovePeer returns, PeerCount must be right
		id := pd.p.ID()
		for _, ch := range srv.dropWaiters[id] {
			close(ch)
		}
		delete(srv.dropWaiters, id)
	}
	existing := func(id enode.ID) connFlag {
		if p := peers[id]; p != nil {
			return p.connFlags()
		}
		return 0
	}
running:
	for {
		select {
		case <-srv.quit:
			break running

		case req := <-srv.addTrustedCh:
			// From AddTrustedPeer.
			n := req.node
			trusted[n.ID()] = n
			srv.pol.setTrusted(n.ID(), true)
			if p := peers[n.ID()]; p != nil {
				p.setFlag(trustedConn, true)
			}
			publish(true)
			close(req.done)

		case req := <-srv.removeTrustedCh:
			// From RemoveTrustedPeer.
			n := req.node
			delete(trusted, n.ID())
			srv.pol.setTrusted(n.ID(), false)
			if p := peers[n.ID()]; p != nil {
				p.setFlag(trustedConn, false)
			}
			publish(true)
			close(req.done)

		case op := <-srv.peerOpCh:
			// From the public API: Peers, RemovePeer and others.
			op(peers)
			srv.peerOpDone <- struct{}{}

		case c := <-srv.postHandshakeCh:
			// Checkpoint 1, from a setup goroutine.
			if trusted[c.id] != nil {
				c.flags |= trustedConn
			}
			pc, _ := srv.peerCheck(c, existing(c.id), counts, snap, peers, seed, evictOK())
			_, err := checkPostHandshake(pc)
			if err == nil && c.flags.is(inboundConn) {
				srv.dialsched.InboundPending(c.id)
			}
			c.cont <- localError(err, stageCheckpoint1)

		case c := <-srv.addPeerCh:
			// Checkpoint 2, from a setup goroutine.
			if trusted[c.id] != nil {
				c.flags |= trustedConn
			}
			pc, victim := srv.peerCheck(c, existing(c.id), counts, snap, peers, seed, evictOK())
			evict, err := checkAddPeer(srv.cfg.Protocols, c.hello.Caps, pc)
			if err == nil {
				if old := peers[c.id]; old != nil {
					// The connection the other way is replaced; see
					// checkPostHandshake.
					reason := &PeerError{Reason: DiscAlreadyConnected, Msg: "replaced by a connection the other way"}
					old.fail(reason, false)
					replaced[old] = true
					detach(peerDrop{p: old, err: reason})
				}
				if v := peers[victim]; evict && v != nil {
					// Inbound is full: the newcomer takes the place of the
					// weakest unprotected inbound peer; see selectVictim.
					reason := &PeerError{Reason: DiscTooManyPeers, Msg: "evicted for a new inbound peer"}
					v.fail(reason, false)
					evicts.take(srv.cfg.clock.Now(), evictBurst, evictInterval)
					replaced[v] = true
					detach(peerDrop{p: v, err: reason})
					for _, ch := range srv.dropWaiters[victim] {
						close(ch)
					}
					delete(srv.dropWaiters, victim)
					srv.inbound.evicted.Add(1)
				}
				p := srv.launchPeer(c)
				peers[c.id] = p
				counts.total++
				if c.flags.is(inboundConn) {
					counts.inbound++
				}
				if c.flags.dialed() {
					counts.outbound++
				}
				srv.dialsched.PeerAdded(c.id, c.flags.dialed())
				if c.flags.is(inboundConn) {
					srv.lastInboundPeer.Store(time.Now().UnixNano())
				}
				srv.log.Debug("Adding p2p peer", "id", c.id, "addr", c.fd.RemoteAddr(), "conn", c.flags,
					"name", p.Name(), "peercount", len(peers))
				srv.store.peerAdded(p, c.flags)
				srv.emitAdd(p)
				publish(false)
			}
			c.cont <- localError(err, stageCheckpoint2)

		case pd := <-srv.delPeerCh:
			// From runPeer: a peer has ended.
			removePeer(pd)
		}
	}

	srv.log.Log(srv.ctx, LevelTrace, "P2P networking is spinning down")
	if srv.discv4 != nil {
		srv.discv4.Close() // ends lookups before the scheduler stops
	}
	for _, p := range peers {
		p.Disconnect(DiscQuitting)
	}
	for len(peers) > 0 || len(replaced) > 0 {
		removePeer(<-srv.delPeerCh)
	}
	publish(false)
	srv.dialsched.Stop()
	srv.log.Info("Stopped P2P networking")
}

func mapValues[K comparable, V any](m map[K]V) func(func(V) bool) {
	return func(yield func(V) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

// trustedIPs returns the IPs of the nodes that have one, and whether some
// have none.
func trustedIPs(nodes []*enode.Node) (ips map[netip.Addr]struct{}, someWithout bool) {
	ips = make(map[netip.Addr]struct{})
	for _, n := range nodes {
		if ip := n.IPAddr().Unmap(); ip.IsValid() {
			ips[ip] = struct{}{}
		} else {
			someWithout = true
		}
	}
	return ips, someWithout
}

// localError turns the result of an admission check into the error of the
// setup: a PeerError, so that the reason is sent to the remote.
func localError(err error, stage string) error {
	var d DiscReason
	if errors.As(err, &d) {
		return &PeerError{Reason: d, Msg: stage}
	}
	return err
}

// launchPeer starts a peer on the run loop.
func (srv *Server) launchPeer(c *conn) *Peer {
	if srv.peerCfg == nil {
		// Made once and shared by all peers: run is the only caller.
		var events *eventFeed
		if srv.cfg.EnableMsgEvents {
			events = &srv.events
		}
		srv.peerCfg = &peerConfig{
			protos:    srv.cfg.Protocols,
			traffic:   srv.traffic,
			clock:     srv.cfg.clock,
			log:       srv.log,
			events:    events,
			pingEvery: srv.cfg.pingEvery,
			writeTO:   srv.cfg.writeTO,
			readTO:    srv.cfg.readTO,
		}
	}
	p := newPeer(c, srv.peerCfg)
	go srv.runPeer(p)
	return p
}

// runPeer runs the peer and reports its end to the run loop, which waits
// for it even while spinning down.
func (srv *Server) runPeer(p *Peer) {
	err, remote := p.run()
	srv.delPeerCh <- peerDrop{p: p, err: err, remoteRequested: remote}
}

func (srv *Server) emitAdd(p *Peer) {
	if !srv.events.hasSubscribers() {
		return
	}
	ev := &PeerEvent{
		Type:          PeerEventTypeAdd,
		Peer:          p.ID(),
		LocalAddress:  p.LocalAddr().String(),
		RemoteAddress: p.RemoteAddr().String(),
	}
	ev.setFlags(p.connFlags())
	srv.events.send(ev)
}

// emitDrop sends the drop event of a peer; flags are its flags when it was
// removed.
func (srv *Server) emitDrop(pd peerDrop, flags connFlag) {
	if !srv.events.hasSubscribers() {
		return
	}
	reason := DiscReasonFor(pd.err)
	ev := &PeerEvent{
		Type:            PeerEventTypeDrop,
		Peer:            pd.p.ID(),
		Reason:          &reason,
		RemoteRequested: pd.remoteRequested,
		Err:             pd.err,
		LocalAddress:    pd.p.LocalAddr().String(),
		RemoteAddress:   pd.p.RemoteAddr().String(),
	}
	ev.setFlags(flags)
	if pd.err != nil {
		ev.Error = pd.err.Error()
	}
	srv.events.send(ev)
}

// doPeerOp runs op on the run loop. It reports false if the server is not
// running.
func (srv *Server) doPeerOp(op peerOp) bool {
	quit := srv.quitChan()
	if quit == nil {
		return false
	}
	select {
	case srv.peerOpCh <- op:
		<-srv.peerOpDone
		return true
	case <-quit:
		return false
	}
}

// quitChan returns the quit channel, or nil before Start.
func (srv *Server) quitChan() chan struct{} {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.quit
}

// AddPeer adds node as a static node: the server dials it and redials it
// whenever the connection ends, until RemovePeer. Nothing is dialed with
// NoDial.
func (srv *Server) AddPeer(node *enode.Node) {
	if ds := srv.scheduler(); ds != nil {
		ds.AddStatic(node)
	}
}

// RemovePeer stops treating node as static and disconnects it with
// DiscRequested, waiting until the peer has been removed.
func (srv *Server) RemovePeer(node *enode.Node) {
	ds := srv.scheduler()
	if ds == nil {
		return
	}
	ds.RemoveStatic(node)
	var gone chan struct{}
	srv.doPeerOp(func(peers map[enode.ID]*Peer) {
		if p := peers[node.ID()]; p != nil {
			gone = make(chan struct{})
			srv.dropWaiters[node.ID()] = append(srv.dropWaiters[node.ID()], gone)
			p.Disconnect(DiscRequested)
		}
	})
	if gone != nil {
		select {
		case <-gone:
		case <-srv.quitChan():
		}
	}
}

// AddTrustedPeer marks node as trusted: it may connect beyond the peer caps.
// It does not dial the node. The change is in effect when it returns.
func (srv *Server) AddTrustedPeer(node *enode.Node) {
	srv.changeTrusted(srv.addTrustedCh, node)
}

// RemoveTrustedPeer removes node from the trusted set. A connected peer
// stays connected. The change is in effect when it returns.
func (srv *Server) RemoveTrustedPeer(node *enode.Node) {
	srv.changeTrusted(srv.removeTrustedCh, node)
}

func (srv *Server) changeTrusted(ch chan trustedReq, node *enode.Node) {
	quit := srv.quitChan()
	if quit == nil {
		return
	}
	req := trustedReq{node: node, done: make(chan struct{})}
	select {
	case ch <- req:
		<-req.done
	case <-quit:
	}
}

// Peers returns the connected peers, in no particular order.
func (srv *Server) Peers() []*Peer {
	var ps []*Peer
	srv.doPeerOp(func(peers map[enode.ID]*Peer) {
		ps = slices.Collect(mapValues(peers))
	})
	return ps
}

// PeerCount returns the number of connected peers.
func (srv *Server) PeerCount() int {
	if s := srv.snapshot.Load(); s != nil {
		return s.counts.total
	}
	return 0
}

// PeersInfo returns the admin view of the connected peers, sorted by ID.
func (srv *Server) PeersInfo() []*PeerInfo {
	ps := srv.Peers()
	infos := make([]*PeerInfo, 0, len(ps))
	for _, p := range ps {
		infos = append(infos, p.Info())
	}
	slices.SortFunc(infos, func(a, b *PeerInfo) int { return strings.Compare(a.ID, b.ID) })
	return infos
}

// SubscribeEvents delivers peer events to ch until the subscription is
// ended. Delivery never blocks the server: a subscriber that falls more
// than a few thousand events behind is dropped, with
// ErrSubscriptionOverflow on the subscription's error channel.
func (srv *Server) SubscribeEvents(ch chan<- *PeerEvent) Subscription {
	return srv.events.subscribe(ch)
}

// Self returns the local node's record, or nil before Start.
func (srv *Server) Self() *enode.Node {
	if ln := srv.LocalNode(); ln != nil {
		return ln.Node()
	}
	return nil
}

// LocalNode returns the local node record builder, or nil before Start.
func (srv *Server) LocalNode() *enode.LocalNode {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.localnode
}

func (srv *Server) scheduler() *dialsched.Scheduler {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if !srv.running {
		return nil
	}
	return srv.dialsched
}

// NodeInfo is the admin view of the local node, with go-ethereum's JSON form.
type NodeInfo struct {
	ID    string `json:"id"`    // node ID, hex
	Name  string `json:"name"`  // client name announced in Hello
	Enode string `json:"enode"` // enode URL
	ENR   string `json:"enr"`   // node record, text form
	IP    string `json:"ip"`    // IP address of the node
	Ports struct {
		Discovery int `json:"discovery"` // UDP discovery port
		Listener  int `json:"listener"`  // TCP listening port
	} `json:"ports"`
	ListenAddr string         `json:"listenAddr"`
	Protocols  map[string]any `json:"protocols"` // per protocol: its NodeInfo or "unknown"
}

// NodeInfo returns the admin view of the local node, or nil before Start.
func (srv *Server) NodeInfo() *NodeInfo {
	node := srv.Self()
	if node == nil {
		return nil
	}
	info := &NodeInfo{
		ID:         node.ID().String(),
		Name:       srv.cfg.Name,
		Enode:      node.URLv4(),
		ENR:        node.String(),
		IP:         node.IPAddr().String(),
		ListenAddr: srv.listenAddr,
		Protocols:  make(map[string]any),
	}
	info.Ports.Discovery = node.UDP()
	info.Ports.Listener = node.TCP()
	for i := range srv.cfg.Protocols {
		proto := &srv.cfg.Protocols[i]
		if _, ok := info.Protocols[proto.Name]; ok {
			continue
		}
		var v any = "unknown"
		if proto.NodeInfo != nil {
			v = proto.NodeInfo()
		}
		info.Protocols[proto.Name] = v
	}
	return info
}
