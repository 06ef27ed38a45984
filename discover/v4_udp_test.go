package discover

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/discover/v4wire"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/enr"
	"github.com/devp2p-go/devp2p/internal/mclock"
)

// TestUDPv4PingPongBond checks the answer to a Ping from an unknown node:
// a Pong naming the ping and the sender's address, then a ping-back, whose
// Pong bonds the node and puts it in the table as a validated node.
func TestUDPv4PingPongBond(t *testing.T) {
	tt := newUDPTest(t)
	hash := tt.ping(7)
	pong, _ := expect[*v4wire.Pong](tt)
	if [32]byte(pong.ReplyTok) != hash {
		t.Errorf("ReplyTok %x, want %x", pong.ReplyTok, hash)
	}
	if pong.To.UDPAddr() != tt.remoteAddr || pong.To.TCP != tt.remoteAddr.Port() {
		t.Errorf("To %+v, want %v", pong.To, tt.remoteAddr)
	}
	if pong.ENRSeq != tt.localNode().Seq() || pong.ENRSeq == 0 {
		t.Errorf("ENRSeq %d, want %d", pong.ENRSeq, tt.localNode().Seq())
	}
	if v4wire.Expired(pong.Expiration, tt.udp.wall()) {
		t.Errorf("pong expired")
	}
	ping, pingHash := expect[*v4wire.Ping](tt)
	if ping.To.UDPAddr() != tt.remoteAddr || ping.From.UDPAddr() != tt.localAddr || ping.ENRSeq != tt.localNode().Seq() {
		t.Errorf("ping-back %+v", ping)
	}
	id := tt.remoteNode().ID()
	if tt.udp.tab.node(id) != nil {
		t.Fatal("unbonded node in table")
	}
	tt.send(&v4wire.Pong{To: v4wire.NewEndpoint(tt.localAddr, 0), ReplyTok: pingHash[:], Expiration: tt.exp()})
	waitFor(t, "node in table", func() bool { return tt.udp.tab.node(id) != nil })
	if !tt.udp.bonds.hasBond(id, tt.remoteAddr.Addr(), tt.udp.wall()) {
		t.Error("no bond after pong")
	}
	if b := tt.udp.TableBuckets(); !findInfo(b, id).Live {
		t.Error("bonded node not validated")
	}

	// More pings: bonded now, so no ping-back.
	tt.ping(0)
	expect[*v4wire.Pong](tt)
	tt.ping(0)
	expect[*v4wire.Pong](tt)
	tt.expectNone()
}

func findInfo(buckets [][]BucketNode, id enode.ID) BucketNode {
	for _, b := range buckets {
		for _, n := range b {
			if n.Node.ID() == id {
				return n
			}
		}
	}
	return BucketNode{}
}

// TestUDPv4FindnodeNeedsBond checks that Findnode from an unbonded node is
// dropped without reply, and answered after bonding with the 16 closest
// nodes (not the requester itself), in packets of at most 12 nodes.
func TestUDPv4FindnodeNeedsBond(t *testing.T) {
	tt := newUDPTest(t)
	var added []*enode.Node
	for i := range 40 {
		n := tt.testNode("10.0.3."+itoa(i+1), 30303)
		if tt.udp.tab.addFound(n) {
			added = append(added, n)
		}
	}
	target := v4wire.Pubkey(*tt.keys.key().Public())
	tt.send(&v4wire.Findnode{Target: target, Expiration: tt.exp()})
	tt.waitDrop(DropUnbonded, 1)
	tt.expectNone()

	tt.bond(0)
	tt.send(&v4wire.Findnode{Target: target, Expiration: tt.exp()})
	notRemote := func(e *tableNode) bool { return e.ID() != tt.remoteNode().ID() }
	want := tt.udp.tab.closest(target.ID(), bucketSize, notRemote)
	var got []v4wire.Node
	for len(got) < len(want) {
		nb, _ := expect[*v4wire.Neighbors](tt)
		if len(nb.Nodes) > v4wire.MaxNeighbors {
			t.Fatalf("%d nodes in one packet", len(nb.Nodes))
		}
		got = append(got, nb.Nodes...)
	}
	tt.expectNone()
	for i, n := range want {
		if got[i].ID.ID() != n.ID() || got[i].IP != n.IPAddr() || int(got[i].UDP) != n.UDP() {
			t.Errorf("node %d: got %v, want %v", i, got[i].ID.ID(), n.ID())
		}
	}
}

