package discv4test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/discover"
	"github.com/devp2p-go/devp2p/discover/v4wire"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/enr"
)

// rawPeer is a discovery peer run by the test packet by packet. It talks to
// a node of one implementation with the other implementation's v4wire: it
// encodes what it sends with it and decodes what it receives with it.
type rawPeer struct {
	t      *testing.T
	key    keyPair
	conn   *net.UDPConn
	addr   netip.AddrPort
	lib    impl // the codec
	target *node
	to     netip.AddrPort
}

func newRawPeer(t *testing.T, target *node) *rawPeer {
	conn, port := listenUDP(t)
	t.Cleanup(func() { conn.Close() })
	return &rawPeer{
		t: t, key: newKey(t), conn: conn, lib: target.impl.other(), target: target,
		addr: netip.AddrPortFrom(loopback, uint16(port)),
		to:   netip.AddrPortFrom(loopback, uint16(target.port)),
	}
}

func (rp *rawPeer) encode(p v4wire.Packet) ([]byte, [32]byte) {
	rp.t.Helper()
	d, h, err := encodeWith(rp.lib, rp.key, p)
	if err != nil {
		rp.t.Fatalf("encoding %s with %s's v4wire: %v", p.Name(), rp.lib, err)
	}
	return d, h
}

func (rp *rawPeer) sendRaw(d []byte) {
	rp.t.Helper()
	if _, err := rp.conn.WriteToUDPAddrPort(d, rp.to); err != nil {
		rp.t.Fatal(err)
	}
}

// send encodes and sends p and returns its hash.
func (rp *rawPeer) send(p v4wire.Packet) [32]byte {
	rp.t.Helper()
	d, h := rp.encode(p)
	rp.sendRaw(d)
	return h
}

type received struct {
	p    v4wire.Packet
	from v4wire.Pubkey
	hash [32]byte
	d    []byte
}

