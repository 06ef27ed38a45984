package p2p

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/discover"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/internal/mclock"
	"github.com/devp2p-go/devp2p/netutil"
	"github.com/devp2p-go/devp2p/nodedb"
	"github.com/devp2p-go/devp2p/p2p/internal/dialsched"
	"github.com/devp2p-go/devp2p/rlpx"
)

// Defaults and fixed timings. The values are go-ethereum's unless said
// otherwise.
const (
	defaultMaxPendingPeers = 50
	defaultDialRatio       = 3

	// handshakeTimeout bounds everything before the peer is added: the
	// encryption handshake, the first checkpoint and the Hello exchange
	// (go-ethereum: 5 s for the encryption handshake, then 30 s for Hello).
	handshakeTimeout = 5 * time.Second
	// inboundThrottleTime is how long a non-LAN IP cannot connect again
	// after an accepted connection.
	inboundThrottleTime = 30 * time.Second
	pingInterval        = 15 * time.Second
	// readTimeout is the read idle limit of a peer: with pings every 15 s,
	// a live peer always sends something within it.
	readTimeout  = 30 * time.Second
	writeTimeout = 20 * time.Second
	// discWriteTimeout bounds the write of the final Disconnect.
	discWriteTimeout = 1 * time.Second
	// protoQueueBudget is the number of payload bytes a protocol may have
	// received but not yet read before the peer's read loop waits for it.
	// One message is always accepted into an empty queue.
	protoQueueBudget = 1 << 20

	// nodeDBMaintainInterval is how often the node database's upkeep
	// (nodedb.DB.Maintain: committing old buffered writes, the hourly
	// expiry) runs.
	nodeDBMaintainInterval = 3 * time.Second
	// restartPeersFactor times the outbound cap is the number of peers of
	// earlier runs dialed first after a restart.
	restartPeersFactor = 2
)

// DefaultName is the client name announced in Hello when Config.Name is empty.
const DefaultName = "devp2p-go"