func itoa(i int) string { return string(appendInt(nil, i)) }

func appendInt(b []byte, i int) []byte {
	if i >= 10 {
		b = appendInt(b, i/10)
	}
	return append(b, byte('0'+i%10))
}

// TestUDPv4FindnodeEmptyTable checks that an empty answer is one empty
// Neighbors packet.
func TestUDPv4FindnodeEmptyTable(t *testing.T) {
	tt := newUDPTest(t)
	tt.bond(0)
	// The remote itself is in the table now; ask for it from a LAN address
	// it can't be relayed to... simply remove it.
	tt.udp.tab.mu.Lock()
	b := tt.udp.tab.bucketOf(tt.remoteNode().ID())
	tt.udp.tab.deleteLocked(b, b.entries[0])
	tt.udp.tab.mu.Unlock()
	tt.send(&v4wire.Findnode{Expiration: tt.exp()})
	nb, _ := expect[*v4wire.Neighbors](tt)
	if len(nb.Nodes) != 0 {
		t.Errorf("got %d nodes", len(nb.Nodes))
	}
	tt.expectNone()
}

// TestUDPv4ENRRequest checks the answer to ENRRequest: nothing for unbonded
// nodes, our record otherwise.
func TestUDPv4ENRRequest(t *testing.T) {
	tt := newUDPTest(t)
	tt.send(&v4wire.ENRRequest{Expiration: tt.exp()})
	tt.waitDrop(DropUnbonded, 1)
	tt.expectNone()

	tt.bond(0)
	hash := tt.send(&v4wire.ENRRequest{Expiration: tt.exp()})
	resp, _ := expect[*v4wire.ENRResponse](tt)
	if [32]byte(resp.ReplyTok) != hash {
		t.Error("wrong ReplyTok")
	}
	n, err := enode.New(enode.ValidSchemes, &resp.Record)
	if err != nil {
		t.Fatal(err)
	}
	if n.ID() != tt.localNode().ID() || n.Seq() != tt.localNode().Seq() {
		t.Errorf("got record %v", n)
	}
}

// remoteRecord returns a signed record of the remote with sequence seq.
func (tt *udpTest) remoteRecord(seq uint64) *enode.Node {
	var r enr.Record
	r.Set(enr.IPv4(tt.remoteAddr.Addr()))
	r.Set(enr.UDP(tt.remoteAddr.Port()))
	r.Set(enr.TCP(tt.remoteAddr.Port()))
	r.SetSeq(seq)
	if err := enode.SignV4(&r, tt.remoteKey); err != nil {
		tt.t.Fatal(err)
	}
	n, err := enode.New(enode.ValidSchemes, &r)
	if err != nil {
		tt.t.Fatal(err)
	}
	return n
}

// TestUDPv4RequestENRBonding checks RequestENR against a node that does not
// know us: we ping, it answers and pings back, and our request follows our
// Pong at once, without the clock moving (no fixed sleep).
func TestUDPv4RequestENRBonding(t *testing.T) {
	tt := newUDPTest(t)
	type result struct {
		n   *enode.Node
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := tt.udp.RequestENR(tt.remoteNode())
		done <- result{n, err}
	}()
	_, pingHash := expect[*v4wire.Ping](tt)
	tt.send(&v4wire.Pong{To: v4wire.NewEndpoint(tt.localAddr, 0), ReplyTok: pingHash[:], Expiration: tt.exp()})
	tt.ping(0) // the remote pings back
	expect[*v4wire.Pong](tt)
	_, reqHash := expect[*v4wire.ENRRequest](tt)
	rec := tt.remoteRecord(9)
	tt.send(&v4wire.ENRResponse{ReplyTok: reqHash[:], Record: *rec.Record()})
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.n.Seq() != 9 || r.n.ID() != rec.ID() {
		t.Errorf("got %v", r.n)
	}
	if tt.clock.Now() != 0 {
		t.Errorf("clock moved")
	}
}

