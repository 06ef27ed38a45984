package p2p

import (
	"bytes"
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

// Bans of node IDs and of IP addresses are written to the node database and
// are in force again after a restart with the same file, with their reason
// and Auto flag. Expired and lifted bans are not restored.
func TestBanPersistsAcrossRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		path := filepath.Join(t.TempDir(), "nodes.db")
		key := newTestKey(t)
		withDB := func(c *Config) { c.NodeDatabase = path; c.NoDial = true }
		nodes := testNodes(t, 4)
		long, short, lifted, auto := nodes[0].ID(), nodes[1].ID(), nodes[2].ID(), nodes[3].ID()
		ip := netip.MustParseAddr("10.9.9.9")
		liftedIP := netip.MustParseAddr("10.9.9.10")
		autoIP := netip.MustParseAddr("10.9.9.11")
		mac := failure{PhaseHello, DirInbound, ReasonMAC}

		a := startPipeServerKey(t, pn, "127.0.7.1", key, withDB)
		a.BanNode(long, ip, time.Hour, "test: long")
		a.BanNode(short, netip.Addr{}, time.Minute, "test: short")
		a.BanNode(lifted, netip.Addr{}, time.Hour, "test: lifted")
		a.BanNode(enode.ID{}, liftedIP, time.Hour, "test: lifted IP")
		a.applyFailure(mac, failureSubject{id: auto, ip: autoIP}) // ID 1 h, IP 10 min
		if !a.Unban(lifted, netip.Addr{}) || !a.Unban(enode.ID{}, liftedIP) {
			t.Fatal("Unban found no ban")
		}
		if n := len(a.Bans()); n != 5 { // long's ID and IP, short, auto's ID and IP
			t.Fatalf("%d bans, want 5: %+v", n, a.Bans())
		}
		synctest.Wait()
		a.Stop()

		time.Sleep(2 * time.Minute) // short's ban ends
		b := startPipeServerKey(t, pn, "127.0.7.1", key, withDB)
		type want struct {
			id     enode.ID
			ip     netip.Addr
			reason string
			auto   bool
			left   time.Duration
		}
		autoReason := "policy: " + mac.key()
		wants := []want{ // in Bans' order: ID bans (sorted), then IPs
			{id: long, reason: "test: long", left: time.Hour},
			{id: auto, reason: autoReason, auto: true, left: severeBanTTL},
			{ip: ip, reason: "test: long", left: time.Hour},
			{ip: autoIP, reason: autoReason, auto: true, left: ipBanTTL},
		}
		if bytes.Compare(auto[:], long[:]) < 0 {
			wants[0], wants[1] = wants[1], wants[0]
		}
		bans := b.Bans()
		if len(bans) != len(wants) {
			t.Fatalf("bans after restart: %+v, want %d", bans, len(wants))
		}
		for i, w := range wants {
			g := bans[i]
			if g.ID != w.id || g.IP != w.ip || g.Reason != w.reason || g.Auto != w.auto {
				t.Errorf("ban %d after restart: %+v, want %+v", i, g, w)
			}
			// Two minutes passed while stopped.
			if left := time.Until(g.Until); left != w.left-2*time.Minute {
				t.Errorf("ban %d ends in %v, want %v", i, left, w.left-2*time.Minute)
			}
		}
		if !b.bans.idBanned(long) || !b.bans.ipBanned(ip) || !b.bans.idBanned(auto) || !b.bans.ipBanned(autoIP) ||
			b.bans.idBanned(short) || b.bans.idBanned(lifted) || b.bans.ipBanned(liftedIP) {
			t.Error("ban list after restart is wrong")
		}
		// Unban deletes the stored bans too; the IP ban of auto ends
		// while stopped.
		b.Unban(long, ip)
		synctest.Wait()
		b.Stop()
		time.Sleep(ipBanTTL)
		c := startPipeServerKey(t, pn, "127.0.7.1", key, withDB)
		if bans := c.Bans(); len(bans) != 1 || bans[0].ID != auto || !bans[0].Auto {
			t.Fatalf("bans after Unban, expiry and restart: %+v, want only the ID ban of %v", bans, auto)
		}
	})
}

// A ban stored without a reason (as the migration from nodedb's schema
// version 1 leaves the ID bans of older files) is restored by Start with
// restoredBanReason, and the node's record if the database has it. A
// shorter ban does not replace the restored one, in memory or on disk.
func TestBanRestoredWithoutReason(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		db, err := nodedb.Open("")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		n := testNodes(t, 1)[0]
		id := n.ID()
		if err := db.PutBan(nodedb.BanRecord{ID: id, Until: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := db.PutPeer(&nodedb.PeerRecord{ID: id, Node: n}); err != nil {
			t.Fatal(err)
		}
		a := startPipeServer(t, pn, "127.0.7.6", func(c *Config) { c.NoDial = true; c.NodeDB = db })
		bans := a.Bans()
		if len(bans) != 1 || bans[0].ID != id || bans[0].Reason != restoredBanReason || bans[0].Auto {
			t.Fatalf("bans %+v", bans)
		}
		if bans[0].Node == nil || bans[0].Node.ID() != id {
			t.Errorf("restored ban's node %v, want %v", bans[0].Node, n)
		}
		// A shorter ban does not replace the longer one, in memory or on disk.
		a.BanNode(id, netip.Addr{}, time.Minute, "shorter")
		synctest.Wait()
		time.Sleep(2 * nodeDBMaintainInterval)
		synctest.Wait()
		if st := db.Bans(); len(st) != 1 || st[0].Reason != "" || time.Until(st[0].Until) < 50*time.Minute {
			t.Errorf("stored bans %+v", st)
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
		// Both bans are in the node database.
		synctest.Wait()
		time.Sleep(2 * nodeDBMaintainInterval)
		synctest.Wait()
		stored := db.Bans()
		if len(stored) != 2 || stored[0].ID != nodes[0].ID() || stored[1].IP != ip || !stored[0].Auto || !stored[1].Auto {
			t.Errorf("stored bans %+v, want the ID and the IP, automatic", stored)
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
