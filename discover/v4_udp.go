package discover

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/discover/v4wire"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/enr"
	"github.com/devp2p-go/devp2p/internal/mclock"
	"github.com/devp2p-go/devp2p/netutil"
)

// UDPv4 is a running discovery v4 listener: the transport and its table.
// Its methods are safe for concurrent use.
type UDPv4 struct {
	conn        UDPConn
	priv        *crypto.PrivateKey
	ln          *enode.LocalNode
	self        enode.ID
	log         *slog.Logger
	clock       mclock.Clock
	wall        func() time.Time
	netrestrict *netutil.Netlist
	db          DB // may be nil
	bonds       *bonds
	replies     *replies
	tab         *table
	ctr         counters
	ctx         context.Context // cancelled by Close
	cancel      context.CancelFunc
	closeOnce   sync.Once

	mu        sync.Mutex // guards following
	closing   bool
	wg        sync.WaitGroup              // read loop, queries, ENR fetches; Add only under mu while !closing
	pingbacks map[netip.AddrPort]struct{} // addresses with a ping-back in flight
	fetching  map[enode.ID]struct{}       // nodes whose record is being fetched
}

// ListenV4 starts discovery on conn for the local node ln. The listener
// owns conn from now on and closes it in Close.
func ListenV4(conn UDPConn, ln *enode.LocalNode, cfg Config) (*UDPv4, error) {
	cfg = cfg.withDefaults()
	if cfg.PrivateKey == nil {
		return nil, errors.New("discover: Config.PrivateKey is required")
	}
	if enode.PubkeyToIDV4(cfg.PrivateKey.Public()) != ln.ID() {
		return nil, errors.New("discover: Config.PrivateKey is not the local node's key")
	}
	boot, err := resolveBootnodes(cfg.Bootnodes)
	if err != nil {
		return nil, err
	}
	cfg.Bootnodes = boot
	ctx, cancel := context.WithCancel(context.Background())
	wall := wallClock(cfg.Clock)
	t := &UDPv4{
		conn:        conn,
		priv:        cfg.PrivateKey,
		ln:          ln,
		self:        ln.ID(),
		log:         cfg.Log,
		clock:       cfg.Clock,
		wall:        wall,
		netrestrict: cfg.NetRestrict,
		db:          cfg.DB,
		bonds:       newBonds(cfg.DB, cfg.Log, wall),
		ctx:         ctx,
		cancel:      cancel,
		pingbacks:   make(map[netip.AddrPort]struct{}),
		fetching:    make(map[enode.ID]struct{}),
	}
	t.replies = newReplies(cfg.Clock, &t.ctr, cfg.Log)
	t.tab = newTable(t, t.self, cfg.DB, cfg)
	t.wg.Add(1)
	go t.readLoop()
	t.tab.start()
	return t, nil
}

// resolveBootnodes checks the bootnodes and resolves those given by DNS name.
func resolveBootnodes(nodes []*enode.Node) ([]*enode.Node, error) {
	out := make([]*enode.Node, 0, len(nodes))
	for _, n := range nodes {
		if n.Hostname() != "" && !n.IPAddr().IsValid() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			rn, err := enode.Resolve(ctx, n, nil)
			cancel()
			if err != nil {
				return nil, fmt.Errorf("discover: bad bootnode %v: %w", n, err)
			}
			n = rn
		}
		if err := n.ValidateComplete(); err != nil {
			return nil, fmt.Errorf("discover: bad bootnode %v: %w", n, err)
		}
		out = append(out, n)
	}
	return out, nil
}

// Close stops the listener: it closes the connection, fails pending
// requests, ends lookups and iterators and waits for every goroutine.
func (t *UDPv4) Close() {
	t.closeOnce.Do(func() {
		t.mu.Lock()
		t.closing = true
		t.mu.Unlock()
		t.cancel()
		t.conn.Close()
		t.replies.close()
		t.wg.Wait()
		t.tab.close()
	})
}

// spawn runs f on a goroutine that Close waits for. It reports false, not
// running f, once Close has begun.
func (t *UDPv4) spawn(f func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return false
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		f()
	}()
	return true
}

// Self returns the local node's current record.
func (t *UDPv4) Self() *enode.Node { return t.ln.Node() }

// AllNodes returns the nodes in the table's buckets.
func (t *UDPv4) AllNodes() []*enode.Node { return t.tab.randomNodes(nBuckets * bucketSize) }

