package discover

import (
	"errors"
	"net/netip"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/discover/v4wire"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/netutil"
)

// inbound holds the read loop's reusable packet values, so that decoding
// allocates nothing on the common paths.
type inbound struct {
	ping        v4wire.Ping
	pong        v4wire.Pong
	findnode    v4wire.Findnode
	neighbors   v4wire.Neighbors
	enrRequest  v4wire.ENRRequest
	enrResponse v4wire.ENRResponse
	out         v4wire.Neighbors // for replies
	closest     []v4wire.Node    // for replies
	pongOut     v4wire.Pong      // for replies
	tok         [32]byte         // for replies
}

func (in *inbound) packet(ptype byte) v4wire.Packet {
	switch ptype {
	case v4wire.PingPacket:
		return &in.ping
	case v4wire.PongPacket:
		return &in.pong
	case v4wire.FindnodePacket:
		return &in.findnode
	case v4wire.NeighborsPacket:
		return &in.neighbors
	case v4wire.ENRRequestPacket:
		return &in.enrRequest
	case v4wire.ENRResponsePacket:
		return &in.enrResponse
	}
	return nil
}

// expiration returns the expiration of packets that have one.
func expiration(p v4wire.Packet) (uint64, bool) {
	switch p := p.(type) {
	case *v4wire.Ping:
		return p.Expiration, true
	case *v4wire.Pong:
		return p.Expiration, true
	case *v4wire.Findnode:
		return p.Expiration, true
	case *v4wire.Neighbors:
		return p.Expiration, true
	case *v4wire.ENRRequest:
		return p.Expiration, true
	}
	return 0, false
}

// readLoop reads and handles datagrams until the connection is closed.
func (t *UDPv4) readLoop() {
	defer t.wg.Done()
	// One byte more than the limit, to tell oversized datagrams apart.
	buf := make([]byte, v4wire.MaxPacketSize+1)
	var in inbound
	for {
		n, from, err := t.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if netutil.IsTemporaryError(err) {
				t.log.Debug("Temporary UDP read error", "err", err)
				continue
			}
			if t.ctx.Err() == nil {
				t.log.Debug("UDP read error", "err", err)
			}
			return
		}
		t.handlePacket(from, buf[:n], &in)
	}
}

// handlePacket checks a datagram, cheapest checks first, so that garbage,
// expired packets and replies to nothing cost no signature recovery, and
// dispatches it.
func (t *UDPv4) handlePacket(from netip.AddrPort, d []byte, in *inbound) {
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	if t.netrestrict != nil && !t.netrestrict.Contains(from.Addr()) {
		t.ctr.received(0, len(d))
		t.dropped(DropNetRestrict, from, 0, nil)
		return
	}
	ptype, data, err := v4wire.Unwrap(d)
	if err != nil {
		t.ctr.received(0, len(d))
		switch {
		case errors.Is(err, v4wire.ErrPacketTooLarge):
			t.dropped(DropTooLarge, from, 0, err)
		case errors.Is(err, v4wire.ErrPacketTooSmall):
			t.dropped(DropTooSmall, from, 0, err)
		default:
			t.dropped(DropBadHash, from, 0, err)
		}
		return
	}
	t.ctr.received(ptype, len(d))
	p := in.packet(ptype)
	if p == nil {
		t.dropped(DropUnknownType, from, ptype, nil)
		return
	}
	if err := v4wire.DecodeData(p, data); err != nil {
		t.dropped(DropMalformed, from, ptype, err)
		return
	}
	if exp, ok := expiration(p); ok && v4wire.Expired(exp, t.wall()) {
		t.dropped(DropExpired, from, ptype, nil)
		return
	}
	switch ptype {
	case v4wire.PongPacket, v4wire.NeighborsPacket, v4wire.ENRResponsePacket:
		if !t.replies.expecting(from.Addr(), ptype) {
			// Nothing asked: no need to pay for the signature.
			t.dropped(DropUnsolicited, from, ptype, nil)
			return
		}
	}
	key, err := v4wire.Sender(d)
	if err != nil {
		t.dropped(DropBadSignature, from, ptype, err)
		return
	}
	id := key.ID()
	if id == t.self {
		t.dropped(DropSelf, from, ptype, nil)
		return
	}
	if t.log.Enabled(t.ctx, LevelTrace) {
		t.log.Log(t.ctx, LevelTrace, "<< "+p.Name(), "id", id, "addr", from)
	}
	hash := [32]byte(d[:v4wire.HashSize])
	switch p := p.(type) {
	case *v4wire.Ping:
		t.handlePing(from, id, key, hash, p, in)
	case *v4wire.Pong:
		t.handlePong(from, id, p)
	case *v4wire.Findnode:
		t.handleFindnode(from, id, p, in)
	case *v4wire.Neighbors:
		t.handleReply(from, id, p)
	case *v4wire.ENRRequest:
		t.handleENRRequest(from, id, hash)
	case *v4wire.ENRResponse:
		t.handleReply(from, id, p)
	}
}