// TestUDPv4RequestENRChecks checks the validation of ENR responses.
func TestUDPv4RequestENRChecks(t *testing.T) {
	tt := newUDPTest(t)
	tt.bond(0)
	request := func(n *enode.Node, reply func(hash [32]byte)) (*enode.Node, error) {
		type result struct {
			n   *enode.Node
			err error
		}
		done := make(chan result, 1)
		go func() {
			n, err := tt.udp.RequestENR(n)
			done <- result{n, err}
		}()
		_, hash := expect[*v4wire.ENRRequest](tt)
		reply(hash)
		r := <-done
		return r.n, r.err
	}
	// A record of another key.
	other := newKeySource(9).key()
	var r enr.Record
	r.Set(enr.IPv4(tt.remoteAddr.Addr()))
	r.Set(enr.UDP(tt.remoteAddr.Port()))
	enode.SignV4(&r, other)
	if _, err := request(tt.remoteNode(), func(h [32]byte) {
		tt.send(&v4wire.ENRResponse{ReplyTok: h[:], Record: r})
	}); err == nil {
		t.Error("record of another node accepted")
	}
	// An older record than the one we know: we keep ours.
	known := tt.remoteRecord(5)
	if n, err := request(known, func(h [32]byte) {
		tt.send(&v4wire.ENRResponse{ReplyTok: h[:], Record: *tt.remoteRecord(3).Record()})
	}); err != nil || n != known {
		t.Errorf("older record: got %v, %v", n, err)
	}
	// A response with the wrong token is unsolicited; the request times out.
	type result struct {
		n   *enode.Node
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := tt.udp.RequestENR(tt.remoteNode())
		done <- result{n, err}
	}()
	expect[*v4wire.ENRRequest](tt)
	tt.send(&v4wire.ENRResponse{ReplyTok: make([]byte, 32), Record: *tt.remoteRecord(3).Record()})
	tt.waitDrop(DropUnsolicited, 1)
	tt.clock.Run(respTimeout)
	if res := <-done; !errors.Is(res.err, errTimeout) {
		t.Errorf("got %v, want timeout", res.err)
	}
}

// TestUDPv4SeqTracking checks that a Ping announcing a newer record makes
// us fetch it and update the table.
func TestUDPv4SeqTracking(t *testing.T) {
	tt := newUDPTest(t)
	tt.bond(0)
	id := tt.remoteNode().ID()
	if n := tt.udp.tab.node(id); n == nil || n.Seq() != 0 {
		t.Fatalf("table has %v", n)
	}
	tt.ping(4)
	expect[*v4wire.Pong](tt)
	_, hash := expect[*v4wire.ENRRequest](tt)
	tt.send(&v4wire.ENRResponse{ReplyTok: hash[:], Record: *tt.remoteRecord(4).Record()})
	waitFor(t, "record update", func() bool { return tt.udp.tab.node(id).Seq() == 4 })

	// Same seq again: nothing to fetch.
	tt.ping(4)
	expect[*v4wire.Pong](tt)
	tt.ping(4)
	expect[*v4wire.Pong](tt)
	tt.expectNone()
}

