package rlpxtest

import (
	"crypto/ecdsa"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/rlpx"
	gethcrypto "github.com/ethereum/go-ethereum/crypto"
	gethrlpx "github.com/ethereum/go-ethereum/p2p/rlpx"
)

// keyPair holds one secp256k1 key in both libraries' types.
type keyPair struct {
	ours   *crypto.PrivateKey
	theirs *ecdsa.PrivateKey
}

func newKey(t testing.TB) keyPair {
	t.Helper()
	k, err := gethcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	o, err := crypto.PrivateKeyFromBytes(gethcrypto.FromECDSA(k))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := o.Public().Uncompressed(), gethcrypto.FromECDSAPub(&k.PublicKey); string(got[:]) != string(want) {
		t.Fatalf("public keys differ: ours %x, geth %x", got, want)
	}
	return keyPair{o, k}
}

func (k keyPair) ourPub() *crypto.PublicKey { return k.ours.Public() }
func (k keyPair) gethPub() *ecdsa.PublicKey { return &k.theirs.PublicKey }

// transports are the two kinds of connection every test runs over.
var transports = []string{"tcp", "pipe"}

// connPair returns two connected net.Conns: the dialer's end and the
// listener's end.
func connPair(t testing.TB, kind string) (dialer, listener net.Conn) {
	t.Helper()
	switch kind {
	case "pipe":
		return net.Pipe()
	case "tcp":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		accepted := make(chan net.Conn, 1)
		go func() {
			c, _ := l.Accept()
			accepted <- c
		}()
		d, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		a := <-accepted
		if a == nil {
			d.Close()
			t.Fatal("accept failed")
		}
		return d, a
	}
	panic("unknown transport " + kind)
}

// session is an established pair: our Conn and go-ethereum's.
type session struct {
	ours   *rlpx.Conn
	theirs *gethrlpx.Conn
}

func (s *session) close() {
	s.ours.Close()
	s.theirs.Close()
}

// handshake connects our side and go-ethereum's over kind, with ours dialing
// when ourInit is set, runs both handshakes concurrently and checks that
// each side learned the other's key.
func handshake(t testing.TB, kind string, ourInit bool) *session {
	t.Helper()
	ourKey, gethKey := newKey(t), newKey(t)
	dfd, lfd := connPair(t, kind)
	var s session
	if ourInit {
		s.ours = rlpx.NewConn(dfd, gethKey.ourPub(), nil)
		s.theirs = gethrlpx.NewConn(lfd, nil)
	} else {
		s.theirs = gethrlpx.NewConn(dfd, ourKey.gethPub())
		s.ours = rlpx.NewConn(lfd, nil, nil)
	}
	type result struct {
		ourRemote  *crypto.PublicKey
		gethRemote *ecdsa.PublicKey
		err        error
	}
	ours, theirs := make(chan result, 1), make(chan result, 1)
	// go-ethereum's Conn has no handshake deadline of its own; p2p sets one.
	s.theirs.SetDeadline(time.Now().Add(20 * time.Second))
	go func() {
		pub, err := s.ours.Handshake(ourKey.ours)
		ours <- result{ourRemote: pub, err: err}
	}()
	go func() {
		pub, err := s.theirs.Handshake(gethKey.theirs)
		theirs <- result{gethRemote: pub, err: err}
	}()
	o, g := <-ours, <-theirs
	s.theirs.SetDeadline(time.Time{})
	if o.err != nil || g.err != nil {
		s.close()
		t.Fatalf("handshake failed: ours: %v, go-ethereum: %v", o.err, g.err)
	}
	if *o.ourRemote != *gethKey.ourPub() {
		t.Fatalf("our side sees remote %x, want %x", o.ourRemote[:], gethKey.ourPub()[:])
	}
	if !g.gethRemote.Equal(ourKey.gethPub()) {
		t.Fatalf("go-ethereum sees remote %x, want %x", gethcrypto.FromECDSAPub(g.gethRemote), gethcrypto.FromECDSAPub(ourKey.gethPub()))
	}
	return &s
}

// wait returns the first error of n goroutines reporting on errc, or fails
// after timeout, closing the session so that blocked goroutines return.
func wait(t testing.TB, s *session, errc <-chan error, n int, timeout time.Duration) {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var errs []error
	for range n {
		select {
		case err := <-errc:
			if err != nil {
				if len(errs) == 0 {
					s.close() // unblock the others
				}
				errs = append(errs, err)
			}
		case <-timer.C:
			s.close()
			t.Fatalf("timed out after %v", timeout)
		}
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}
