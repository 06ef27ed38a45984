package p2p

import (
	"net"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/nodedb"
	"github.com/devp2p-go/devp2p/p2p/internal/dialsched"
)

// setupDialScheduler creates the dial scheduler (p2p/internal/dialsched)
// and adds the static nodes. It always exists, so the run loop can report
// peers to it; with NoDial its outbound target is zero and it dials nothing.
// The policy (policy.go) gives it reputation as the candidates' score,
// the bans, the subnets for outbound diversity and the anchors to dial
// first.
func (srv *Server) setupDialScheduler() {
	pol := srv.pol.cfg
	limits := srv.cfg.Limits
	cfg := dialsched.Config{
		Self:              srv.localnode.ID(),
		MaxDialPeers:      srv.limits.maxOutbound,
		MaxActiveDials:    srv.cfg.maxActiveDials,
		NetRestrict:       srv.cfg.NetRestrict,
		Resolver:          srv.dialResolver(),
		Dialer:            srv.cfg.dialer,
		Bootnodes:         srv.cfg.BootstrapNodes,
		Classify:          classifyError,
		Log:               srv.log,
		Clock:             srv.cfg.clock,
		Score:             srv.dialScore,
		MinScore:          pol.DialThreshold,
		Banned:            srv.dialBanned,
		Subnet:            limits.subnet,
		MaxDialsPerSubnet: limits.MaxOutboundPerSubnet,
		TrustedOnly:       limits.TrustedOnly,
		Trusted:           srv.dialTrusted,
		Priority:          srv.pol.anchors,
		PriorityWait:      pol.AnchorWait,
		ConnectFailed:     srv.connectFailed,
	}
	if cfg.Dialer == nil && srv.listener != nil {
		// A listener bound to one address: dials leave from it too, so
		// that the remote sees the address we listen on (and its per-IP
		// limits count us once).
		if ip := addrPort(srv.listener.Addr()).Addr().Unmap(); ip.IsValid() && !ip.IsUnspecified() {
			cfg.Dialer = dialsched.TCPDialer{NetRestrict: srv.cfg.NetRestrict, LocalIP: ip}
		}
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

// anchorNodes returns the anchors of earlier runs that may be dialed, at
// most the outbound target.
func (srv *Server) anchorNodes() []*enode.Node {
	if srv.limits.maxOutbound == 0 || srv.pol.cfg.MaxAnchors == 0 {
		return nil
	}
	var out []*enode.Node
	for _, r := range srv.nodedb.BestOutboundPeers(srv.pol.cfg.MaxAnchors) {
		if r.Anchor && usableAnchor(r) && !srv.dialBanned(r.Node) {
			out = append(out, r.Node)
		}
	}
	if len(out) > 0 {
		srv.log.Debug("Dialing anchors first", "count", len(out))
	}
	return out[:min(len(out), srv.limits.maxOutbound)]
}

func usableAnchor(r *nodedb.PeerRecord) bool {
	return r.Node != nil && r.Node.TCP() != 0 && r.Node.IPAddr().IsValid()
}

// setupDialed is the scheduler's SetupFunc.
func (srv *Server) setupDialed(fd net.Conn, dest *enode.Node, static bool) error {
	flags := dynDialedConn
	if static {
		flags = staticDialedConn
	}
	err := srv.setupConn(fd, flags, dest)
	srv.dialFailed(dest, static, err)
	if srv.cfg.dialDone != nil {
		srv.cfg.dialDone(dest, err)
	}
	return err
}
