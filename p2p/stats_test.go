package p2p

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/devp2p-go/devp2p/enode"
)

// Add and drop events carry the direction and class of the connection, in
// Go and in JSON; Stats counts peers by direction and class and dials by
// kind.
func TestEventFlagsAndPeerStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		keyA := newTestKey(t)
		nodeA := enode.NewV4(keyA.Public(), netip.MustParseAddr("127.0.3.1"), 30303, 30303)
		b := startPipeServer(t, pn, "127.0.3.2", func(c *Config) { c.TrustedNodes = []*enode.Node{nodeA} })
		a := startPipeServerKey(t, pn, "127.0.3.1", keyA, nil)
		evA, evB := make(chan *PeerEvent, 10), make(chan *PeerEvent, 10)
		defer a.SubscribeEvents(evA).Unsubscribe()
		defer b.SubscribeEvents(evB).Unsubscribe()
		if st := a.Stats(); !st.Running || st.Discovery != nil {
			t.Fatalf("stats before peers: %+v", st)
		}
		a.AddPeer(b.node)
		synctest.Wait()

		ea, eb := <-evA, <-evB
		if ea.Type != PeerEventTypeAdd || ea.Inbound || !ea.Static || ea.Dynamic || ea.Trusted || ea.Direction() != "outbound" {
			t.Errorf("a's add event %+v", ea)
		}
		if eb.Type != PeerEventTypeAdd || !eb.Inbound || eb.Static || eb.Dynamic || !eb.Trusted || eb.Direction() != "inbound" {
			t.Errorf("b's add event %+v", eb)
		}
		ja, _ := json.Marshal(ea)
		jb, _ := json.Marshal(eb)
		if !strings.Contains(string(ja), `"static":true`) || strings.Contains(string(ja), `"inbound"`) {
			t.Errorf("a's event JSON %s", ja)
		}
		if !strings.Contains(string(jb), `"inbound":true`) || !strings.Contains(string(jb), `"trusted":true`) ||
			!strings.Contains(string(jb), `"type":"add"`) || !strings.Contains(string(jb), `"peer":"`) {
			t.Errorf("b's event JSON %s", jb)
		}

		sa, sb := a.Stats(), b.Stats()
		if want := (PeerCounts{Total: 1, Outbound: 1, Static: 1}); sa.Peers != want {
			t.Errorf("a's peer counts %+v, want %+v", sa.Peers, want)
		}
		if want := (PeerCounts{Total: 1, Inbound: 1, Trusted: 1}); sb.Peers != want {
			t.Errorf("b's peer counts %+v, want %+v", sb.Peers, want)
		}
		if sa.Dials.Static.Started != 1 || sa.Dials.Static.Succeeded != 1 || sa.Dials.Dynamic.Started != 0 {
			t.Errorf("a's dial stats %+v", sa.Dials)
		}
		if sa.PendingInbound != 0 || sa.PendingOutbound != 0 || sb.PendingInbound != 0 {
			t.Errorf("pending handshakes %d %d %d", sa.PendingInbound, sa.PendingOutbound, sb.PendingInbound)
		}
		if _, err := json.Marshal(sa); err != nil {
			t.Fatal(err)
		}

		b.Stop()
		synctest.Wait()
		if ea := <-evA; ea.Type != PeerEventTypeDrop || ea.Inbound || !ea.Static {
			t.Errorf("a's drop event %+v", ea)
		}
		if eb := <-evB; eb.Type != PeerEventTypeDrop || !eb.Inbound || !eb.Trusted {
			t.Errorf("b's drop event %+v", eb)
		}
		if st := b.Stats(); st.Running || st.Peers.Total != 0 {
			t.Errorf("stats after Stop: %+v", st)
		}
	})
}

// Failed setups are counted by phase and reason.
func TestHandshakeFailureStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		n := startPipeServer(t, pn, "127.0.3.10", func(c *Config) { c.Protocols = []Protocol{echoProto("echo", 1)} })

		// Closed during the encryption handshake.
		fd, err := pn.dial(context.Background(), netip.MustParseAddr("127.0.3.11"), n.addr)
		if err != nil {
			t.Fatal(err)
		}
		fd.Close()
		// Ourselves: refused at checkpoint 1.
		self := mustDialRaw(t, pn, "127.0.3.12", n, n.key)
		self.readDisconnect(DiscSelf)
		// Disconnect instead of Hello.
		p := mustDialRaw(t, pn, "127.0.3.13", n, newTestKey(t))
		p.startReader() // takes the server's Hello
		p.send(discMsg, appendDisconnect(nil, DiscUselessPeer))
		// No shared capability: refused at checkpoint 2.
		q := mustDialRaw(t, pn, "127.0.3.14", n, newTestKey(t))
		if _, err := q.hello(Cap{"other", 1}); err != nil {
			t.Fatalf("hello: %v", err)
		}
		q.readDisconnect(DiscUselessPeer)
		synctest.Wait()

		want := map[string]map[string]uint64{
			HandshakePhaseRLPx:        {"network": 1},
			HandshakePhaseCheckpoint1: {"connected to self": 1},
			HandshakePhaseHello:       {"useless peer": 1},
			HandshakePhaseCheckpoint2: {"useless peer": 1},
		}
		got := n.Stats().HandshakeFailures
		if len(got) != len(want) {
			t.Fatalf("handshake failures %v, want %v", got, want)
		}
		for phase, reasons := range want {
			for r, c := range reasons {
				if got[phase][r] != c {
					t.Errorf("handshake failures %v, want %v", got, want)
				}
			}
		}
	})
}