// Config holds the settings of a Server.
type Config struct {
	// PrivateKey is the node's identity key. It is required.
	PrivateKey *crypto.PrivateKey

	// Name is the client name announced in Hello (go-ethereum calls it the
	// client ID). Empty means DefaultName.
	Name string

	// ListenAddr is the TCP address to accept connections on, e.g.
	// ":30303". A port of 0 picks a free port; NodeInfo reports the bound
	// address. Empty means no listener: the server only dials. With a
	// specific IP (not ":port"), dials leave from that IP too where it can
	// reach the remote (same family; loopback only to loopback).
	ListenAddr string

	// MaxPeers is the most connected peers, trusted ones not counted.
	// Zero means no peers except trusted ones.
	MaxPeers int

	// DialRatio sets the share of MaxPeers that is dialed: the outbound cap
	// is MaxPeers/DialRatio, at least 1 unless NoDial or MaxPeers is zero,
	// and the inbound cap is the rest. Zero means 3, as in go-ethereum.
	DialRatio int

	// MaxInbound and MaxOutbound, when positive, replace the caps derived
	// from DialRatio. Both are capped by MaxPeers. Zero means derived.
	MaxInbound  int
	MaxOutbound int

	// Limits holds the caps per IP and per subnet and the trusted-only
	// mode; see Limits. The zero value gives the defaults.
	Limits Limits

	// Policy holds the settings of the peer policy: reputation, automatic
	// bans and anchors; see Policy and docs/peer-policy.md. The zero
	// value gives the defaults.
	Policy Policy

	// MaxPendingPeers is the number of connections that may be in their
	// handshakes at once, inbound; the dial scheduler gets its own bound on
	// dials in flight. Zero means 50.
	MaxPendingPeers int

	// MaxMessageSize caps the payload of a received message after
	// decompression. Zero means the RLPx limit of 16 MiB − 1; values below
	// 2048, the Hello limit, are raised to it.
	MaxMessageSize int

	// Protocols are the sub-protocols the server runs with its peers. A
	// peer that shares none of them is refused with DiscUselessPeer, unless
	// the list is empty.
	Protocols []Protocol

	// StaticNodes are dialed and kept connected (as long as NoDial is not
	// set), whether or not the outbound target is reached: they are exempt
	// from the outbound cap but count toward MaxPeers, and each connected
	// static peer leaves one fewer slot for dynamic dials.
	StaticNodes []*enode.Node

	// TrustedNodes may connect beyond MaxPeers, the inbound and outbound
	// caps and the per-subnet caps of Limits, and are never evicted. Trust
	// is by node ID; if a trusted node has an IP, connections from that IP
	// also skip the slot and per-subnet checks made before the encryption
	// handshake (not MaxPendingPerIP). Bans apply to trusted nodes too.
	TrustedNodes []*enode.Node

	// BootstrapNodes seed discovery: a node that knows nothing else finds
	// the network through them. Each needs an IP address (or a DNS name)
	// and a UDP port. Those with a TCP port are also dialed, one at a time
	// in rotation, while the server has had no peer for a while.
	BootstrapNodes []*enode.Node

	// NoDiscovery disables discovery: no UDP socket is opened and dynamic
	// dial candidates come only from the peer store (the best outbound
	// peers of earlier runs, see NodeDatabase). Static nodes are still
	// dialed, but a static node whose address changed is not looked up.
	// The zero value runs discovery v4, as go-ethereum's node does.
	NoDiscovery bool

	// DiscAddr is the UDP address discovery listens on. Empty means the
	// address of the TCP listener: the same IP and port, with port 0 in
	// ListenAddr the port the system chose for TCP (if that UDP port is
	// taken, another port is chosen for both). Without ListenAddr, empty
	// means a free UDP port on all interfaces.
	DiscAddr string

	// NodeDatabase is the path of the node database file (go.etcd.io/bbolt,
	// created if missing; its directory must exist). It keeps what
	// discovery learned about other nodes, the sequence number of our node
	// record and the peer store: the peers we were connected to, how long
	// and how it ended, from which the best outbound peers are dialed first
	// after a restart. Empty means an in-memory database, forgotten at
	// Stop. go-ethereum's datadir keeps it in <datadir>/geth/nodes.
	NodeDatabase string

	// NodeDB, if not nil, is used instead of opening NodeDatabase, so
	// that the caller can read the peer store while the server runs. The
	// server does not close it. It must not be shared with another
	// running server.
	NodeDB *nodedb.DB

	// NetRestrict, if non-nil, allows connections (both ways) only with
	// IPs inside it.
	NetRestrict *netutil.Netlist

	// NoDial disables all dialing, static nodes included.
	NoDial bool

	// EnableMsgEvents makes the server emit a PeerEvent for every protocol
	// message sent and received.
	EnableMsgEvents bool

	// Logger receives the server's logs. Nil means slog.Default().
	Logger *slog.Logger

	// Test hooks, set only from tests of this package.
	clock           mclock.Clock                                     // nil: mclock.System{}
	dialer          dialsched.NodeDialer                             // nil: the scheduler's TCP dialer
	listenFunc      func(network, addr string) (net.Listener, error) // nil: net.Listen
	nodeSource      enode.Iterator                                   // dynamic dial candidates; nil: none
	maxPendingPerIP int                                              // zero: Limits.MaxPendingPerIP
	maxActiveDials  int                                              // zero: scheduler default
	handshakeTO     time.Duration                                    // zero: handshakeTimeout
	pingEvery       time.Duration                                    // zero: pingInterval
	readTO          time.Duration                                    // zero: readTimeout
	writeTO         time.Duration                                    // zero: writeTimeout
	throttleTime    time.Duration                                    // zero: inboundThrottleTime
	authFilter      func([]byte) error                               // passed to rlpx
	dialDone        func(dest *enode.Node, err error)                // called when a dialed setup ends

	// Discovery test hooks.
	listenUDP           func(addr string) (discover.UDPConn, error) // nil: net.ListenUDP; nil with listenFunc set: no discovery
	discPingInterval    time.Duration                               // zero: discover's default
	discRefreshInterval time.Duration                               // zero: discover's default
	maintainEvery       time.Duration                               // zero: nodeDBMaintainInterval
}

