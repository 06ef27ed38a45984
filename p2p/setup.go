package p2p

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/rlpx"
)

// Setup errors.
var (
	// ErrServerStopped is returned by a setup that runs into Stop.
	ErrServerStopped = errors.New("p2p: server stopped")
	// errEncHandshake wraps a failed RLPx encryption handshake.
	errEncHandshake = errors.New("rlpx handshake failed")
	errNoPubkey     = errors.New("dial target has no public key")
)

// setupConn runs the handshakes of a new connection and, if it passes both
// checkpoints, adds the peer. dest is the dialed node (nil for inbound
// connections). It returns nil once the peer runs, or the error that ended
// the attempt; in that case the connection is closed, after a Disconnect
// telling the remote why when it makes sense.
func (srv *Server) setupConn(fd net.Conn, flags connFlag, dest *enode.Node) error {
	c := &conn{fd: newMeteredConn(fd), flags: flags, cont: make(chan error)}
	if !srv.trackSetup(c.fd) {
		fd.Close()
		return ErrServerStopped
	}
	err := srv.runSetup(c, dest)
	// From here on Stop must not close the connection: a Disconnect that
	// closeSetup sends must not be cut off, and closeSetup bounds its own
	// time.
	srv.untrackSetup(c.fd)
	if err != nil {
		srv.closeSetup(c, err)
		srv.inboundSetupFailed(c, err)
		srv.log.Log(srv.ctx, setupLogLevel(err), "Connection setup failed",
			"id", c.id, "addr", fd.RemoteAddr(), "conn", c.flags, "err", err)
	}
	return err
}

func (srv *Server) runSetup(c *conn, dest *enode.Node) error {
	c.fd.SetDeadline(time.Now().Add(srv.cfg.handshakeTO))
	var remote *crypto.PublicKey
	if dest != nil {
		if remote = dest.Pubkey(); remote == nil {
			return errNoPubkey
		}
	}
	c.rc = rlpx.NewConn(c.fd, remote, &rlpx.Config{
		HandshakeTimeout: -1, // c.fd has the deadline of the whole setup
		MaxMessageSize:   srv.cfg.MaxMessageSize,
		AuthFilter:       srv.setupAuthFilter(c),
	})
	pub, err := c.rc.Handshake(srv.cfg.PrivateKey)
	if err != nil {
		c.rc = nil // nothing can be sent
		return fmt.Errorf("%w: %w", errEncHandshake, err)
	}
	c.id = enode.PubkeyToIDV4(pub)
	c.node = dest // nil for inbound connections: the peer makes it if asked

	if err := srv.checkpoint(c, srv.postHandshakeCh); err != nil {
		return err
	}
	if c.flags.is(inboundConn) {
		// The run loop told the scheduler at checkpoint 1.
		defer srv.dialsched.InboundCompleted(c.id)
	}
	if c.flags.is(inboundConn) {
		// Waiting for the remote again: the setup gives way to a new
		// one when the handshake slots run out (see slots.go).
		srv.pendingSlots.awaitHello(c.fd.Conn)
		defer srv.pendingSlots.helloDone(c.fd.Conn)
	}
	c.hello, err = srv.exchangeHello(c, pub)
	if err != nil {
		return err
	}
	c.rc.SetReadTimeout(srv.cfg.readTO)
	c.rc.SetWriteTimeout(srv.cfg.writeTO)
	c.fd.SetDeadline(time.Time{})
	// From checkpoint 2 on the connection is the peer's, if it passes: Stop
	// must not close it under the peer, which sends Disconnect(DiscQuitting)
	// itself. Checkpoint 2 does no I/O and watches quit, so nothing needs
	// Stop to close the connection to end it.
	srv.untrackSetup(c.fd)
	return srv.checkpoint(c, srv.addPeerCh)
}