func (t *UDPv4) dropped(r DropReason, from netip.AddrPort, ptype byte, err error) {
	t.ctr.drop(r)
	if t.log.Enabled(t.ctx, LevelTrace) {
		t.log.Log(t.ctx, LevelTrace, "Dropped discovery packet", "addr", from, "type", v4wire.PacketName(ptype), "reason", r, "err", err)
	}
}

// handlePing answers with a Pong, then either updates the sender in the
// table (if it is bonded) or pings it back to get its endpoint proof.
//
// The Pong is the only reply an unbonded sender gets. It is not smaller than
// every Ping (a Ping with empty endpoints is 113 bytes, our Pong about 150),
// but it is bounded and carries nothing the sender did not choose, and the
// ping-back (one per source address at a time, at most maxPingbacks in all)
// goes to the claimed address once. Findnode and ENRRequest, whose replies
// are ten times larger, are answered to bonded nodes only.
func (t *UDPv4) handlePing(from netip.AddrPort, id enode.ID, key v4wire.Pubkey, hash [32]byte, p *v4wire.Ping, in *inbound) {
	in.tok = hash
	in.pongOut = v4wire.Pong{
		To:         v4wire.NewEndpoint(from, p.From.TCP),
		ReplyTok:   in.tok[:],
		Expiration: t.expiration(),
		ENRSeq:     t.ln.Node().Seq(),
	}
	t.send(from, &in.pongOut)
	now := t.wall()
	bonded := t.bonds.hasBond(id, from.Addr(), now)
	t.bonds.setPing(id, from.Addr(), now)
	// Wake a request waiting for this node to ping us (ensureBond). Our Pong
	// has been sent, so it precedes that request on the wire.
	t.replies.handle(id, from.Addr(), p)
	if !bonded {
		t.pingBack(id, key, from, p.From.TCP)
		return
	}
	// Only bonded nodes make statements about our endpoint.
	if p.To.IP.IsValid() {
		t.ln.UDPEndpointStatement(from, p.To.UDPAddr())
	}
	if !t.tab.touch(id, from) {
		k := key // escapes; copied here so that only this path allocates
		if n := newInboundNode(&k, from, p.From.TCP); n != nil {
			t.tab.addInbound(n, false)
		}
	}
	t.checkSeq(id, from, p.ENRSeq)
}

func newInboundNode(key *v4wire.Pubkey, from netip.AddrPort, tcp uint16) *enode.Node {
	pub, err := crypto.ParsePublicKey(key[:])
	if err != nil {
		return nil
	}
	n := enode.NewV4(&pub, from.Addr(), int(tcp), int(from.Port()))
	if n.ValidateComplete() != nil {
		return nil
	}
	return n
}

