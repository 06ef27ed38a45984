package p2p

import (
	"errors"
	"net"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/p2p/internal/dialsched"
)

// setupDialScheduler creates the dial scheduler (p2p/internal/dialsched)
// and adds the static nodes. It always exists, so the run loop can report
// peers to it; with NoDial its outbound target is zero and it dials nothing.
func (srv *Server) setupDialScheduler() {
	cfg := dialsched.Config{
		Self:           srv.localnode.ID(),
		MaxDialPeers:   srv.limits.maxOutbound,
		MaxActiveDials: srv.cfg.maxActiveDials,
		NetRestrict:    srv.cfg.NetRestrict,
		Resolver:       srv.dialResolver(),
		Dialer:         srv.cfg.dialer,
		Bootnodes:      srv.cfg.BootstrapNodes,
		Classify:       classifyError,
		Log:            srv.log,
		Clock:          srv.cfg.clock,
	}
	it := srv.cfg.nodeSource
	if it == nil {
		it = enode.IterNodes(nil)
	}
	srv.dialsched = dialsched.New(cfg, it, srv.setupDialed)
	for _, n := range srv.cfg.StaticNodes {
		srv.dialsched.AddStatic(n)
	}
}

// setupDialed is the scheduler's SetupFunc.
func (srv *Server) setupDialed(fd net.Conn, dest *enode.Node, static bool) error {
	flags := dynDialedConn
	if static {
		flags = staticDialedConn
	}
	err := srv.setupConn(fd, flags, dest)
	srv.setupEnded(err)
	if srv.cfg.dialDone != nil {
		srv.cfg.dialDone(dest, err)
	}
	return err
}

// classifyError maps the error that ended a dial, a setup or a peer to the
// scheduler's failure classes, which choose the backoff.
func classifyError(err error) dialsched.FailureClass {
	var d DiscReason
	switch {
	case err == nil, errors.Is(err, ErrServerStopped):
		return dialsched.ClassNone
	case errors.Is(err, errEncHandshake):
		if isNetError(err) {
			// Closed or reset during the handshake: most likely a full
			// node that refuses without cryptography, or a dead one.
			return dialsched.ClassConnect
		}
		return dialsched.ClassHandshake
	case errors.As(err, &d):
		switch d {
		case DiscTooManyPeers, DiscAlreadyConnected:
			return dialsched.ClassBusy
		case DiscUselessPeer, DiscProtocolError, DiscIncompatibleVersion, DiscSubprotocolError:
			return dialsched.ClassProtocol
		case DiscInvalidIdentity, DiscUnexpectedIdentity:
			return dialsched.ClassHandshake
		case DiscSelf:
			return dialsched.ClassSelf
		case DiscNetworkError, DiscReadTimeout:
			return dialsched.ClassConnect
		default: // requested, quitting, unknown codes
			return dialsched.ClassNone
		}
	}
	return dialsched.DefaultClassify(err)
}

// isNetError reports whether err comes from the network rather than from
// the bytes received.
func isNetError(err error) bool {
	return dialsched.DefaultClassify(err) == dialsched.ClassConnect
}