// TestUDPv4PingTimeout checks request timeouts on the injected clock.
func TestUDPv4PingTimeout(t *testing.T) {
	tt := newUDPTest(t)
	done := make(chan error, 1)
	go func() {
		_, err := tt.udp.Ping(tt.remoteNode())
		done <- err
	}()
	expect[*v4wire.Ping](tt)
	tt.clock.Run(respTimeout - 1)
	select {
	case err := <-done:
		t.Fatalf("returned early: %v", err)
	default:
	}
	tt.clock.Run(1)
	if err := <-done; !errors.Is(err, errTimeout) {
		t.Fatalf("got %v, want timeout", err)
	}
	if s := tt.udp.Stats(); s.Timeouts != 1 {
		t.Errorf("%d timeouts counted", s.Timeouts)
	}
}

// TestUDPv4FindnodePartial checks that a Findnode answered with fewer than
// 16 nodes returns them after the timeout, without error, and that invalid
// nodes are filtered and counted.
func TestUDPv4FindnodePartial(t *testing.T) {
	tt := newUDPTest(t)
	tt.bond(0)
	type result struct {
		nodes []*enode.Node
		err   error
	}
	done := make(chan result, 1)
	go func() {
		nodes, err := tt.udp.findnode(tt.remoteNode(), v4wire.Pubkey{})
		done <- result{nodes, err}
	}()
	expect[*v4wire.Findnode](tt)
	good := tt.testNode("10.9.0.1", 30303)
	goodRPC := v4wire.Node{IP: good.IPAddr(), UDP: 30303, TCP: 30303, ID: v4wire.Pubkey(*good.Pubkey())}
	lowPort := goodRPC
	lowPort.UDP = 1024
	badKey := goodRPC
	badKey.ID = v4wire.Pubkey{1}
	loopback := goodRPC
	loopback.IP = netip.MustParseAddr("127.0.0.1") // not relayable from a LAN host
	tt.send(&v4wire.Neighbors{Nodes: []v4wire.Node{lowPort, badKey, goodRPC, loopback}, Expiration: tt.exp()})
	tt.waitDrop(DropBadNeighbor, 3)
	tt.clock.Run(respTimeout)
	r := <-done
	if r.err != nil || len(r.nodes) != 1 || r.nodes[0].ID() != good.ID() {
		t.Fatalf("got %v, %v", r.nodes, r.err)
	}
}

// TestUDPv4Unsolicited checks that replies nobody asked for are dropped,
// counted and never answered.
func TestUDPv4Unsolicited(t *testing.T) {
	tt := newUDPTest(t)
	tt.send(&v4wire.Pong{To: v4wire.NewEndpoint(tt.localAddr, 0), ReplyTok: make([]byte, 32), Expiration: tt.exp()})
	tt.send(&v4wire.Neighbors{Nodes: []v4wire.Node{{IP: netip.MustParseAddr("10.0.0.9"), UDP: 30303, TCP: 30303, ID: v4wire.Pubkey(*tt.keys.key().Public())}}, Expiration: tt.exp()})
	tt.send(&v4wire.ENRResponse{ReplyTok: make([]byte, 32), Record: *tt.remoteRecord(1).Record()})
	tt.waitDrop(DropUnsolicited, 3)
	tt.expectNone()
	if tt.udp.tab.len() != 0 {
		t.Error("unsolicited neighbors entered the table")
	}
}

