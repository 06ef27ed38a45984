package p2p

import (
	"fmt"
	"maps"
	"net"
	"net/netip"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/nodedb"
	"github.com/devp2p-go/devp2p/rlpx"
)

// A ban of a node ID is written to the peer store and is in force again
// after a restart with the same node database file; a ban of an IP is not
// kept. Expired and lifted bans are not restored.
func TestBanPersistsAcrossRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		path := filepath.Join(t.TempDir(), "nodes.db")
		key := newTestKey(t)
		withDB := func(c *Config) { c.NodeDatabase = path; c.NoDial = true }
		nodes := testNodes(t, 3)
		long, short, lifted := nodes[0].ID(), nodes[1].ID(), nodes[2].ID()
		ip := netip.MustParseAddr("10.9.9.9")

		a := startPipeServerKey(t, pn, "127.0.7.1", key, withDB)
		a.BanNode(long, ip, time.Hour, "test: long")
		a.BanNode(short, netip.Addr{}, time.Minute, "test: short")
		a.BanNode(lifted, netip.Addr{}, time.Hour, "test: lifted")
		if !a.Unban(lifted, netip.Addr{}) {
			t.Fatal("Unban found no ban")
		}
		if n := len(a.Bans()); n != 3 { // long's ID and IP, short
			t.Fatalf("%d bans, want 3: %+v", n, a.Bans())
		}
		synctest.Wait()
		a.Stop()

		time.Sleep(2 * time.Minute) // short's ban ends
		b := startPipeServerKey(t, pn, "127.0.7.1", key, withDB)
		bans := b.Bans()
		if len(bans) != 1 || bans[0].ID != long || bans[0].IP.IsValid() {
			t.Fatalf("bans after restart: %+v, want only the ID ban of %v", bans, long)
		}
		if left := time.Until(bans[0].Until); left <= 0 || left > time.Hour-2*time.Minute {
			t.Errorf("restored ban ends in %v", left)
		}
		if !b.bans.idBanned(long) || b.bans.idBanned(short) || b.bans.idBanned(lifted) || b.bans.ipBanned(ip) {
			t.Error("ban list after restart is wrong")
		}
		// Unban clears the stored ban too.
		b.Unban(long, netip.Addr{})
		synctest.Wait()
		b.Stop()
		c := startPipeServerKey(t, pn, "127.0.7.1", key, withDB)
		if bans := c.Bans(); len(bans) != 0 {
			t.Fatalf("bans after Unban and restart: %+v", bans)
		}
	})
}

// Bans expire on the server's clock.
func TestBanExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		a := startPipeServer(t, pn, "127.0.7.2", func(c *Config) { c.NoDial = true })
		id := testNodes(t, 1)[0].ID()
		a.BanNode(id, netip.Addr{}, time.Minute, "test")
		if !a.bans.idBanned(id) || a.Stats().Bans != 1 {
			t.Fatal("not banned")
		}
		time.Sleep(time.Minute)
		if a.bans.idBanned(id) || len(a.Bans()) != 0 || a.Stats().Bans != 0 {
			t.Fatal("ban did not expire")
		}
	})
}

// The policy's bans go through the ban list, marked Auto: an inbound bad
// MAC bans the ID and the IP; a trusted or static node is not banned, and
// its penalty is capped.
func TestAutoBan(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		db, err := nodedb.Open("")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		a := startPipeServer(t, pn, "127.0.7.3", func(c *Config) { c.NoDial = true; c.NodeDB = db })
		nodes := testNodes(t, 2)
		ip := netip.MustParseAddr("10.7.7.7")
		f := failure{PhaseHello, DirInbound, ReasonMAC}
		a.applyFailure(f, failureSubject{id: nodes[0].ID(), ip: ip})
		bans := a.Bans()
		if len(bans) != 2 || !bans[0].Auto || !bans[1].Auto {
			t.Fatalf("bans %+v, want the ID and the IP, automatic", bans)
		}
		if !a.bans.idBanned(nodes[0].ID()) || !a.bans.ipBanned(ip) {
			t.Fatal("ID or IP not banned")
		}
		// −500 reaches the ban threshold: the score restarts at half of it.
		if s := a.pol.rep.get(nodes[0].ID()); s != defaultBanThreshold/2 {
			t.Errorf("score %d, want %d", s, defaultBanThreshold/2)
		}
		a.applyFailure(f, failureSubject{id: nodes[1].ID(), ip: netip.MustParseAddr("10.7.7.8"), protected: true})
		if a.bans.idBanned(nodes[1].ID()) {
			t.Error("protected node banned")
		}
		if s := a.pol.rep.get(nodes[1].ID()); s != protectedPenalty {
			t.Errorf("protected node's score %d, want %d", s, protectedPenalty)
		}
		if got := a.Stats().Failures[f.key()]; got != 2 {
			t.Errorf("Failures[%s] = %d, want 2", f.key(), got)
		}
		// The ID ban is in the peer store.
		synctest.Wait()
		time.Sleep(2 * nodeDBMaintainInterval)
		synctest.Wait()
		if r, ok := db.Peer(nodes[0].ID()); !ok || !r.Banned(time.Now()) {
			t.Errorf("stored record %+v, want a ban", r)
		}
	})
}

