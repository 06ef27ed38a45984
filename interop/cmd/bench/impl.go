package main

import (
	"crypto/ecdsa"
	"fmt"
	"net"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/rlpx"
	gethcrypto "github.com/ethereum/go-ethereum/crypto"
	gethrlpx "github.com/ethereum/go-ethereum/p2p/rlpx"
)

// impl is one RLPx implementation under test: ours or go-ethereum's.
type impl interface {
	name() string
	// newPair wraps the two ends of a connection; the dialer knows the
	// listener's static key. Neither has done the handshake yet.
	newPair(dialFD, listenFD net.Conn) (dialer, listener conn)
}

// conn is the part of a connection the measurements use.
type conn interface {
	handshake() error
	write(code uint64, data []byte) error
	// buffer queues a message for flush; without batching support it writes.
	buffer(code uint64, data []byte) error
	flush() error
	read() (code uint64, data []byte, err error)
	setSnappy(on bool)
	close()
}

// keys are the two static node keys, in both libraries' types.
type keys struct {
	ours   [2]*crypto.PrivateKey
	theirs [2]*ecdsa.PrivateKey
}

func newKeys() keys {
	var k keys
	for i := range 2 {
		g, err := gethcrypto.GenerateKey()
		if err != nil {
			panic(err)
		}
		o, err := crypto.PrivateKeyFromBytes(gethcrypto.FromECDSA(g))
		if err != nil {
			panic(err)
		}
		k.ours[i], k.theirs[i] = o, g
	}
	return k
}

// ---- ours ----

type ourImpl struct{ k keys }

func (ourImpl) name() string { return "ours" }

func (o ourImpl) newPair(dfd, lfd net.Conn) (conn, conn) {
	cfg := &rlpx.Config{HandshakeTimeout: -1}
	d := &ourConn{c: rlpx.NewConn(dfd, o.k.ours[1].Public(), cfg), key: o.k.ours[0]}
	l := &ourConn{c: rlpx.NewConn(lfd, nil, cfg), key: o.k.ours[1]}
	return d, l
}

type ourConn struct {
	c   *rlpx.Conn
	key *crypto.PrivateKey
}

func (c *ourConn) handshake() error {
	_, err := c.c.Handshake(c.key)
	return err
}

func (c *ourConn) write(code uint64, data []byte) error {
	_, err := c.c.WriteMsg(code, data)
	return err
}

func (c *ourConn) buffer(code uint64, data []byte) error {
	_, err := c.c.BufferMsg(code, data)
	return err
}

func (c *ourConn) flush() error { return c.c.Flush() }

func (c *ourConn) read() (uint64, []byte, error) {
	code, data, _, err := c.c.ReadMsg()
	return code, data, err
}

func (c *ourConn) setSnappy(on bool) { c.c.SetSnappy(on) }
func (c *ourConn) close()            { c.c.Close() }

// ---- go-ethereum ----

type gethImpl struct{ k keys }

func (gethImpl) name() string { return "go-ethereum" }

func (g gethImpl) newPair(dfd, lfd net.Conn) (conn, conn) {
	d := &gethConn{c: gethrlpx.NewConn(dfd, &g.k.theirs[1].PublicKey), key: g.k.theirs[0]}
	l := &gethConn{c: gethrlpx.NewConn(lfd, nil), key: g.k.theirs[1]}
	return d, l
}

type gethConn struct {
	c   *gethrlpx.Conn
	key *ecdsa.PrivateKey
}

func (c *gethConn) handshake() error {
	_, err := c.c.Handshake(c.key)
	return err
}

func (c *gethConn) write(code uint64, data []byte) error {
	_, err := c.c.Write(code, data)
	return err
}

func (c *gethConn) buffer(code uint64, data []byte) error { return c.write(code, data) }
func (c *gethConn) flush() error                          { return nil }

func (c *gethConn) read() (uint64, []byte, error) {
	code, data, _, err := c.c.Read()
	return code, data, err
}

func (c *gethConn) setSnappy(on bool) { c.c.SetSnappy(on) }
func (c *gethConn) close()            { c.c.Close() }

// ---- connections ----

// loopback returns the two ends of a fresh TCP connection on 127.0.0.1.
type loopback struct{ l net.Listener }

func newLoopback() *loopback {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	return &loopback{l}
}

func (lb *loopback) pair() (dialer, listener net.Conn, err error) {
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := lb.l.Accept()
		ch <- res{c, err}
	}()
	d, err := net.Dial("tcp", lb.l.Addr().String())
	if err != nil {
		return nil, nil, err
	}
	a := <-ch
	if a.err != nil {
		d.Close()
		return nil, nil, a.err
	}
	return d, a.c, nil
}

func (lb *loopback) close() { lb.l.Close() }

// handshakeBoth runs both handshakes, the listener's on a new goroutine.
func handshakeBoth(d, l conn) error {
	errc := make(chan error, 1)
	go func() { errc <- l.handshake() }()
	derr := d.handshake()
	lerr := <-errc
	if derr != nil || lerr != nil {
		return fmt.Errorf("handshake: dialer: %v, listener: %v", derr, lerr)
	}
	return nil
}

// connected returns a handshaken pair over loopback TCP.
func connected(im impl, lb *loopback) (dialer, listener conn, err error) {
	dfd, lfd, err := lb.pair()
	if err != nil {
		return nil, nil, err
	}
	d, l := im.newPair(dfd, lfd)
	if err := handshakeBoth(d, l); err != nil {
		d.close()
		l.close()
		return nil, nil, err
	}
	return d, l, nil
}
