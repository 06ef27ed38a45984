package p2p

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/internal/mclock"
)

// connectRaw starts a server with protos and connects a raw peer that
// announces caps. The raw peer's reader is running.
func connectRaw(t *testing.T, protos []Protocol, caps []Cap, mod func(*Config)) (*testNode, *rawPeer, chan *PeerEvent) {
	t.Helper()
	pn := newPipeNet()
	n := startPipeServer(t, pn, "127.0.1.1", func(c *Config) {
		c.Protocols = protos
		if mod != nil {
			mod(c)
		}
	})
	events := make(chan *PeerEvent, 100)
	sub := n.SubscribeEvents(events)
	t.Cleanup(sub.Unsubscribe)
	p := mustDialRaw(t, pn, "127.0.2.1", n, newTestKey(t))
	if _, err := p.hello(caps...); err != nil {
		t.Fatal(err)
	}
	p.startReader()
	synctest.Wait()
	if ev := <-events; ev.Type != PeerEventTypeAdd {
		t.Fatalf("first event %+v", ev)
	}
	return n, p, events
}

// nextDrop returns the next drop event.
func nextDrop(t *testing.T, events chan *PeerEvent) *PeerEvent {
	t.Helper()
	for {
		select {
		case ev := <-events:
			if ev.Type == PeerEventTypeDrop {
				return ev
			}
		case <-time.After(time.Hour):
			t.Fatal("no drop event")
		}
	}
}

// The server pings every 15 s and answers pings; a silent peer is dropped
// after 30 s with DiscReadTimeout.
func TestPeerPingAndReadTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, p, events := connectRaw(t, nil, nil, nil)
		start := time.Now()
		m := <-p.msgs
		if m.code != pingMsg || time.Since(start) != pingInterval {
			t.Fatalf("got %#x after %v, want Ping after %v", m.code, time.Since(start), pingInterval)
		}
		p.send(pingMsg, emptyList)
		if m := <-p.msgs; m.code != pongMsg {
			t.Fatalf("got %#x, want Pong", m.code)
		}
		// Stay silent: the server gives up 30 s after our Ping.
		var reason DiscReason
		for m := range p.msgs {
			if m.code == discMsg {
				reason = decodeDisconnect(m.data)
				break
			}
		}
		if reason != DiscReadTimeout {
			t.Fatalf("got Disconnect(%v), want read timeout", reason)
		}
		if d := time.Since(start); d != pingInterval+readTimeout {
			t.Errorf("dropped after %v", d)
		}
		ev := nextDrop(t, events)
		if ev.RemoteRequested || *ev.Reason != DiscReadTimeout {
			t.Fatalf("drop %+v", ev)
		}
	})
}

// Pings keep a connection alive.
func TestPeerPingKeepsAlive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, p, _ := connectRaw(t, nil, nil, nil)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range 8 {
				time.Sleep(10 * time.Second)
				p.send(pingMsg, emptyList)
			}
		}()
		for {
			select {
			case m := <-p.msgs:
				if m.code == discMsg {
					t.Fatalf("disconnected: %v", decodeDisconnect(m.data))
				}
				continue
			case <-done:
			}
			break
		}
		if n.PeerCount() != 1 {
			t.Fatal("peer dropped")
		}
	})
}

// Every reason a protocol ends with is sent to the remote; every reason
// the remote sends is reported in the drop event as requested by it.
func TestPeerDisconnectReasons(t *testing.T) {
	for r := range 0x11 {
		reason := DiscReason(r)
		if !reason.Valid() {
			continue
		}
		t.Run(fmt.Sprintf("sent/%v", reason), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				proto := Protocol{Name: "x", Version: 1, Length: 1, Run: func(p *Peer, rw MsgReadWriter) error {
					return reason
				}}
				_, p, events := connectRaw(t, []Protocol{proto}, []Cap{{"x", 1}}, nil)
				ev := nextDrop(t, events)
				if ev.RemoteRequested || *ev.Reason != reason || !errors.Is(ev.Err, reason) {
					t.Fatalf("drop event %+v", ev)
				}
				if reason == DiscNetworkError {
					// Never sent: the connection just closes.
					if m, ok := p.next(); ok {
						t.Fatalf("got message %#x", m.code)
					}
					return
				}
				p.expectDisconnect(reason)
			})
		})
		t.Run(fmt.Sprintf("received/%v", reason), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				_, p, events := connectRaw(t, nil, nil, nil)
				p.send(discMsg, appendDisconnect(nil, reason))
				ev := nextDrop(t, events)
				var got DiscReason
				if !ev.RemoteRequested || *ev.Reason != reason || !errors.As(ev.Err, &got) || got != reason {
					t.Fatalf("drop event %+v", ev)
				}
			})
		})
	}
}

