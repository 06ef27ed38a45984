package rlpxtest

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/rlpx"
	gethrlpx "github.com/ethereum/go-ethereum/p2p/rlpx"
)

// TestGethRLPxHandshakeWrongKey dials with a public key the listener does not
// hold. The listener cannot decrypt auth and must fail at once; the dialer
// must fail too, either because the listener hangs up (as a server does) or,
// if it does not, when its own handshake deadline passes. Nothing may hang.
func TestGethRLPxHandshakeWrongKey(t *testing.T) {
	const deadline = 2 * time.Second
	for _, kind := range transports {
		for _, ourInit := range []bool{true, false} {
			for _, hangUp := range []bool{true, false} {
				name := fmt.Sprintf("%s/ours=%s/listenerHangsUp=%v", kind, role(ourInit), hangUp)
				t.Run(name, func(t *testing.T) {
					ourKey, gethKey, wrong := newKey(t), newKey(t), newKey(t)
					dfd, lfd := connPair(t, kind)
					defer dfd.Close()
					defer lfd.Close()
					cfg := &rlpx.Config{HandshakeTimeout: deadline}

					type result struct {
						err     error
						elapsed time.Duration
					}
					dialer, listener := make(chan result, 1), make(chan result, 1)
					start := time.Now()
					var runDialer, runListener func() error
					if ourInit {
						ours := rlpx.NewConn(dfd, wrong.ourPub(), cfg)
						theirs := gethrlpx.NewConn(lfd, nil)
						theirs.SetDeadline(time.Now().Add(deadline))
						runDialer = func() error { _, err := ours.Handshake(ourKey.ours); return err }
						runListener = func() error { _, err := theirs.Handshake(gethKey.theirs); return err }
					} else {
						theirs := gethrlpx.NewConn(dfd, wrong.gethPub())
						theirs.SetDeadline(time.Now().Add(deadline))
						ours := rlpx.NewConn(lfd, nil, cfg)
						runDialer = func() error { _, err := theirs.Handshake(gethKey.theirs); return err }
						runListener = func() error { _, err := ours.Handshake(ourKey.ours); return err }
					}
					go func() {
						err := runDialer()
						dialer <- result{err, time.Since(start)}
					}()
					go func() {
						err := runListener()
						if err != nil && hangUp {
							lfd.Close()
						}
						listener <- result{err, time.Since(start)}
					}()

					limit := time.After(deadline + 10*time.Second)
					var d, l result
					for got := 0; got < 2; got++ {
						select {
						case d = <-dialer:
						case l = <-listener:
						case <-limit:
							dfd.Close()
							lfd.Close()
							t.Fatal("handshake hangs")
						}
					}
					if l.err == nil {
						t.Fatal("listener accepted an auth sealed to another key")
					}
					if d.err == nil {
						t.Fatal("dialer completed a handshake with a listener that does not hold the key")
					}
					t.Logf("listener failed after %v: %v", l.elapsed.Round(time.Millisecond), l.err)
					t.Logf("dialer failed after %v: %v", d.elapsed.Round(time.Millisecond), d.err)
					// The listener finds out from the auth itself, not from a timeout.
					if isTimeout(l.err) || l.elapsed >= deadline {
						t.Errorf("listener failed by timeout, not by rejecting the auth")
					}
					if !ourInit {
						var herr *rlpx.HandshakeError
						if !errors.As(l.err, &herr) || herr.Phase != "decrypt" {
							t.Errorf("our listener's error is %T %v, want a *rlpx.HandshakeError in phase decrypt", l.err, l.err)
						}
					}
					if hangUp && d.elapsed >= deadline {
						t.Errorf("dialer waited for its deadline although the listener hung up")
					}
				})
			}
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestGethRLPxHandshakeGarbage sends bytes that are no auth packet to each
// listener: both must reject them without hanging.
func TestGethRLPxHandshakeGarbage(t *testing.T) {
	inputs := map[string][]byte{
		"short":        {0x01, 0x02, 0x03},
		"eip8-random":  append([]byte{0x01, 0x10}, make([]byte, 0x110)...),
		"pre-eip8-len": make([]byte, 307),
		"oversized":    {0xff, 0xff},
	}
	for name, in := range inputs {
		for _, ours := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/listener=%s", name, map[bool]string{true: "ours", false: "geth"}[ours]), func(t *testing.T) {
				dfd, lfd := connPair(t, "tcp")
				defer dfd.Close()
				defer lfd.Close()
				key := newKey(t)
				errc := make(chan error, 1)
				go func() {
					if ours {
						_, err := rlpx.NewConn(lfd, nil, &rlpx.Config{HandshakeTimeout: 2 * time.Second}).Handshake(key.ours)
						errc <- err
					} else {
						c := gethrlpx.NewConn(lfd, nil)
						c.SetDeadline(time.Now().Add(2 * time.Second))
						_, err := c.Handshake(key.theirs)
						errc <- err
					}
				}()
				dfd.Write(in)
				dfd.(*net.TCPConn).CloseWrite()
				select {
				case err := <-errc:
					if err == nil {
						t.Fatal("listener accepted garbage")
					}
					t.Logf("rejected: %v", err)
				case <-time.After(10 * time.Second):
					t.Fatal("listener hangs")
				}
			})
		}
	}
}

// TestGethRLPxHandshake repeats the handshake in both roles (random nonces,
// ephemeral keys and EIP-8 padding each time) and exchanges one message each
// way over every session.
func TestGethRLPxHandshake(t *testing.T) {
	for _, kind := range transports {
		for _, ourInit := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/ours=%s", kind, role(ourInit)), func(t *testing.T) {
				for i := range 25 {
					s := handshake(t, kind, ourInit)
					msg := []message{{uint64(i), []byte(fmt.Sprintf("hello %d", i))}}
					exchange(t, s, msg, msg)
					s.close()
				}
			})
		}
	}
}