// recv returns the next datagram from the target, decoded, or false after
// timeout. Datagrams that do not decode fail the test.
func (rp *rawPeer) recv(timeout time.Duration) (received, bool) {
	rp.t.Helper()
	buf := make([]byte, 2048)
	rp.conn.SetReadDeadline(time.Now().Add(timeout))
	for {
		n, from, err := rp.conn.ReadFromUDPAddrPort(buf)
		if isTimeout(err) {
			return received{}, false
		}
		if err != nil {
			rp.t.Fatal(err)
		}
		if from != rp.to {
			continue
		}
		d := bytes.Clone(buf[:n])
		p, key, hash, err := decodeWith(rp.lib, d)
		if err != nil {
			rp.t.Fatalf("%s's v4wire can't decode a datagram from %v: %v\n%x", rp.lib, rp.target, err, d)
		}
		if key != rp.target.key.pubkey() {
			rp.t.Fatalf("datagram from %v signed by %x", rp.target, key[:8])
		}
		return received{p, key, hash, d}, true
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (rp *rawPeer) expiration() uint64 { return v4wire.ExpirationFrom(time.Now()) }

func (rp *rawPeer) endpoint() v4wire.Endpoint { return v4wire.NewEndpoint(rp.addr, 0) }

func (rp *rawPeer) targetEndpoint() v4wire.Endpoint {
	return v4wire.NewEndpoint(rp.to, uint16(rp.target.port))
}

// expectSilence fails the test if the target sends anything for a while.
func (rp *rawPeer) expectSilence(what string) {
	rp.t.Helper()
	if r, ok := rp.recv(silence); ok {
		rp.t.Errorf("%v answered %s with %s", rp.target, what, describe(r.p))
	}
}

// TestGethDiscv4RawPeer talks to a node of each implementation packet by
// packet, with the other implementation's codec: bad packets (bad hash or
// signature, expired, oversized, unknown type, unsolicited replies, Findnode
// and ENRRequest before the endpoint proof) get no answer, and are counted
// by reason on our side; then a Ping with EIP-8 extras bonds the raw peer
// (Pong, ping-back), after which Findnode and ENRRequest are answered.
func TestGethDiscv4RawPeer(t *testing.T) {
	for _, im := range []impl{implOurs, implGeth} {
		t.Run(string(im), func(t *testing.T) {
			t.Parallel()
			target := startNode(t, newLogSink(t), im, nodeConfig{name: "target"})
			rp := newRawPeer(t, target)
			testRawPeer(t, rp)
		})
	}
}

func testRawPeer(t *testing.T, rp *rawPeer) {
	target := rp.target
	var before discover.Stats
	if target.ours != nil {
		before = target.ours.Stats()
	}
	ping := func() *v4wire.Ping {
		return &v4wire.Ping{Version: 4, From: rp.endpoint(), To: rp.targetEndpoint(), Expiration: rp.expiration()}
	}

	// Bad packets.
	validPing, _ := rp.encode(ping())
	bad := map[string][]byte{}
	bad["Findnode before bonding"], _ = rp.encode(&v4wire.Findnode{Target: rp.key.pubkey(), Expiration: rp.expiration()})
	bad["ENRRequest before bonding"], _ = rp.encode(&v4wire.ENRRequest{Expiration: rp.expiration()})
	expired := ping()
	expired.Expiration = uint64(time.Now().Add(-time.Minute).Unix())
	bad["expired Ping"], _ = rp.encode(expired)
	d := bytes.Clone(validPing)
	d[0] ^= 0xff
	bad["Ping with a bad hash"] = d
	d = bytes.Clone(validPing)
	clear(d[32:64]) // r = 0: no key recovers
	bad["Ping with a bad signature"] = rehash(d)
	data := append(bytes.Clone(validPing[v4wire.HeadSize+1:]), make([]byte, v4wire.MaxPacketSize)...)
	bad["oversized Ping"] = seal(rp.key, v4wire.PingPacket, data[:v4wire.MaxPacketSize+1-v4wire.HeadSize-1])
	bad["unknown packet type"] = seal(rp.key, 7, validPing[v4wire.HeadSize+1:])
	bad["too small"] = validPing[:v4wire.HeadSize]
	bad["unsolicited Pong"], _ = rp.encode(&v4wire.Pong{To: rp.targetEndpoint(), ReplyTok: make([]byte, 32), Expiration: rp.expiration()})
	bad["unsolicited Neighbors"], _ = rp.encode(&v4wire.Neighbors{Nodes: []v4wire.Node{{IP: loopback, UDP: 30303, TCP: 30303, ID: newKey(t).pubkey()}}, Expiration: rp.expiration()})
	rec := enodeRecord(rp.key, rp.addr)
	bad["unsolicited ENRResponse"], _ = rp.encode(&v4wire.ENRResponse{ReplyTok: make([]byte, 32), Record: *rec})
	for _, d := range bad {
		rp.sendRaw(d)
	}
	rp.expectSilence("bad packets")
	var afterBad discover.Stats
	if target.ours != nil {
		want := map[discover.DropReason]uint64{
			discover.DropUnbonded:     2,
			discover.DropExpired:      1,
			discover.DropBadHash:      1,
			discover.DropBadSignature: 1,
			discover.DropTooLarge:     1,
			discover.DropUnknownType:  1,
			discover.DropTooSmall:     1,
			discover.DropUnsolicited:  3,
		}
		waitFor(t, waitTimeout, "the drops counted", func() string {
			afterBad = target.ours.Stats()
			for r := discover.DropReason(0); int(r) < len(afterBad.Drops); r++ {
				if got := afterBad.Drops[r] - before.Drops[r]; got != want[r] {
					return fmt.Sprintf("%d drops for %v, want %d", got, r, want[r])
				}
			}
			return ""
		})
		if got := afterBad.PacketsOut; got != before.PacketsOut {
			t.Errorf("sent packets %v after bad packets only", got)
		}
	}

	// A Ping with extra list elements and data after the list (EIP-8)
	// bonds us: the target answers with a Pong and pings back.
	p := ping()
	p.Version = 555
	p.Rest = extraElems
	pd, _ := rp.encode(p)
	pd = seal(rp.key, v4wire.PingPacket, append(pd[v4wire.HeadSize+1:], 0xc2, 0x01, 0x02))
	pingHash := [32]byte(pd[:32])
	rp.sendRaw(pd)
	var gotPong, gotPing bool
	for !gotPong || !gotPing {
		r, ok := rp.recv(5 * time.Second)
		if !ok {
			t.Fatalf("no Pong (%v) or ping-back (%v) after a Ping", gotPong, gotPing)
		}
		switch got := r.p.(type) {
		case *v4wire.Pong:
			gotPong = true
			want := &v4wire.Pong{To: v4wire.Endpoint{IP: loopback, UDP: p.From.UDP, TCP: p.From.TCP}, ReplyTok: pingHash[:], Expiration: got.Expiration, ENRSeq: target.self(t).Seq()}
			if describe(got) != describe(want) {
				t.Errorf("Pong:\n got %s\nwant %s", describe(got), describe(want))
			}
			if v4wire.Expired(got.Expiration, time.Now()) {
				t.Errorf("Pong expired")
			}
		case *v4wire.Ping:
			gotPing = true
			want := &v4wire.Ping{Version: 4, From: v4wire.Endpoint{IP: loopback, UDP: uint16(target.port), TCP: uint16(target.port)}, To: v4wire.Endpoint{IP: loopback, UDP: p.From.UDP}, Expiration: got.Expiration, ENRSeq: target.self(t).Seq()}
			if describe(got) != describe(want) {
				t.Errorf("ping-back:\n got %s\nwant %s", describe(got), describe(want))
			}
			rp.send(&v4wire.Pong{To: rp.targetEndpoint(), ReplyTok: r.hash[:], Expiration: rp.expiration()})
		default:
			t.Fatalf("unexpected %s", describe(r.p))
		}
	}

	// Bonded: Findnode gets Neighbors (go-ethereum's table may hold the raw
	// peer by now; ours never returns the requester).
	rp.send(&v4wire.Findnode{Target: newKey(t).pubkey(), Expiration: rp.expiration()})
	r, ok := rp.recv(2 * time.Second)
	if !ok {
		t.Fatal("no Neighbors after Findnode")
	}
	nb, ok := r.p.(*v4wire.Neighbors)
	if !ok {
		t.Fatalf("got %s, want Neighbors", describe(r.p))
	}
	for _, n := range nb.Nodes {
		if n.ID == rp.key.pubkey() && target.ours != nil {
			t.Errorf("Neighbors holds the requester")
		}
	}
	// Any further Neighbors packet of the answer.
	for {
		if _, ok := rp.recv(silence); !ok {
			break
		}
	}

	// ENRRequest gets the target's record.
	h := rp.send(&v4wire.ENRRequest{Expiration: rp.expiration(), Rest: extraElems})
	r, ok = rp.recv(2 * time.Second)
	if !ok {
		t.Fatal("no ENRResponse after ENRRequest")
	}
	resp, ok := r.p.(*v4wire.ENRResponse)
	if !ok {
		t.Fatalf("got %s, want ENRResponse", describe(r.p))
	}
	if !bytes.Equal(resp.ReplyTok, h[:]) {
		t.Errorf("ENRResponse token %x, want %x", resp.ReplyTok, h)
	}
	n, err := enode.New(enode.ValidSchemes, &resp.Record)
	if err != nil {
		t.Fatalf("ENRResponse record: %v", err)
	}
	checkRecord(t, "ENRResponse", n, target)

	// Nothing valid was dropped.
	if target.ours != nil {
		if after := target.ours.Stats(); after.Drops != afterBad.Drops {
			t.Errorf("drops after the valid exchange: %v, were %v", after.Drops, afterBad.Drops)
		}
	}
}

// enodeRecord returns a signed record for key at addr.
func enodeRecord(key keyPair, addr netip.AddrPort) *enr.Record {
	ln := enode.NewLocalNode(key.ours, 0)
	ln.SetStaticIP(addr.Addr())
	ln.SetFallbackUDP(int(addr.Port()))
	return ln.Node().Record()
}