// Protocol errors map to their reasons.
func TestPeerProtocolErrors(t *testing.T) {
	tests := []struct {
		name string
		run  func(p *Peer, rw MsgReadWriter) error
		want DiscReason
	}{
		{"returns nil", func(*Peer, MsgReadWriter) error { return nil }, DiscQuitting},
		{"other error", func(*Peer, MsgReadWriter) error { return errors.New("boom") }, DiscSubprotocolError},
		{"invalid code", func(p *Peer, rw MsgReadWriter) error { return Send(rw, 5, uint(1)) }, DiscProtocolError},
		{"undecodable message", func(p *Peer, rw MsgReadWriter) error {
			msg, err := rw.ReadMsg()
			if err != nil {
				return err
			}
			var v uint
			return msg.Decode(&v)
		}, DiscProtocolError},
		{"Disconnect", func(p *Peer, rw MsgReadWriter) error {
			p.Disconnect(DiscUselessPeer)
			_, err := rw.ReadMsg()
			if err != io.EOF {
				return fmt.Errorf("ReadMsg after Disconnect: %v", err)
			}
			if err := Send(rw, 0, uint(1)); err != ErrShuttingDown {
				return fmt.Errorf("WriteMsg after Disconnect: %v", err)
			}
			return nil
		}, DiscUselessPeer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				proto := Protocol{Name: "x", Version: 1, Length: 2, Run: tc.run}
				_, p, events := connectRaw(t, []Protocol{proto}, []Cap{{"x", 1}}, nil)
				p.send(16, []byte{0xc0}) // a list where the protocol wants a uint
				p.expectDisconnect(tc.want)
				if ev := nextDrop(t, events); *ev.Reason != tc.want {
					t.Fatalf("drop event %+v", ev)
				}
			})
		})
	}
}

// Bad input after the Hello: unknown message codes and oversized messages.
func TestPeerBadMessages(t *testing.T) {
	tests := []struct {
		name string
		code uint64
		size int
	}{
		{"code beyond all protocols", 16 + 8, 1},
		{"huge code", 1 << 40, 1},
		{"too large", 16, 5000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				_, p, events := connectRaw(t, []Protocol{echoProto("echo", 1)}, []Cap{{"echo", 1}}, func(c *Config) {
					c.MaxMessageSize = 4096
				})
				p.send(tc.code, make([]byte, tc.size))
				p.expectDisconnect(DiscProtocolError)
				if ev := nextDrop(t, events); *ev.Reason != DiscProtocolError {
					t.Fatalf("drop event %+v", ev)
				}
			})
		})
	}
	// Base protocol codes the protocol does not use are ignored.
	synctest.Test(t, func(t *testing.T) {
		n, p, _ := connectRaw(t, nil, nil, nil)
		for _, code := range []uint64{helloMsg, pongMsg, 4, 15} {
			p.send(code, emptyList)
		}
		synctest.Wait()
		if n.PeerCount() != 1 {
			t.Fatal("peer dropped")
		}
	})
}

