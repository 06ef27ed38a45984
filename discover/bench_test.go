package discover

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/devp2p-go/devp2p/discover/v4wire"
	"github.com/devp2p-go/devp2p/internal/mclock"
)

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