// pingBack pings the unbonded sender of a Ping; its Pong bonds it, and it
// enters the table as a proven live node.
func (t *UDPv4) pingBack(id enode.ID, key v4wire.Pubkey, from netip.AddrPort, tcp uint16) {
	t.mu.Lock()
	_, busy := t.pingbacks[from]
	if busy || t.closing || len(t.pingbacks) >= maxPingbacks {
		t.mu.Unlock()
		return
	}
	t.pingbacks[from] = struct{}{}
	t.mu.Unlock()
	t.sendPing(id, from, nil, func(err error) {
		t.mu.Lock()
		delete(t.pingbacks, from)
		t.mu.Unlock()
		if err == nil {
			if n := newInboundNode(&key, from, tcp); n != nil {
				t.tab.addInbound(n, true)
			}
		}
	})
}

// handlePong completes a ping of ours: it is the sender's endpoint proof.
func (t *UDPv4) handlePong(from netip.AddrPort, id enode.ID, p *v4wire.Pong) {
	if !t.replies.handle(id, from.Addr(), p) {
		t.dropped(DropUnsolicited, from, p.Kind(), nil)
		return
	}
	if p.To.IP.IsValid() {
		t.ln.UDPEndpointStatement(from, p.To.UDPAddr())
	}
	t.bonds.setPong(id, from.Addr(), t.wall())
	t.tab.seen(id, from)
	t.checkSeq(id, from, p.ENRSeq)
}

// handleReply passes a Neighbors or ENRResponse to the request waiting
// for it.
func (t *UDPv4) handleReply(from netip.AddrPort, id enode.ID, p v4wire.Packet) {
	if !t.replies.handle(id, from.Addr(), p) {
		t.dropped(DropUnsolicited, from, p.Kind(), nil)
		return
	}
	t.tab.seen(id, from)
}

// handleFindnode answers a bonded node with the table's closest nodes to
// the target that may be relayed to it, except itself, at most
// MaxNeighbors per packet and always at least one packet.
func (t *UDPv4) handleFindnode(from netip.AddrPort, id enode.ID, p *v4wire.Findnode, in *inbound) {
	if !t.bonds.hasBond(id, from.Addr(), t.wall()) {
		// Without endpoint proof the source address may be forged: the
		// Neighbors reply would be traffic amplified at a victim.
		t.dropped(DropUnbonded, from, p.Kind(), nil)
		return
	}
	relay := func(n *enode.Node) bool {
		return n.ID() != id && netutil.CheckRelayAddr(from.Addr(), n.IPAddr()) == nil
	}
	rpc := t.tab.closestForFindnode(in.closest[:0], p.Target.ID(), relay)
	in.closest = rpc
	out := &in.out
	out.Expiration = t.expiration()
	sent := false
	for len(rpc) > 0 || !sent {
		k := min(len(rpc), v4wire.MaxNeighbors)
		out.Nodes = append(out.Nodes[:0], rpc[:k]...)
		rpc = rpc[k:]
		t.send(from, out)
		sent = true
	}
}

// handleENRRequest answers a bonded node with our record.
func (t *UDPv4) handleENRRequest(from netip.AddrPort, id enode.ID, hash [32]byte) {
	if !t.bonds.hasBond(id, from.Addr(), t.wall()) {
		t.dropped(DropUnbonded, from, v4wire.ENRRequestPacket, nil)
		return
	}
	t.send(from, &v4wire.ENRResponse{ReplyTok: hash[:], Record: *t.ln.Node().Record()})
}

// checkSeq fetches the record of a table node whose Ping or Pong, from its
// recorded endpoint, announced a higher sequence number than ours (EIP-868).
func (t *UDPv4) checkSeq(id enode.ID, from netip.AddrPort, seq uint64) {
	if seq == 0 {
		return
	}
	n := t.tab.node(id)
	if n == nil || seq <= n.Seq() {
		return
	}
	if ep, ok := n.UDPEndpoint(); !ok || ep != from {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, busy := t.fetching[id]; busy || t.closing || len(t.fetching) >= maxENRFetches {
		return
	}
	t.fetching[id] = struct{}{}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		rn, err := t.RequestENR(n)
		if err == nil {
			t.tab.update(rn)
		} else {
			t.log.Debug("ENR request failed", "id", id, "err", err)
		}
		t.mu.Lock()
		delete(t.fetching, id)
		t.mu.Unlock()
	}()
}