// A peer that stops reading: our writes time out and it is dropped, while
// another peer of the same server keeps exchanging messages.
func TestPeerStalledReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		flood := Protocol{Name: "flood", Version: 1, Length: 1, Run: func(p *Peer, rw MsgReadWriter) error {
			for {
				if err := rw.WriteMsg(Msg{Code: 0, Size: 1000, Payload: newPayload(make([]byte, 1000))}); err != nil {
					return err
				}
			}
		}}
		n := startPipeServer(t, pn, "127.0.1.1", func(c *Config) { c.Protocols = []Protocol{flood, echoProto("echo", 1)} })
		events := make(chan *PeerEvent, 100)
		sub := n.SubscribeEvents(events)
		defer sub.Unsubscribe()

		stalled := mustDialRaw(t, pn, "127.0.2.1", n, newTestKey(t))
		if _, err := stalled.hello(Cap{"flood", 1}); err != nil {
			t.Fatal(err)
		}
		// Never read from stalled.
		good := mustDialRaw(t, pn, "127.0.2.2", n, newTestKey(t))
		if _, err := good.hello(Cap{"echo", 1}); err != nil {
			t.Fatal(err)
		}
		good.startReader()
		start := time.Now()
		for i := range 30 {
			good.send(16, mustEncode(t, uint(i)))
			if m, ok := good.next(); !ok || m.code != 16 {
				t.Fatal("echo failed")
			}
			time.Sleep(time.Second)
		}
		var ev *PeerEvent
		for ev = range events {
			if ev.Type == PeerEventTypeDrop {
				break
			}
		}
		if ev.Peer != enode.PubkeyToIDV4(stalled.key.Public()) || *ev.Reason != DiscNetworkError {
			t.Fatalf("drop %+v", ev)
		}
		if d := time.Since(start); d < writeTimeout || d > 2*writeTimeout {
			t.Errorf("dropped after %v", d)
		}
		if n.PeerCount() != 1 {
			t.Fatal("good peer gone")
		}
	})
}

// A protocol that does not read holds up the others only once its queue
// budget is used up.
func TestPeerNoHeadOfLineBlocking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		block := make(chan struct{})
		slow := Protocol{Name: "aslow", Version: 1, Length: 1, Run: func(p *Peer, rw MsgReadWriter) error {
			<-block
			for {
				if _, err := rw.ReadMsg(); err != nil {
					return err
				}
			}
		}}
		_, p, _ := connectRaw(t, []Protocol{slow, echoProto("echo", 1)}, []Cap{{"aslow", 1}, {"echo", 1}}, nil)
		// Fill half the slow protocol's budget.
		for range protoQueueBudget / 2 / 1024 {
			p.send(16, make([]byte, 1000))
		}
		p.send(17, mustEncode(t, uint(7)))
		if m, ok := p.next(); !ok || m.code != 17 {
			t.Fatal("echo blocked behind the slow protocol")
		}
		close(block)
	})
}

// Concurrent writers: every message arrives, in order per writer, and
// frames are batched.
func TestPeerConcurrentWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const writers, perWriter = 8, 200
		var wg sync.WaitGroup
		proto := Protocol{Name: "w", Version: 1, Length: writers, Run: func(p *Peer, rw MsgReadWriter) error {
			for w := range writers {
				wg.Go(func() {
					for i := range perWriter {
						if err := Send(rw, uint64(w), uint(i)); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			_, err := rw.ReadMsg()
			return err
		}}
		n, p, _ := connectRaw(t, []Protocol{proto}, []Cap{{"w", 1}}, nil)
		next := make([]uint, writers)
		for range writers * perWriter {
			m, ok := p.next()
			if !ok {
				t.Fatal("connection closed")
			}
			w := m.code - 16
			var v uint
			if err := decodeUint(m.data, &v); err != nil || v != next[w] {
				t.Fatalf("writer %d: got %d, want %d", w, v, next[w])
			}
			next[w]++
		}
		wg.Wait()
		synctest.Wait()
		st := n.Peers()[0].Stats()
		t.Logf("%d messages in %d bytes", st.MsgsOut, st.BytesOut)
	})
}

func decodeUint(b []byte, v *uint) error {
	var x uint64
	if err := (Msg{Payload: newPayload(b), Size: uint32(len(b))}).Decode(&x); err != nil {
		return err
	}
	*v = uint(x)
	return nil
}

// Snappy is used only with peers that announce version 5 or later.
func TestPeerSnappyByVersion(t *testing.T) {
	for _, version := range []uint64{4, 5, 6} {
		t.Run(fmt.Sprint(version), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pn := newPipeNet()
				n := startPipeServer(t, pn, "127.0.1.1", func(c *Config) { c.Protocols = []Protocol{echoProto("echo", 1)} })
				p := mustDialRaw(t, pn, "127.0.2.1", n, newTestKey(t))
				// helloWith switches snappy on iff both announce ≥ 5; if the
				// server disagreed, the next message would not decode.
				if _, err := p.helloWith(&hello{Version: version, Name: "raw", Caps: []Cap{{"echo", 1}}, ID: p.key.Public()[:]}); err != nil {
					t.Fatal(err)
				}
				p.startReader()
				p.send(16, mustEncode(t, uint(9)))
				if m, ok := p.next(); !ok || m.code != 16 {
					t.Fatalf("echo failed: %v", p.readErr)
				}
			})
		})
	}
}

