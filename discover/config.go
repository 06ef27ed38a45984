// Package discover implements the Node Discovery Protocol v4 (devp2p
// discv4.md, with the ENR extension of EIP-868): a UDP transport, a
// Kademlia-like node table kept fresh by liveness checks, lookups, and an
// iterator of dial candidates for the connection pool.
//
// It is wire-compatible with go-ethereum v1.17 and follows its rules where
// they matter for interoperation (endpoint proof before answering Findnode
// and ENRRequest, 24-hour bonds, 17 buckets of 16, IP subnet limits), but
// forms networks faster: no fixed sleeps when bonding, contacts accepted
// from the start, nodes checked within seconds of insertion rather than
// one every 1.5 s (a starting node's seeds at once, which announces a new
// endpoint to them), and Findnode answered with recently learned nodes as
// well as validated ones, and, for a target in a full bucket, with a sample
// that favours the nodes handed out least lately and learned of last, so
// that a new network does not funnel every dialer to the same few nodes.
// Answers for a target in a bucket with room are the closest nodes, so
// lookups converge as in go-ethereum. Each difference is explained where it
// is implemented.
//
// Every timer comes from the injected clock (Config.Clock), so the protocol
// logic is tested on a simulated clock.
package discover

import (
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/internal/mclock"
	"github.com/devp2p-go/devp2p/netutil"
)

// LevelTrace is the log level of per-packet detail.
const LevelTrace = slog.Level(-8)

// Protocol constants (go-ethereum v1.17 values unless said otherwise).
const (
	respTimeout    = 500 * time.Millisecond // time to wait for a reply
	bondExpiration = 24 * time.Hour         // lifetime of an endpoint proof

	maxFindnodeFailures = 5 // consecutive failures before a node may be dropped

	// maxPingbacks bounds the pings we have in flight to unbonded senders
	// of Ping. It caps what a flood of pings with spoofed source addresses
	// can make us send to a victim.
	maxPingbacks = 256
	// maxENRFetches bounds the concurrent ENR requests made because a Ping
	// or Pong announced a newer record.
	maxENRFetches = 8
	// consecutiveTimeoutsWarn is the number of request timeouts in a row
	// after which we warn about the clock (go-ethereum checks NTP at 32).
	consecutiveTimeoutsWarn = 32
	timeoutWarnCooldown     = 10 * time.Minute
)

// UDPConn is a packet connection discovery can run on. *net.UDPConn
// implements it; tests use an in-memory network.
type UDPConn interface {
	ReadFromUDPAddrPort(b []byte) (n int, addr netip.AddrPort, err error)
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (n int, err error)
	Close() error
	LocalAddr() net.Addr
}

// DB stores what discovery learns about other nodes, so that a restarted
// node keeps its bonds and seeds its table from nodes it knew. The
// persistent implementation is nodedb.DB; nil means an in-memory store that
// forgets everything on Close.
//
// Times are wall-clock times. IP addresses are unmapped (IPv4 as 4 bytes).
// Methods may be called concurrently. Errors of the Update methods are
// logged and otherwise ignored: a lost update costs at most a new bond.
type DB interface {
	// Node returns the last stored record of a node, or nil.
	Node(id enode.ID) *enode.Node
	// UpdateNode stores a node record.
	UpdateNode(n *enode.Node) error

	// LastPingReceived returns when we last received a Ping from the node
	// at ip, or the zero time.
	LastPingReceived(id enode.ID, ip netip.Addr) time.Time
	// UpdateLastPingReceived records when we received a Ping.
	UpdateLastPingReceived(id enode.ID, ip netip.Addr, t time.Time) error
	// LastPongReceived returns when we last received a Pong from the node
	// at ip (the node's endpoint proof), or the zero time.
	LastPongReceived(id enode.ID, ip netip.Addr) time.Time
	// UpdateLastPongReceived records when we received a Pong.
	UpdateLastPongReceived(id enode.ID, ip netip.Addr, t time.Time) error
	// FindFails returns the number of consecutive failed Findnode requests
	// to the node at ip.
	FindFails(id enode.ID, ip netip.Addr) int
	// UpdateFindFails stores the number of consecutive failed requests.
	UpdateFindFails(id enode.ID, ip netip.Addr, fails int) error

	// QuerySeeds returns up to n random stored nodes whose last Pong is
	// younger than maxAge.
	QuerySeeds(n int, maxAge time.Duration) []*enode.Node
}

// Config holds the settings of a discovery listener.
type Config struct {
	// PrivateKey is the node key. Required; it must be the key of the
	// LocalNode passed to ListenV4.
	PrivateKey *crypto.PrivateKey

	// NetRestrict, if non-nil, restricts discovery to the listed networks:
	// packets from other addresses are dropped before any cryptography,
	// and relayed nodes and bootnodes outside the list are ignored.
	NetRestrict *netutil.Netlist

	// IPLimitExempt lists the networks whose addresses are not held to the
	// table's subnet limits: at most 2 nodes of one /24 (IPv6: /48) per
	// bucket, replacements included, and 10 in the whole table. Nil
	// exempts the LAN ranges (loopback, RFC 1918, RFC 4193, link-local), as
	// go-ethereum does; an empty list exempts nothing, so that the limits
	// also hold between nodes on one LAN or on loopback (tests use that).
	IPLimitExempt *netutil.Netlist

	// Bootnodes are the nodes used to join the network when the table is
	// empty. Nodes without IP address or UDP port are refused by ListenV4.
	Bootnodes []*enode.Node

	// DB stores bonds and known nodes. Nil means in memory only.
	DB DB

	// PingInterval paces liveness checks of validated nodes: one every
	// random interval up to 3×PingInterval. New and changed nodes are
	// checked ten times faster. Zero means 3 seconds, go-ethereum's value.
	PingInterval time.Duration

	// RefreshInterval is the mean time between table refreshes (random
	// lookups); each next refresh comes after a random time between half
	// and all of it. Zero means 30 minutes.
	RefreshInterval time.Duration

	// Log receives log messages. Nil means slog.Default().
	Log *slog.Logger

	// Clock is the source of time for every timer. Nil means the system
	// clock. With another clock, the wall time written into packets and the
	// DB advances with it from the wall time at ListenV4.
	Clock mclock.Clock

	// rand is the source of randomness (tests seed it). Nil means a
	// randomly seeded generator.
	rand *rand.Rand
}

func (cfg Config) withDefaults() Config {
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 3 * time.Second
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = 30 * time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = mclock.System{}
	}
	if cfg.rand == nil {
		cfg.rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return cfg
}

// wallClock returns the wall time for packets and the DB. The system clock
// uses time.Now, so that clock steps are followed; other clocks get a wall
// time that moves with them.
func wallClock(c mclock.Clock) func() time.Time {
	if _, ok := c.(mclock.System); ok {
		return time.Now
	}
	base, start := time.Now(), c.Now()
	return func() time.Time { return base.Add(c.Now().Sub(start)) }
}
