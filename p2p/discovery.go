package p2p

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"syscall"
	"time"

	"github.com/devp2p-go/devp2p/discover"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/netutil"
	"github.com/devp2p-go/devp2p/nodedb"
	"github.com/devp2p-go/devp2p/p2p/internal/dialsched"
)

// How the server runs discovery and the node database; see Start and
// docs/p2p-design.md ("Discovery and the node DB").

// maxPortAttempts bounds the attempts to find a port that is free for both
// TCP and UDP when ListenAddr asks for any port (port 0).
const maxPortAttempts = 8

// setupLocalNode opens the node database (or takes Config.NodeDB) and makes
// the local node, continuing the sequence number stored for our key.
func (srv *Server) setupLocalNode() error {
	db := srv.cfg.NodeDB
	srv.ownDB = false
	if db == nil {
		var err error
		if db, err = nodedb.Open(srv.cfg.NodeDatabase); err != nil {
			return fmt.Errorf("p2p: node database: %w", err)
		}
		srv.ownDB = true
	}
	srv.nodedb = db
	key := srv.cfg.PrivateKey
	id := enode.PubkeyToIDV4(key.Public())
	seq := db.LocalSeq(id)
	if seq == 0 {
		// A new key (or an in-memory database): go-ethereum starts from the
		// time, so that a record signed later is newer than any earlier one.
		seq = uint64(time.Now().UnixMilli())
	}
	ln := enode.NewLocalNode(key, seq)
	log := srv.log
	ln.SetSeqListener(func(seq uint64) {
		if err := db.StoreLocalSeq(id, seq); err != nil {
			log.Warn("Can't store the sequence number of the node record", "seq", seq, "err", err)
		}
	})
	ln.SetFallbackIP(netip.AddrFrom4([4]byte{127, 0, 0, 1}))
	srv.localnode = ln
	return nil
}

// discoveryOn reports whether the server runs discovery.
func (srv *Server) discoveryOn() bool {
	return !srv.cfg.NoDiscovery && srv.cfg.listenUDP != nil
}

// listenUDP is the default Config.listenUDP.
func listenUDP(addr string) (discover.UDPConn, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	return net.ListenUDP("udp", ua)
}

// listenTCPAndUDP opens the TCP listener and, when discovery shares its
// port, the UDP socket on the same IP and port. With port 0 in ListenAddr,
// a port whose UDP side is taken is given up and another one tried.
func (srv *Server) listenTCPAndUDP() error {
	shareUDP := srv.discoveryOn() && srv.cfg.DiscAddr == ""
	host, port, _ := net.SplitHostPort(srv.cfg.ListenAddr)
	anyPort := port == "0"
	for attempt := 1; ; attempt++ {
		l, err := srv.cfg.listenFunc("tcp", srv.cfg.ListenAddr)
		if err != nil {
			return err
		}
		if !shareUDP {
			srv.listener = l
			return nil
		}
		tcpPort := listenerPort(l)
		conn, err := srv.cfg.listenUDP(net.JoinHostPort(host, fmt.Sprint(tcpPort)))
		if err != nil {
			l.Close()
			if anyPort && errors.Is(err, syscall.EADDRINUSE) && attempt < maxPortAttempts {
				continue
			}
			return fmt.Errorf("p2p: discovery can't listen on UDP port %d, the TCP listening port (set DiscAddr to use another, or NoDiscovery): %w", tcpPort, err)
		}
		srv.listener, srv.udpConn = l, conn
		return nil
	}
}

// listenerPort returns the port a listener is bound to.
func listenerPort(l net.Listener) uint16 {
	if ap := addrPort(l.Addr()); ap.IsValid() {
		return ap.Port()
	}
	if ap, err := netip.ParseAddrPort(l.Addr().String()); err == nil {
		return ap.Port()
	}
	return 0
}