// TableBuckets returns the entries of each bucket, for diagnostics.
func (t *UDPv4) TableBuckets() [][]BucketNode { return t.tab.bucketInfo() }

// Stats returns the listener's counters and the table's sizes.
func (t *UDPv4) Stats() Stats {
	var s Stats
	t.ctr.snapshot(&s)
	t.tab.stats(&s)
	return s
}

// RandomNodes returns an iterator over the nodes found by random lookups,
// for the dial scheduler. It ends when closed or when the listener closes.
func (t *UDPv4) RandomNodes() enode.Iterator { return newLookupIterator(t) }

// LookupPubkey finds the nodes closest to the given public key. If the
// table is empty it is refreshed (from bootnodes and the DB) first.
func (t *UDPv4) LookupPubkey(key *crypto.PublicKey) []*enode.Node {
	return t.Lookup(t.ctx, v4wire.Pubkey(*key))
}

// Lookup finds the nodes closest to target, a 64-byte value whose keccak256
// hash is the point to get close to (discv4 Findnode targets are public
// keys). If the table is empty it is refreshed first. It returns early,
// with what was found, when ctx ends.
func (t *UDPv4) Lookup(ctx context.Context, target v4wire.Pubkey) []*enode.Node {
	if t.tab.len() == 0 {
		select {
		case <-t.tab.refresh():
		case <-ctx.Done():
		}
	}
	ctx, cancel := mergeCtx(ctx, t.ctx)
	defer cancel()
	return t.newLookup(ctx, target).run()
}

// mergeCtx returns a context that ends when either a or b ends.
func mergeCtx(a, b context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(a)
	stop := context.AfterFunc(b, cancel)
	return ctx, func() { stop(); cancel() }
}

func (t *UDPv4) newLookup(ctx context.Context, target v4wire.Pubkey) *lookup {
	return newLookup(ctx, t.tab, target.ID(), func(n *enode.Node) ([]*enode.Node, error) {
		return t.findnodeQuery(n, target)
	}, t.spawn)
}

func (t *UDPv4) newRandomLookup(ctx context.Context) *lookup {
	var target v4wire.Pubkey
	t.tab.mu.Lock()
	for i := 0; i < len(target); i += 8 {
		x := t.tab.rand.Uint64()
		for j := range 8 {
			target[i+j] = byte(x >> (8 * j))
		}
	}
	t.tab.mu.Unlock()
	return t.newLookup(ctx, target)
}

// lookupSelf implements transport.
func (t *UDPv4) lookupSelf(ctx context.Context) []*enode.Node {
	return t.newLookup(ctx, v4wire.Pubkey(*t.priv.Public())).run()
}

// lookupRandom implements transport.
func (t *UDPv4) lookupRandom(ctx context.Context) []*enode.Node {
	return t.newRandomLookup(ctx).run()
}

// findnodeQuery is a lookup's query: Findnode to n, with the outcome
// recorded for n's failure count and the nodes found put in the table.
func (t *UDPv4) findnodeQuery(n *enode.Node, target v4wire.Pubkey) ([]*enode.Node, error) {
	nodes, err := t.findnode(n, target)
	if errors.Is(err, errClosed) {
		return nodes, err
	}
	if err != nil {
		t.log.Log(t.ctx, LevelTrace, "FINDNODE failed", "id", n.ID(), "err", err)
	}
	fails := t.bonds.trackFindnode(n.ID(), n.IPAddr(), len(nodes) > 0)
	t.tab.trackFindnode(n, fails, nodes)
	return nodes, err
}

// Resolve looks for the current record of n, for a static node whose dial
// failed: it asks n at its known endpoint, then at the endpoint of a newer
// record in the table or DB, then looks up n's key and asks the node found.
// It returns nil if n was not found. It implements the dial scheduler's
// Resolver.
func (t *UDPv4) Resolve(ctx context.Context, n *enode.Node) *enode.Node {
	if rn, err := t.RequestENR(n); err == nil {
		return rn
	}
	for _, known := range []*enode.Node{t.tab.node(n.ID()), t.dbNode(n.ID())} {
		if ctx.Err() != nil {
			return nil
		}
		if known != nil && known.Seq() > n.Seq() {
			if rn, err := t.RequestENR(known); err == nil {
				return rn
			}
		}
	}
	pub := n.Pubkey()
	if pub == nil || ctx.Err() != nil {
		return nil
	}
	for _, rn := range t.Lookup(ctx, v4wire.Pubkey(*pub)) {
		if rn.ID() == n.ID() {
			if rr, err := t.RequestENR(rn); err == nil {
				return rr
			}
		}
	}
	return nil
}