// Pings come from the injected clock.
func TestPeerPingSimulatedClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := new(mclock.Simulated)
		_, p, _ := connectRaw(t, nil, nil, func(c *Config) { c.clock = clock })
		for range 3 {
			clock.Run(pingInterval)
			if m := <-p.msgs; m.code != pingMsg {
				t.Fatalf("got %#x, want Ping", m.code)
			}
		}
	})
}

// Messages a protocol queued before it returned are all sent, in order,
// before the Disconnect; the flusher ends with the peer.
func TestPeerQueuedBeforeDisconnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const count = 300
		proto := Protocol{Name: "q", Version: 1, Length: 1, Run: func(p *Peer, rw MsgReadWriter) error {
			for i := range count {
				if err := Send(rw, 0, uint(i)); err != nil {
					return err
				}
				if err := rw.WriteMsg(Msg{Code: 0, Size: 1000, Payload: bytes.NewReader(make([]byte, 1000))}); err != nil {
					return err
				}
			}
			return nil // DiscQuitting
		}}
		_, p, events := connectRaw(t, []Protocol{proto}, []Cap{{"q", 1}}, nil)
		for i := range count {
			m, ok := p.next()
			var v uint
			if !ok || m.code != 16 || decodeUint(m.data, &v) != nil || v != uint(i) {
				t.Fatalf("message %d: %v %#x %v", i, ok, m.code, v)
			}
			if m, ok = p.next(); !ok || len(m.data) != 1000 {
				t.Fatalf("message %d: payload of %d bytes", i, len(m.data))
			}
		}
		p.expectDisconnect(DiscQuitting)
		if ev := nextDrop(t, events); *ev.Reason != DiscQuitting {
			t.Fatalf("drop %+v", ev)
		}
	})
}

// Stop does not wait for a peer that does not read beyond the Disconnect
// budget, and leaves no flusher behind (TestMain checks for leaks).
func TestPeerStopWithQueuedData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var queued atomic.Int64
		flood := Protocol{Name: "flood", Version: 1, Length: 1, Run: func(p *Peer, rw MsgReadWriter) error {
			for {
				if err := rw.WriteMsg(Msg{Code: 0, Size: 10000, Payload: bytes.NewReader(make([]byte, 10000))}); err != nil {
					return err
				}
				queued.Add(1)
			}
		}}
		pn := newPipeNet()
		n := startPipeServer(t, pn, "127.0.1.1", func(c *Config) { c.Protocols = []Protocol{flood} })
		p := mustDialRaw(t, pn, "127.0.2.1", n, newTestKey(t))
		if _, err := p.hello(Cap{"flood", 1}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the writer waits for queue space, the flusher for the network
		if q := queued.Load() * 10000; q < writeQueueBudget {
			t.Fatalf("only %d bytes queued", q)
		}
		start := time.Now()
		n.Stop()
		if d := time.Since(start); d != discWriteTimeout {
			t.Fatalf("Stop took %v", d)
		}
	})
}

// The peer measures the round trip of its Pings: smoothed (1/8 weight per
// sample) and minimum. Pongs without an outstanding Ping are ignored.
func TestPeerRTT(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, p, _ := connectRaw(t, nil, nil, nil)
		peer := n.Peers()[0]
		if peer.RTT() != 0 {
			t.Fatalf("RTT %v before any Pong", peer.RTT())
		}
		p.send(pongMsg, emptyList) // unsolicited
		synctest.Wait()
		if peer.RTT() != 0 || peer.minRTT.Load() != 0 {
			t.Fatalf("unsolicited Pong measured: %v", peer.RTT())
		}
		answer := func(after time.Duration) {
			t.Helper()
			if m := <-p.msgs; m.code != pingMsg {
				t.Fatalf("got %#x, want Ping", m.code)
			}
			time.Sleep(after)
			p.send(pongMsg, emptyList)
			synctest.Wait()
		}
		answer(40 * time.Millisecond)
		if got := peer.RTT(); got != 40*time.Millisecond {
			t.Fatalf("RTT %v, want 40ms", got)
		}
		answer(20 * time.Millisecond)
		if got, want := peer.RTT(), 40*time.Millisecond-20*time.Millisecond/8; got != want {
			t.Fatalf("smoothed RTT %v, want %v", got, want)
		}
		if got := time.Duration(peer.minRTT.Load()); got != 20*time.Millisecond {
			t.Fatalf("min RTT %v, want 20ms", got)
		}
		// A second Pong to the same Ping changes nothing.
		before := peer.RTT()
		time.Sleep(time.Millisecond)
		p.send(pongMsg, emptyList)
		synctest.Wait()
		if peer.RTT() != before {
			t.Fatalf("second Pong measured: %v", peer.RTT())
		}
	})
}