// checkpoint hands c to the run loop and waits for its decision.
func (srv *Server) checkpoint(c *conn, ch chan<- *conn) error {
	select {
	case ch <- c:
	case <-srv.quit:
		return ErrServerStopped
	}
	return <-c.cont
}

// exchangeHello sends our Hello while reading theirs, and switches snappy on
// if they speak version 5 or later.
func (srv *Server) exchangeHello(c *conn, pub *crypto.PublicKey) (*hello, error) {
	werr := make(chan error, 1)
	go func() {
		_, err := c.rc.WriteMsg(helloMsg, srv.helloPayload)
		werr <- err
	}()
	// A larger Hello is refused from its frame header, before any of it
	// is buffered; the configured limit applies from the next message on.
	c.rc.SetMaxMessageSize(maxHelloSize)
	their, err := readHello(c.rc, pub, srv.cfg.Protocols)
	c.rc.SetMaxMessageSize(srv.cfg.MaxMessageSize)
	if err != nil {
		<-werr // the write ends by the setup deadline at the latest
		return nil, err
	}
	if err := <-werr; err != nil {
		return nil, &PeerError{Reason: DiscNetworkError, Msg: "writing Hello", Err: err}
	}
	c.rc.SetSnappy(their.Version >= snappyVersion)
	return their, nil
}

// msgReader is the part of rlpx.Conn readHello uses.
type msgReader interface {
	ReadMsg() (code uint64, data []byte, wireSize int, err error)
}

// readHello reads the remote's Hello and checks its identity against the
// key the remote proved in the encryption handshake. A Disconnect instead of
// Hello is returned as the bare DiscReason the remote sent.
func readHello(rc msgReader, pub *crypto.PublicKey, protos []Protocol) (*hello, error) {
	code, data, _, err := rc.ReadMsg()
	if err != nil {
		return nil, readError(err)
	}
	if len(data) > maxHelloSize {
		return nil, newPeerError(DiscProtocolError, "message %#x of %d bytes before Hello", code, len(data))
	}
	switch code {
	case helloMsg:
	case discMsg:
		return nil, decodeDisconnect(data)
	default:
		return nil, newPeerError(DiscProtocolError, "expected Hello, got message %#x", code)
	}
	h := new(hello)
	if err := decodeHello(data, h, protos); err != nil {
		return nil, &PeerError{Reason: DiscProtocolError, Msg: "invalid Hello", Err: err}
	}
	if len(h.ID) != pubkeyLength || isZero(h.ID) {
		return nil, newPeerError(DiscInvalidIdentity, "Hello ID of %d bytes", len(h.ID))
	}
	if !bytes.Equal(h.ID, pub[:]) {
		return nil, newPeerError(DiscUnexpectedIdentity, "Hello ID differs from the handshake key")
	}
	return h, nil
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// closeSetup ends a failed setup: a local decision is sent to the remote as
// Disconnect (if the encryption handshake is done and the reason is not a
// network error), then the connection is closed, gracefully after a
// Disconnect (meteredConn.closeGracefully). It takes at most
// discWriteTimeout plus lingerTimeout.
func (srv *Server) closeSetup(c *conn, err error) {
	var pe *PeerError
	if c.rc != nil && errors.As(err, &pe) && pe.Reason != DiscNetworkError {
		// The setup goroutine is the only reader and writer here.
		c.fd.SetWriteDeadline(time.Time{})
		c.rc.SetWriteTimeout(discWriteTimeout)
		if _, err := c.rc.WriteMsg(discMsg, appendDisconnect(nil, pe.Reason)); err == nil {
			c.fd.closeGracefully()
			return
		}
	}
	c.fd.Close()
}

// setupLogLevel logs ordinary refusals at trace level and the rest at debug.
func setupLogLevel(err error) slog.Level {
	var d DiscReason
	if errors.As(err, &d) && (d == DiscTooManyPeers || d == DiscAlreadyConnected) {
		return LevelTrace
	}
	return slog.LevelDebug
}