func (t *UDPv4) dbNode(id enode.ID) *enode.Node {
	if t.db == nil {
		return nil
	}
	return t.db.Node(id)
}

// Ping sends a Ping to n and waits for the Pong. It returns the sequence
// number of n's record that the Pong announced.
func (t *UDPv4) Ping(n *enode.Node) (seq uint64, err error) { return t.ping(n) }

// ping implements transport.
func (t *UDPv4) ping(n *enode.Node) (uint64, error) {
	addr, ok := n.UDPEndpoint()
	if !ok {
		return 0, errNoUDPEndpoint
	}
	var seq uint64
	p := t.sendPing(n.ID(), addr, func(pong *v4wire.Pong) { seq = pong.ENRSeq }, nil)
	err := <-p.errc
	return seq, err
}

// sendPing sends a Ping and registers the matcher of its Pong. onPong runs
// with the replies lock held.
func (t *UDPv4) sendPing(id enode.ID, to netip.AddrPort, onPong func(*v4wire.Pong), onDone func(error)) *pendingReply {
	req := &v4wire.Ping{
		Version:    4,
		From:       t.ourEndpoint(),
		To:         v4wire.NewEndpoint(to, 0),
		Expiration: t.expiration(),
		ENRSeq:     t.ln.Node().Seq(),
	}
	t.ln.UDPContact(to)
	return t.sendRequest(id, to, req, v4wire.PongPacket, func(hash [32]byte) replyMatchFunc {
		return func(p v4wire.Packet) (bool, bool) {
			pong := p.(*v4wire.Pong)
			if !bytes.Equal(pong.ReplyTok, hash[:]) {
				return false, false
			}
			if onPong != nil {
				onPong(pong)
			}
			return true, true
		}
	}, onDone)
}

// findnode asks n for its nodes closest to target and waits for up to
// bucketSize of them. A timeout after some nodes arrived is not an error:
// the remote may know fewer nodes (an answer of exactly 12 looks unfinished).
func (t *UDPv4) findnode(n *enode.Node, target v4wire.Pubkey) ([]*enode.Node, error) {
	addr, ok := n.UDPEndpoint()
	if !ok {
		return nil, errNoUDPEndpoint
	}
	t.ensureBond(n.ID(), addr)
	var (
		nodes    = make([]*enode.Node, 0, bucketSize)
		received int
	)
	match := func(p v4wire.Packet) (bool, bool) {
		nb := p.(*v4wire.Neighbors)
		for i := range nb.Nodes {
			rn := &nb.Nodes[i]
			received++
			nn, err := nodeFromRPC(addr.Addr(), rn, t.netrestrict)
			if err != nil {
				t.ctr.drop(DropBadNeighbor)
				t.log.Log(t.ctx, LevelTrace, "Invalid neighbor node", "ip", rn.IP, "addr", addr, "err", err)
				continue
			}
			nodes = append(nodes, nn)
		}
		// Senders fill each packet with MaxNeighbors nodes before starting
		// the next (go-ethereum does), so a shorter packet is the last one:
		// no need to wait out the timeout for nodes that will not come.
		// Small tables (a young network's bootnode) answer that way.
		return true, received >= bucketSize || len(nb.Nodes) < v4wire.MaxNeighbors
	}
	req := &v4wire.Findnode{Target: target, Expiration: t.expiration()}
	p := t.sendRequest(n.ID(), addr, req, v4wire.NeighborsPacket, func([32]byte) replyMatchFunc { return match }, nil)
	err := <-p.errc
	if errors.Is(err, errTimeout) && p.gotReply {
		err = nil
	}
	return nodes, err
}