// TestUDPv4BadPackets sends malformed, expired and forged packets: each is
// dropped with its reason counted, and the listener keeps working.
func TestUDPv4BadPackets(t *testing.T) {
	tt := newUDPTest(t)
	valid, _, _ := v4wire.Encode(tt.remoteKey, &v4wire.Ping{Version: 4, Expiration: tt.exp()})
	rehash := func(d []byte) []byte {
		h := crypto.Keccak256(d[v4wire.HashSize:])
		copy(d, h[:])
		return d
	}
	badHash := bytes.Clone(valid)
	badHash[0] ^= 1
	unknown := bytes.Clone(valid)
	unknown[v4wire.HeadSize] = 9
	malformed := rehash(append(bytes.Clone(valid[:v4wire.MinPacketSize]), 0xc3, 0x01))
	badSig := bytes.Clone(valid)
	clear(badSig[v4wire.HashSize : v4wire.HashSize+32])
	expired, _, _ := v4wire.Encode(tt.remoteKey, &v4wire.Ping{Version: 4, Expiration: 1})
	self, _, _ := v4wire.Encode(tt.localKey, &v4wire.Ping{Version: 4, Expiration: tt.exp()})
	tests := []struct {
		data []byte
		want DropReason
	}{
		{valid[:50], DropTooSmall},
		{append(bytes.Clone(valid), make([]byte, v4wire.MaxPacketSize)...)[:v4wire.MaxPacketSize+1], DropTooLarge},
		{make([]byte, 3000), DropTooLarge},
		{badHash, DropBadHash},
		{rehash(unknown), DropUnknownType},
		{malformed, DropMalformed},
		{rehash(badSig), DropBadSignature},
		{expired, DropExpired},
		{self, DropSelf},
	}
	for _, test := range tests {
		before := tt.udp.Stats().Drops[test.want]
		tt.sendRaw(test.data)
		tt.waitDrop(test.want, before+1)
	}
	tt.expectNone()
	// Still alive.
	hash := tt.ping(0)
	if pong, _ := expect[*v4wire.Pong](tt); [32]byte(pong.ReplyTok) != hash {
		t.Fatal("wrong pong")
	}
}

// TestUDPv4NoAmplification checks what an unbonded sender (whose address
// may be forged) can make us send: nothing for Findnode and ENRRequest, and
// for Pings a Pong each plus at most one ping-back per address at a time.
func TestUDPv4NoAmplification(t *testing.T) {
	tt := newUDPTest(t)
	for range 5 {
		tt.send(&v4wire.Findnode{Expiration: tt.exp()})
		tt.send(&v4wire.ENRRequest{Expiration: tt.exp()})
	}
	tt.waitDrop(DropUnbonded, 10)
	tt.expectNone()
	if s := tt.udp.Stats(); s.BytesOut != 0 {
		t.Fatalf("sent %d bytes", s.BytesOut)
	}

	var pingBytes uint64
	for range 10 {
		d, _, _ := v4wire.Encode(tt.remoteKey, &v4wire.Ping{Version: 4, Expiration: tt.exp()})
		pingBytes += uint64(len(d))
		tt.sendRaw(d)
	}
	pongs, pings := 0, 0
	for pongs < 10 {
		switch p, _ := tt.read(); p.(type) {
		case *v4wire.Pong:
			pongs++
		case *v4wire.Ping:
			pings++
		default:
			t.Fatalf("got %s", p.Name())
		}
	}
	tt.expectNone()
	s := tt.udp.Stats()
	if pings != 1 {
		t.Errorf("%d ping-backs, want 1", pings)
	}
	// Ten minimal pings (113 bytes) got ten pongs and one ping: the ratio
	// is bounded (about 1.5), not a multiple.
	if ratio := float64(s.BytesOut) / float64(pingBytes); ratio > 1.6 {
		t.Errorf("sent %d bytes for %d received (%.2fx)", s.BytesOut, pingBytes, ratio)
	}
	t.Logf("received %d bytes of pings, sent %d bytes", pingBytes, s.BytesOut)
}

// TestUDPv4CloseFailsRequests checks that Close ends pending requests.
func TestUDPv4CloseFailsRequests(t *testing.T) {
	tt := newUDPTest(t)
	done := make(chan error, 1)
	go func() {
		_, err := tt.udp.Ping(tt.remoteNode())
		done <- err
	}()
	expect[*v4wire.Ping](tt)
	tt.udp.Close()
	if err := <-done; !errors.Is(err, errClosed) {
		t.Fatalf("got %v", err)
	}
	if _, err := tt.udp.Ping(tt.remoteNode()); !errors.Is(err, errClosed) {
		t.Fatalf("after close: %v", err)
	}
	it := tt.udp.RandomNodes()
	if it.Next() {
		t.Fatal("iterator yields after close")
	}
	it.Close()
}

