package servertest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/p2p"
	gethp2p "github.com/ethereum/go-ethereum/p2p"
	gethrlp "github.com/ethereum/go-ethereum/rlp"
)

// Our server and go-ethereum's dial each other (each one AddPeer on either
// side), agree on "test"/1, see each other's name, caps and direction, and
// exchange requests, replies and pushes both ways with content compared.
func TestGethServerDialBothWays(t *testing.T) {
	t.Parallel()
	for _, dialerImpl := range impls {
		t.Run(dialerImpl+" dials", func(t *testing.T) {
			t.Parallel()
			dialer := startNode(t, dialerImpl, nodeOpts{})
			listener := startNode(t, other(dialerImpl), nodeOpts{})
			ds, ls := connect(t, dialer, listener)

			checkPeerInfo(t, dialer, listener, false)
			checkPeerInfo(t, listener, dialer, true)

			requests(t, dialer, ds, 1000)
			requests(t, listener, ls, 2000)
			pushesBothWays(t, dialer, ds, listener, ls)
		})
	}
}

// checkPeerInfo checks what n reports about its peer p.
func checkPeerInfo(t *testing.T, n, p node, inbound bool) {
	t.Helper()
	info := n.peerInfo(t, p.id())
	if info == nil {
		t.Fatalf("%v does not list %v among its peers", n, p)
	}
	wantName := map[string]string{"ours": "devp2p-go/servertest", "go-ethereum": "geth/servertest"}[p.String()]
	if info.name != wantName {
		t.Errorf("%v sees name %q, want %q", n, info.name, wantName)
	}
	if !slices.Equal(info.caps, []string{"test/1"}) {
		t.Errorf("%v sees caps %q, want [test/1]", n, info.caps)
	}
	if info.inbound != inbound {
		t.Errorf("%v sees inbound = %v, want %v", n, info.inbound, inbound)
	}
	if info.static == inbound {
		t.Errorf("%v sees static = %v, want %v", n, info.static, !inbound)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// payloadSizes cover RLP's short and long string forms, several frames and a
// message of several snappy blocks.
var payloadSizes = []int{0, 1, 55, 56, 1000, 16 << 10, 64<<10 + 1, 1<<20 + 3}

// requests sends a request of every payload size from s, the session of
// node from with its peer, and checks that the peer echoes the exact bytes,
// which must also be go-ethereum's RLP encoding of the message.
func requests(t *testing.T, from node, s *session, id0 uint64) {
	t.Helper()
	for i, size := range payloadSizes {
		m := testMsg{ID: id0 + uint64(i), Data: randomBytes(size)}
		want, err := gethrlp.EncodeToBytes(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.send(codeRequest, m); err != nil {
			t.Fatalf("%v: sending request of %d bytes: %v", from, size, err)
		}
		select {
		case got := <-s.replies:
			if !bytes.Equal(got, want) {
				t.Fatalf("%v: reply to request of %d bytes differs: got %d bytes, want %d", from, size, len(got), len(want))
			}
		case <-s.done:
			t.Fatalf("%v: protocol ended waiting for the reply to a request of %d bytes", from, size)
		case <-time.After(waitTimeout):
			t.Fatalf("%v: no reply to a request of %d bytes", from, size)
		}
	}
}

// pushesBothWays sends pushes from both sides at once, each side from
// several goroutines, and checks that each side decodes every message the
// other sent, each writer's messages in order.
func pushesBothWays(t *testing.T, a node, as *session, b node, bs *session) {
	t.Helper()
	const writers, perWriter = 4, 50
	sent := func(w, i int) testMsg {
		// Sizes vary so that frames of several writers interleave on the wire.
		return testMsg{ID: uint64(w)<<32 | uint64(i), Data: bytes.Repeat([]byte{byte(w), byte(i)}, (i*37)%700)}
	}
	var wg sync.WaitGroup
	errc := make(chan error, 2*writers)
	for _, s := range []*session{as, bs} {
		for w := range writers {
			wg.Go(func() {
				for i := range perWriter {
					if err := s.send(codePush, sent(w, i)); err != nil {
						errc <- err
						return
					}
				}
			})
		}
	}
	check := func(recv node, s *session) {
		next := make([]int, writers)
		for range writers * perWriter {
			select {
			case m := <-s.pushes:
				w, i := int(m.ID>>32), int(m.ID&0xffffffff)
				if w >= writers || i != next[w] {
					t.Fatalf("%v received push %d of writer %d, want %d", recv, i, w, next[w])
				}
				if want := sent(w, i); !bytes.Equal(m.Data, want.Data) {
					t.Fatalf("%v: push %d of writer %d has different data", recv, i, w)
				}
				next[w]++
			case err := <-errc:
				t.Fatalf("sending pushes: %v", err)
			case <-time.After(waitTimeout):
				t.Fatalf("%v: timed out waiting for pushes, got %v of %d per writer", recv, next, perWriter)
			}
		}
	}
	check(a, as)
	check(b, bs)
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		t.Fatalf("sending pushes: %v", err)
	}
}

// A server with MaxPeers peers refuses the next one with DiscTooManyPeers,
// and the dialer of the other implementation reads that reason from the
// Disconnect it gets instead of a Hello. Our full server closes most such
// connections before the encryption handshake; a few, within its courtesy
// budget, get the handshake and this Disconnect, so a dialer learns why.
func TestGethServerTooManyPeers(t *testing.T) {
	t.Parallel()
	for _, fullImpl := range impls {
		t.Run(fullImpl+" full", func(t *testing.T) {
			t.Parallel()
			full := startNode(t, fullImpl, nodeOpts{maxPeers: 1, noDial: true})
			filler := startNode(t, other(fullImpl), nodeOpts{})
			connect(t, filler, full)

			dialer := startNode(t, other(fullImpl), nodeOpts{})
			dialer.addPeer(t, full.url())
			err := dialer.setupError(t, full.id())
			if !dialer.isReason(err, uint8(p2p.DiscTooManyPeers)) {
				t.Fatalf("%v dialing the full %v: setup error %v, want DiscTooManyPeers", dialer, full, err)
			}
			var pe *p2p.PeerError
			if errors.As(err, &pe) {
				t.Fatalf("our setup error %v is a local decision, want the remote's Disconnect", err)
			}
			if err := full.setupError(t, dialer.id()); !full.isReason(err, uint8(p2p.DiscTooManyPeers)) {
				t.Fatalf("the full %v logged setup error %v, want DiscTooManyPeers", full, err)
			}
			if n := full.peerCount(); n != 1 {
				t.Fatalf("the full %v has %d peers, want 1", full, n)
			}
		})
	}
}

// A trusted node gets in past MaxPeers, in both implementations.
func TestGethServerTrustedPastMaxPeers(t *testing.T) {
	t.Parallel()
	for _, fullImpl := range impls {
		t.Run(fullImpl+" full", func(t *testing.T) {
			t.Parallel()
			full := startNode(t, fullImpl, nodeOpts{maxPeers: 1, noDial: true})
			filler := startNode(t, other(fullImpl), nodeOpts{})
			connect(t, filler, full)

			trusted := startNode(t, other(fullImpl), nodeOpts{})
			full.addTrusted(t, trusted.url())
			ts, fs := connect(t, trusted, full)
			if n := full.peerCount(); n != 2 {
				t.Fatalf("the full %v has %d peers, want 2", full, n)
			}
			if info := full.peerInfo(t, trusted.id()); info == nil || !info.trusted {
				t.Fatalf("%v's view of the trusted peer: %+v, want trusted", full, info)
			}
			requests(t, trusted, ts, 0)
			requests(t, full, fs, 100)
		})
	}
}

// Without a shared capability the peer is refused with DiscUselessPeer.
// When both run protocols, each side decides so itself after the Hello
// exchange. When one side runs no protocol it accepts anything, adds the
// peer and then reads the other side's Disconnect with DiscUselessPeer.
func TestGethServerUselessPeer(t *testing.T) {
	t.Parallel()
	for _, dialerImpl := range impls {
		for _, tc := range []struct {
			name             string
			dialer, listener []capSpec
		}{
			{"other protocol", testCaps, []capSpec{{"other", 1}}},
			{"other version", testCaps, []capSpec{{protoName, 2}}},
		} {
			t.Run(fmt.Sprintf("%s, %v dials", tc.name, dialerImpl), func(t *testing.T) {
				t.Parallel()
				dialer := startNode(t, dialerImpl, nodeOpts{caps: tc.dialer})
				listener := startNode(t, other(dialerImpl), nodeOpts{caps: tc.listener})
				dialer.addPeer(t, listener.url())
				for _, n := range []struct{ self, remote node }{{dialer, listener}, {listener, dialer}} {
					if err := n.self.setupError(t, n.remote.id()); !n.self.isReason(err, uint8(p2p.DiscUselessPeer)) {
						t.Errorf("%v: setup error %v, want DiscUselessPeer", n.self, err)
					}
				}
			})
		}
	}
	for _, bareImpl := range impls {
		for _, bareDials := range []bool{true, false} {
			t.Run(fmt.Sprintf("%v without protocols, dials=%v", bareImpl, bareDials), func(t *testing.T) {
				t.Parallel()
				bare := startNode(t, bareImpl, nodeOpts{caps: noCaps})
				withProto := startNode(t, other(bareImpl), nodeOpts{})
				if bareDials {
					bare.addPeer(t, withProto.url())
				} else {
					withProto.addPeer(t, bare.url())
				}
				if err := withProto.setupError(t, bare.id()); !withProto.isReason(err, uint8(p2p.DiscUselessPeer)) {
					t.Errorf("%v: setup error %v, want DiscUselessPeer", withProto, err)
				}
				bare.waitAdd(t, withProto.id(), waitTimeout)
				checkRemoteReason(t, bare, bare.waitDrop(t, withProto.id()), uint8(p2p.DiscUselessPeer))
			})
		}
	}
}

// checkRemoteReason checks that n's drop event is for the reason r sent by
// the remote.
func checkRemoteReason(t *testing.T, n node, d dropInfo, r uint8) {
	t.Helper()
	want := gethp2p.DiscReason(r).Error()
	if d.err != want {
		t.Errorf("%v's drop event has error %q, want %q", n, d.err, want)
	}
	if _, ours := n.(*ourNode); !ours {
		return
	}
	if d.reason == nil || *d.reason != p2p.DiscReason(r) || !d.remoteRequested {
		t.Errorf("our drop event has reason %v, remote requested %v; want %v from the remote", d.reason, d.remoteRequested, p2p.DiscReason(r))
	}
	if !errors.Is(d.cause, p2p.DiscReason(r)) {
		t.Errorf("our drop event's error %v is not %v", d.cause, p2p.DiscReason(r))
	}
}

// discReasons are all assigned reason codes.
var discReasons = []uint8{0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x10}

// Each disconnect reason one side gives Peer.Disconnect is the one the other
// side reports in its drop event, in both directions. DiscNetworkError is
// never sent by either implementation: the connection is just closed, and
// the other side reports a network error.
func TestGethServerDisconnectReasons(t *testing.T) {
	t.Parallel()
	for _, r := range discReasons {
		if ours, theirs := p2p.DiscReason(r).String(), gethp2p.DiscReason(r).String(); ours != theirs {
			t.Errorf("reason %#02x: our string %q, go-ethereum's %q", r, ours, theirs)
		}
	}
	for _, senderImpl := range impls {
		for i, r := range discReasons {
			t.Run(fmt.Sprintf("%v sends %#02x %v", senderImpl, r, p2p.DiscReason(r)), func(t *testing.T) {
				t.Parallel()
				sender := startNode(t, senderImpl, nodeOpts{})
				receiver := startNode(t, other(senderImpl), nodeOpts{})
				var ss *session
				if i%2 == 0 {
					ss, _ = connect(t, sender, receiver)
				} else {
					_, ss = connect(t, receiver, sender)
				}
				ss.disconnect(r)

				sd, rd := sender.waitDrop(t, receiver.id()), receiver.waitDrop(t, sender.id())
				// The sender reports the reason it gave, as its own decision.
				if want := gethp2p.DiscReason(r).Error(); sd.err != want {
					t.Errorf("%v (sender) drop event has error %q, want %q", sender, sd.err, want)
				}
				if _, ours := sender.(*ourNode); ours && (sd.reason == nil || *sd.reason != p2p.DiscReason(r) || sd.remoteRequested) {
					t.Errorf("our drop event (sender) has reason %v, remote requested %v", sd.reason, sd.remoteRequested)
				}
				if p2p.DiscReason(r) != p2p.DiscNetworkError {
					checkRemoteReason(t, receiver, rd, r)
					return
				}
				// Not sent: the receiver sees the connection end, with no reason.
				if _, ours := receiver.(*ourNode); ours {
					if rd.reason == nil || *rd.reason != p2p.DiscNetworkError || rd.remoteRequested {
						t.Errorf("our drop event (receiver) has reason %v, remote requested %v; want a local DiscNetworkError", rd.reason, rd.remoteRequested)
					}
				} else if slices.ContainsFunc(discReasons, func(r uint8) bool { return rd.err == gethp2p.DiscReason(r).Error() }) {
					t.Errorf("go-ethereum's drop event (receiver) has error %q, want the connection's error", rd.err)
				}
				t.Logf("%v (receiver) reports %q", receiver, rd.err)
			})
		}
	}
}

// A static peer comes back after the remote restarts with the same key on
// the same port. The dialer redials once its dial history lets it: both
// implementations keep a node there for 35 s from the start of the last
// dial, so each case takes about that long (they run in parallel).
func TestGethServerStaticRedial(t *testing.T) {
	t.Parallel()
	for _, restartImpl := range impls {
		t.Run(restartImpl+" restarts", func(t *testing.T) {
			t.Parallel()
			remote := startNode(t, restartImpl, nodeOpts{})
			dialer := startNode(t, other(restartImpl), nodeOpts{})
			start := time.Now()
			ds, _ := connect(t, dialer, remote)
			requests(t, dialer, ds, 0)

			remote.stop()
			checkRemoteReason(t, dialer, dialer.waitDrop(t, remote.id()), uint8(p2p.DiscQuitting))
			again := startNode(t, restartImpl, nodeOpts{key: remote.opts().key, port: remote.opts().port})
			if again.id() != remote.id() {
				t.Fatalf("restarted node has ID %v, want %v", again.id(), remote.id())
			}
			dialer.waitAdd(t, remote.id(), 60*time.Second)
			again.waitAdd(t, dialer.id(), waitTimeout)
			t.Logf("%v redialed %v %.1f s after the first dial", dialer, again, time.Since(start).Seconds())
			if info := dialer.peerInfo(t, remote.id()); info == nil || !info.static || info.inbound {
				t.Errorf("%v's view of the redialed peer: %+v, want static and outbound", dialer, info)
			}
			ds2 := dialer.waitSession(t, remote.id(), ds)
			requests(t, dialer, ds2, 100)
			requests(t, again, again.waitSession(t, dialer.id(), nil), 200)
		})
	}
}