// setupDiscovery starts discovery v4 on the UDP socket (opening it first
// unless it shares the TCP port) with the bootnodes and the node database.
func (srv *Server) setupDiscovery() error {
	if !srv.discoveryOn() {
		return nil
	}
	if srv.udpConn == nil {
		addr := srv.cfg.DiscAddr
		if addr == "" {
			addr = ":0" // no TCP listener: any port
		}
		conn, err := srv.cfg.listenUDP(addr)
		if err != nil {
			return fmt.Errorf("p2p: discovery can't listen on UDP %s: %w", addr, err)
		}
		srv.udpConn = conn
	}
	if ap := netutil.AddrPortFromNetAddr(srv.udpConn.LocalAddr()); ap.IsValid() {
		srv.localnode.SetFallbackUDP(int(ap.Port()))
		if ip := ap.Addr().Unmap(); srv.listener == nil && !ip.IsUnspecified() {
			srv.localnode.SetFallbackIP(ip)
		}
	}
	disc, err := discover.ListenV4(srv.udpConn, srv.localnode, discover.Config{
		PrivateKey:      srv.cfg.PrivateKey,
		NetRestrict:     srv.cfg.NetRestrict,
		IPLimitExempt:   srv.cfg.Limits.SubnetExempt, // the table's subnet limits exempt what the peer caps do
		Bootnodes:       srv.cfg.BootstrapNodes,
		DB:              srv.nodedb,
		PingInterval:    srv.cfg.discPingInterval,
		RefreshInterval: srv.cfg.discRefreshInterval,
		Log:             srv.log,
		Clock:           srv.cfg.clock,
	})
	if err != nil {
		return err // ListenV4 did not take the socket; closeResources closes it
	}
	srv.discv4 = disc
	return nil
}

// dialCandidates makes the dynamic dial candidates of the scheduler: the
// best outbound peers of earlier runs first (except the anchors, which the
// scheduler dials before any candidate), each once, then discovery's
// random walk mixed with the test hook's source. It returns nil if there
// is none.
func (srv *Server) dialCandidates() enode.Iterator {
	var sources []enode.Iterator
	if srv.discv4 != nil {
		sources = append(sources, srv.discv4.RandomNodes())
	}
	if srv.cfg.nodeSource != nil {
		sources = append(sources, srv.cfg.nodeSource)
	}
	var rest enode.Iterator
	switch len(sources) {
	case 0:
	case 1:
		rest = sources[0]
	default:
		mix := enode.NewFairMix(0)
		for _, it := range sources {
			mix.AddSource(it)
		}
		rest = mix
	}
	// The anchors are the scheduler's priority dials; the other best
	// outbound peers of earlier runs come first here.
	first := restartPeers(srv.nodedb, restartPeersFactor*srv.limits.maxOutbound)
	first = slices.DeleteFunc(first, func(n *enode.Node) bool {
		return slices.ContainsFunc(srv.pol.anchors, func(a *enode.Node) bool { return a.ID() == n.ID() })
	})
	if len(first) == 0 {
		return rest
	}
	srv.log.Debug("Dialing peers of earlier runs first", "count", len(first))
	return &prefixIter{first: first, rest: rest}
}

// dialResolver is the scheduler's Resolver: discovery, when it runs.
func (srv *Server) dialResolver() dialsched.Resolver {
	if srv.discv4 == nil {
		return nil
	}
	return srv.discv4
}

// closeResources closes what Start opened: discovery (or its socket), the
// listener if the listen loop does not own it yet, and the node database
// if the server opened it. It runs after the goroutines that use them have
// ended.
func (srv *Server) closeResources() {
	if srv.discv4 != nil {
		srv.discv4.Close() // closes udpConn
	} else if srv.udpConn != nil {
		srv.udpConn.Close()
	}
	if srv.store != nil {
		srv.store.close()
	}
	if srv.nodedb != nil && srv.ownDB {
		if err := srv.nodedb.Close(); err != nil {
			srv.log.Warn("Closing the node database failed", "err", err)
		}
	}
}

// DiscoveryV4 returns the running discovery listener (its table, stats and
// lookups, for diagnostics), or nil when discovery is off or the server is
// not running.
func (srv *Server) DiscoveryV4() *discover.UDPv4 {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if !srv.running {
		return nil
	}
	return srv.discv4
}

// DB returns the node database (with the peer store) while the server runs,
// or nil. (A method named NodeDB would hide Config.NodeDB.)
func (srv *Server) DB() *nodedb.DB {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if !srv.running {
		return nil
	}
	return srv.nodedb
}