// RequestENR asks n for its record and returns it as a node. The record must
// be signed by n, have at least n's sequence number (if older, n is returned)
// and carry an IP address that the responder's address may relay.
func (t *UDPv4) RequestENR(n *enode.Node) (*enode.Node, error) {
	addr, ok := n.UDPEndpoint()
	if !ok {
		return nil, errNoUDPEndpoint
	}
	t.ensureBond(n.ID(), addr)
	var rec enr.Record
	req := &v4wire.ENRRequest{Expiration: t.expiration()}
	p := t.sendRequest(n.ID(), addr, req, v4wire.ENRResponsePacket, func(hash [32]byte) replyMatchFunc {
		return func(pkt v4wire.Packet) (bool, bool) {
			resp := pkt.(*v4wire.ENRResponse)
			if !bytes.Equal(resp.ReplyTok, hash[:]) {
				return false, false
			}
			rec = resp.Record // decoding made a fresh copy of the record
			return true, true
		}
	}, nil)
	if err := <-p.errc; err != nil {
		return nil, err
	}
	rn, err := enode.New(enode.ValidSchemes, &rec)
	if err != nil {
		return nil, err
	}
	if rn.ID() != n.ID() {
		return nil, errors.New("discover: invalid ID in response record")
	}
	if rn.Seq() < n.Seq() {
		return n, nil // the response is older than what we have
	}
	if err := netutil.CheckRelayAddr(addr.Addr(), rn.IPAddr()); err != nil {
		return nil, fmt.Errorf("discover: invalid IP in response record: %w", err)
	}
	return rn, nil
}

// ensureBond makes sure that the node at addr holds an endpoint proof of
// ours before we send it a request it only answers to bonded nodes. If it
// has not pinged us within bondExpiration (or its requests keep failing),
// we ping it; a node that does not know us pings back, and it accepts our
// requests once it has our Pong.
//
// go-ethereum sleeps a fixed 500 ms after the Pong to let that happen. We
// wait for the ping-back itself (our Pong is sent before the wait ends, so
// it precedes the request on the wire), bounded by the reply timeout for
// nodes that already knew us and do not ping back.
func (t *UDPv4) ensureBond(id enode.ID, addr netip.AddrPort) {
	e := t.bonds.get(id, addr.Addr())
	if t.wall().Sub(e.lastPing) <= bondExpiration && e.fails <= maxFindnodeFailures {
		return
	}
	pingback := t.replies.add(id, addr.Addr(), v4wire.PingPacket, respTimeout,
		func(v4wire.Packet) (bool, bool) { return true, true }, nil)
	pong := t.sendPing(id, addr, nil, nil)
	if err := <-pong.errc; err != nil {
		t.replies.cancel(pingback)
		return
	}
	<-pingback.errc
}

// sendRequest encodes req, registers the reply matcher made by match from
// the request's hash and sends req.
func (t *UDPv4) sendRequest(id enode.ID, to netip.AddrPort, req v4wire.Packet, replyType byte, match func([32]byte) replyMatchFunc, onDone func(error)) *pendingReply {
	buf := sendBufs.Get().(*[v4wire.MaxPacketSize]byte)
	defer sendBufs.Put(buf)
	d, hash, err := v4wire.AppendEncode(buf[:0], t.priv, req)
	if err != nil {
		p := &pendingReply{errc: make(chan error, 1), onDone: onDone, finished: true}
		p.complete(err)
		return p
	}
	p := t.replies.add(id, to.Addr(), replyType, respTimeout, match(hash), onDone)
	t.write(to, req.Kind(), d)
	return p
}

var sendBufs = sync.Pool{New: func() any { return new([v4wire.MaxPacketSize]byte) }}

// send encodes and sends a packet that expects no reply.
func (t *UDPv4) send(to netip.AddrPort, p v4wire.Packet) {
	buf := sendBufs.Get().(*[v4wire.MaxPacketSize]byte)
	defer sendBufs.Put(buf)
	d, _, err := v4wire.AppendEncode(buf[:0], t.priv, p)
	if err != nil {
		t.log.Error("Can't encode discovery packet", "type", p.Name(), "err", err)
		return
	}
	t.write(to, p.Kind(), d)
}

func (t *UDPv4) write(to netip.AddrPort, ptype byte, d []byte) {
	_, err := t.conn.WriteToUDPAddrPort(d, to)
	if err != nil {
		t.ctr.writeErrors.Add(1)
	} else {
		t.ctr.sent(ptype, len(d))
	}
	if t.log.Enabled(t.ctx, LevelTrace) {
		t.log.Log(t.ctx, LevelTrace, ">> "+v4wire.PacketName(ptype), "addr", to, "err", err)
	}
}

// ourEndpoint returns our endpoint for the From field of pings.
func (t *UDPv4) ourEndpoint() v4wire.Endpoint {
	n := t.ln.Node()
	addr, ok := n.UDPEndpoint()
	if !ok {
		return v4wire.Endpoint{}
	}
	return v4wire.NewEndpoint(addr, uint16(n.TCP()))
}

func (t *UDPv4) expiration() uint64 { return v4wire.ExpirationFrom(t.wall()) }