// A Ping left unanswered keeps its time: the RTT of a late Pong is
// measured from the first Ping, not understated.
func TestPeerRTTLatePong(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, p, _ := connectRaw(t, nil, nil, nil)
		peer := n.Peers()[0]
		<-p.msgs // Ping 1, not answered
		time.Sleep(pingInterval - time.Second)
		p.send(pingMsg, emptyList) // keeps the connection alive
		<-p.msgs                   // our Pong
		if m := <-p.msgs; m.code != pingMsg {
			t.Fatalf("got %#x, want Ping 2", m.code)
		}
		p.send(pongMsg, emptyList)
		synctest.Wait()
		if got := peer.RTT(); got != pingInterval {
			t.Fatalf("RTT %v, want %v (since the first Ping)", got, pingInterval)
		}
	})
}

// Base protocol messages are limited to a burst of baseMsgBurst and one
// per baseMsgInterval: each Ping within the limit gets one Pong, and the
// peer is dropped with DiscProtocolError beyond it.
func TestPeerBaseRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// At the allowed rate, indefinitely.
		n, p, _ := connectRaw(t, nil, nil, nil)
		for range baseMsgBurst {
			p.send(pingMsg, emptyList)
		}
		for range 40 {
			time.Sleep(baseMsgInterval)
			p.send(pingMsg, emptyList)
		}
		synctest.Wait()
		if n.PeerCount() != 1 {
			t.Fatal("peer at the allowed rate dropped")
		}
		pongs := 0
		for len(p.msgs) > 0 {
			if m := <-p.msgs; m.code == pongMsg {
				pongs++
			}
		}
		if pongs != baseMsgBurst+40 {
			t.Fatalf("%d Pongs for %d Pings", pongs, baseMsgBurst+40)
		}
	})
	for _, code := range []uint64{pingMsg, pongMsg, helloMsg, 0x0f} {
		t.Run(fmt.Sprintf("code %#x", code), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				_, p, events := connectRaw(t, nil, nil, nil)
				for range baseMsgBurst + 1 {
					p.send(code, emptyList)
				}
				pongs := 0
				for m := range p.msgs {
					if m.code == pongMsg {
						pongs++
						continue
					}
					if m.code != discMsg || decodeDisconnect(m.data) != DiscProtocolError {
						t.Fatalf("got %#x %x, want Disconnect(DiscProtocolError)", m.code, m.data)
					}
					break
				}
				if code == pingMsg && pongs != baseMsgBurst {
					t.Fatalf("%d Pongs for %d allowed Pings", pongs, baseMsgBurst)
				}
				if ev := nextDrop(t, events); *ev.Reason != DiscProtocolError || ev.RemoteRequested {
					t.Fatalf("drop %+v", ev)
				}
			})
		})
	}
}

// The per-message work of the rate limit and the RTT does not allocate.
func TestPeerBaseLimitNoAlloc(t *testing.T) {
	p := &Peer{cfg: &peerConfig{clock: mclock.System{}}, created: mclock.Now()}
	allocs := testing.AllocsPerRun(1000, func() {
		p.baseBudget.take(p.cfg.clock.Now(), baseMsgBurst, baseMsgInterval)
		p.pingSent.Store(p.sinceCreated())
		p.gotPong()
		p.MarkUseful()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations", allocs)
	}
}

func TestPeerMarkUseful(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, _, _ := connectRaw(t, nil, nil, nil)
		peer := n.Peers()[0]
		if _, ok := peer.lastUseful(); ok {
			t.Fatal("useful before MarkUseful")
		}
		time.Sleep(time.Second)
		peer.MarkUseful()
		at, ok := peer.lastUseful()
		if !ok || at != peer.created.Add(time.Second) {
			t.Fatalf("lastUseful %v %t, want created+1s", at, ok)
		}
	})
}