// Config errors.
var (
	errNoPrivateKey   = errors.New("p2p: Config.PrivateKey is required")
	errNegativeConfig = errors.New("p2p: negative limit in Config")
)

// withDefaults returns a copy of cfg with zero values replaced.
func (cfg Config) withDefaults() Config {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.DialRatio == 0 {
		cfg.DialRatio = defaultDialRatio
	}
	if cfg.MaxPendingPeers == 0 {
		cfg.MaxPendingPeers = defaultMaxPendingPeers
	}
	if cfg.MaxMessageSize == 0 || cfg.MaxMessageSize > rlpx.MaxMessageSize {
		cfg.MaxMessageSize = rlpx.MaxMessageSize
	}
	if cfg.MaxMessageSize > 0 {
		cfg.MaxMessageSize = max(cfg.MaxMessageSize, maxHelloSize)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.clock == nil {
		cfg.clock = mclock.System{}
	}
	if cfg.listenFunc == nil {
		cfg.listenFunc = net.Listen
		if cfg.listenUDP == nil {
			// Tests that bring their own TCP network and no UDP one run
			// without discovery.
			cfg.listenUDP = listenUDP
		}
	}
	setDefault(&cfg.handshakeTO, handshakeTimeout)
	setDefault(&cfg.pingEvery, pingInterval)
	setDefault(&cfg.readTO, readTimeout)
	setDefault(&cfg.writeTO, writeTimeout)
	setDefault(&cfg.throttleTime, inboundThrottleTime)
	setDefault(&cfg.maintainEvery, nodeDBMaintainInterval)
	return cfg
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}

// validate reports a configuration the server cannot run with.
func (cfg *Config) validate() error {
	if cfg.PrivateKey == nil {
		return errNoPrivateKey
	}
	if cfg.MaxPeers < 0 || cfg.DialRatio < 0 || cfg.MaxInbound < 0 || cfg.MaxOutbound < 0 ||
		cfg.MaxPendingPeers < 0 || cfg.MaxMessageSize < 0 {
		return errNegativeConfig
	}
	seen := make(map[Cap]bool)
	for i := range cfg.Protocols {
		p := &cfg.Protocols[i]
		switch {
		case p.Name == "":
			return fmt.Errorf("p2p: protocol %d has no name", i)
		case p.Length == 0:
			return fmt.Errorf("p2p: protocol %v has no message codes", p.cap())
		case p.Run == nil:
			return fmt.Errorf("p2p: protocol %v has no Run function", p.cap())
		case seen[p.cap()]:
			return fmt.Errorf("p2p: protocol %v listed twice", p.cap())
		}
		seen[p.cap()] = true
	}
	return nil
}

// maxOutbound is the outbound (dialed) peer cap.
func (cfg *Config) maxOutbound() int {
	if cfg.NoDial || cfg.MaxPeers == 0 {
		return 0
	}
	if cfg.MaxOutbound > 0 {
		return min(cfg.MaxOutbound, cfg.MaxPeers)
	}
	ratio := cfg.DialRatio
	if ratio <= 0 {
		ratio = defaultDialRatio
	}
	return max(cfg.MaxPeers/ratio, 1)
}

// maxInbound is the inbound peer cap.
func (cfg *Config) maxInbound() int {
	if cfg.MaxInbound > 0 {
		return min(cfg.MaxInbound, cfg.MaxPeers)
	}
	return max(cfg.MaxPeers-cfg.maxOutbound(), 0)
}