// TestUDPv4Stats checks the packet counters.
func TestUDPv4Stats(t *testing.T) {
	tt := newUDPTest(t)
	tt.bond(0)
	tt.send(&v4wire.Findnode{Expiration: tt.exp()})
	expect[*v4wire.Neighbors](tt)
	// A datagram is counted once its write returned, which can be just
	// after the test has read it.
	s := tt.udp.Stats()
	for deadline := time.Now().Add(2 * time.Second); s.PacketsOut[v4wire.NeighborsPacket] == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		s = tt.udp.Stats()
	}
	in, out := s.PacketsIn, s.PacketsOut
	if in[v4wire.PingPacket] != 1 || in[v4wire.PongPacket] != 1 || in[v4wire.FindnodePacket] != 1 {
		t.Errorf("in: %v", in)
	}
	if out[v4wire.PongPacket] != 1 || out[v4wire.PingPacket] != 1 || out[v4wire.NeighborsPacket] != 1 {
		t.Errorf("out: %v", out)
	}
	if s.TableNodes != 1 || s.Validated != 1 {
		t.Errorf("table: %d nodes, %d validated", s.TableNodes, s.Validated)
	}
}

// TestUDPv4InboundBeforeInit checks that contacts enter the table while the
// first refresh is still running (go-ethereum ignores them until it ends).
func TestUDPv4InboundBeforeInit(t *testing.T) {
	var boot *enode.Node
	tt := newUDPTestNoInit(t, func(c *Config) {
		// A bootnode that never answers: the refresh waits for it, as the
		// simulated clock does not move.
		boot = enode.NewV4(newKeySource(3).key().Public(), netip.MustParseAddr("10.0.9.9"), 30303, 30303)
		c.Bootnodes = []*enode.Node{boot}
	})
	tt.bond(0)
	waitFor(t, "remote in table", func() bool { return tt.udp.tab.node(tt.remoteNode().ID()) != nil })
	select {
	case <-tt.udp.tab.initDone:
		t.Fatal("refresh ended")
	default:
	}
}

// discardConn is a UDPConn that drops what is written and blocks reads
// until closed.
type discardConn struct{ memConn }

func (c *discardConn) WriteToUDPAddrPort(b []byte, to netip.AddrPort) (int, error) {
	return len(b), nil
}

// BenchmarkHandlePing measures the read loop's work for a Ping from a
// bonded node: decode, signature recovery, Pong encoding and signing.
func BenchmarkHandlePing(b *testing.B) {
	net := newMemNetwork()
	keys := newKeySource(5)
	local, remote := keys.key(), keys.key()
	addr := netip.MustParseAddrPort("10.0.0.1:30303")
	from := netip.MustParseAddrPort("10.0.0.2:30303")
	conn := &discardConn{*net.listen(addr)}
	cfg := Config{PrivateKey: local, Clock: new(mclock.Simulated), Log: quietLog(), rand: rand.New(rand.NewPCG(1, 1))}
	ln := newLocalNodeAt(local, addr)
	udp, err := ListenV4(conn, ln, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer udp.Close()
	id := v4wire.Pubkey(*remote.Public()).ID()
	udp.bonds.setPong(id, from.Addr(), udp.wall())
	ping := &v4wire.Ping{Version: 4, From: v4wire.NewEndpoint(from, 30303), To: v4wire.NewEndpoint(addr, 0), Expiration: v4wire.ExpirationFrom(udp.wall()) + 3600}
	d, _, _ := v4wire.Encode(remote, ping)
	var in inbound
	udp.handlePacket(from, d, &in) // warm up: the node enters the table
	b.ReportAllocs()
	for b.Loop() {
		udp.handlePacket(from, d, &in)
	}
}