// A node whose reputation falls to the threshold is banned by ID, and its
// score restarts at half the threshold.
func TestReputationBan(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		a := startPipeServer(t, pn, "127.0.7.4", func(c *Config) { c.NoDial = true })
		id := testNodes(t, 1)[0].ID()
		f := failure{PhaseRunning, DirOutbound, "subprotocol error"} // −100, no ban
		for range 4 {
			a.applyFailure(f, failureSubject{id: id})
		}
		if a.bans.idBanned(id) || a.pol.rep.get(id) != -400 {
			t.Fatalf("banned %v, score %d after 4 penalties", a.bans.idBanned(id), a.pol.rep.get(id))
		}
		a.applyFailure(f, failureSubject{id: id})
		if !a.bans.idBanned(id) {
			t.Fatal("not banned at the threshold")
		}
		if s := a.pol.rep.get(id); s != defaultBanThreshold/2 {
			t.Errorf("score after the ban %d, want %d", s, defaultBanThreshold/2)
		}
		b := a.Bans()
		if len(b) != 1 || !b[0].Auto || b[0].Reason != "policy: reputation" {
			t.Errorf("bans %+v", b)
		}
	})
}

// inboundSetupFailed, the hook of failed inbound setups, bans the ID and
// the source IP of an inbound connection whose frame MAC was bad, and an
// IP that replayed an auth message; a timeout bans nothing.
func TestInboundSetupFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		a := startPipeServer(t, pn, "127.0.7.5", func(c *Config) { c.NoDial = true })
		inbound := func(ip string, id enode.ID) *conn {
			fd, other := net.Pipe()
			t.Cleanup(func() { fd.Close(); other.Close() })
			remote := net.TCPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 40000))
			return &conn{fd: newMeteredConn(&addrConn{Conn: fd, remote: remote, local: remote}), flags: inboundConn, id: id}
		}
		nodes := testNodes(t, 2)
		a.inboundSetupFailed(inbound("10.5.5.1", nodes[0].ID()), readError(rlpx.ErrFrameMAC))
		a.inboundSetupFailed(inbound("10.5.5.2", enode.ID{}),
			fmt.Errorf("%w: %w", errEncHandshake, &rlpx.HandshakeError{Phase: "decode", Err: replayError{}}))
		a.inboundSetupFailed(inbound("10.5.5.3", nodes[1].ID()), &PeerError{Reason: DiscReadTimeout})
		a.inboundSetupFailed(inbound("10.5.5.4", enode.ID{}), ErrServerStopped)
		if !a.bans.idBanned(nodes[0].ID()) || !a.bans.ipBanned(netip.MustParseAddr("10.5.5.1")) {
			t.Error("bad MAC: ID or IP not banned")
		}
		if !a.bans.ipBanned(netip.MustParseAddr("10.5.5.2")) {
			t.Error("replay: IP not banned")
		}
		if a.bans.idBanned(nodes[1].ID()) || a.bans.ipBanned(netip.MustParseAddr("10.5.5.3")) {
			t.Error("timeout banned")
		}
		want := map[string]uint64{"hello/inbound/mac": 1, "ecies/inbound/replay": 1, "hello/inbound/timeout": 1}
		if got := a.Stats().Failures; !maps.Equal(got, want) {
			t.Errorf("Failures %v, want %v", got, want)
		}
	})
}
