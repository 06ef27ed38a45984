package dialsched

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/internal/mclock"
	"github.com/devp2p-go/devp2p/netutil"
)

// DefaultMaxActiveDials is the number of concurrent dials when
// Config.MaxActiveDials is zero. go-ethereum's old dialer used the same
// number; its current one uses 50, which only matters with the 2× over-dialing
// this package does not do.
const DefaultMaxActiveDials = 16

// Config is the configuration of a Scheduler. Zero values of the optional
// fields are replaced by the documented defaults.
type Config struct {
	// Self is our own node ID; it is never dialed.
	Self enode.ID

	// MaxDialPeers is the outbound target: dynamic dials fill it up to
	// this many dialed peers, counting static and dynamic ones alike.
	// Static nodes are dialed whether or not it is reached, so static
	// peers may take the dialed peers beyond it. Zero disables all
	// dialing, static nodes included.
	MaxDialPeers int

	// MaxActiveDials bounds the dials in flight, static ones included.
	// Zero means DefaultMaxActiveDials.
	MaxActiveDials int

	// NetRestrict, if non-nil, restricts dials to IPs in the list. A node
	// known only by DNS name passes the scheduler's check; TCPDialer
	// applies the list to the addresses the name resolves to.
	NetRestrict *netutil.Netlist

	// Resolver looks up the current record of a static node whose dial
	// failed or which has no address. Nil disables such lookups.
	Resolver Resolver

	// Dialer opens TCP connections. Nil means
	// TCPDialer{Timeout: DefaultDialTimeout, NetRestrict: NetRestrict}.
	Dialer NodeDialer

	// Bootnodes are dialed, one at a time in rotation, while the node has
	// had no peer at all for BootnodeFallback.
	Bootnodes []*enode.Node

	// Classify maps the error that ended a connection setup, or a peer, to
	// a FailureClass, which selects the backoff. Nil means DefaultClassify.
	// It is called only on the scheduler's goroutine.
	Classify func(error) FailureClass

	// Log receives the scheduler's logs. Nil means slog.Default().
	Log *slog.Logger

	// Clock is the source of all time. Nil means mclock.System{}.
	Clock mclock.Clock

	// Rand chooses among static nodes. Nil means a generator seeded from
	// crypto/rand. It is used only on the scheduler's goroutine.
	Rand *rand.Rand

	// Score, if not nil, rates a dynamic candidate (higher is better, 0
	// for an unknown node). Of the candidates in the window (up to
	// CandidateWindow read from the iterator) the best-scored are dialed
	// first; candidates scoring below MinScore are dropped. It is called
	// only on the scheduler's goroutine and must be fast.
	Score func(enode.ID) int

	// MinScore is the least Score of a dynamic candidate that is dialed.
	// It is used only with Score.
	MinScore int

	// Banned, if not nil, reports whether a node must not be dialed (a
	// ban of its ID or IP). It applies to every dial, static nodes
	// included, and is called only on the scheduler's goroutine.
	Banned func(*enode.Node) bool

	// Subnet, if not nil, returns the subnet of an IP for
	// MaxDialsPerSubnet, and false for IPs that are not counted (exempt
	// ranges).
	Subnet func(netip.Addr) (netip.Prefix, bool)

	// MaxDialsPerSubnet, if positive, bounds the dynamic dialed peers plus
	// dynamic dials in flight of one subnet (see Subnet). A candidate of a
	// full subnet is dropped and counted (Stats.SkippedSubnet). Static
	// nodes are exempt and not counted.
	MaxDialsPerSubnet int

	// TrustedOnly disables dynamic and bootnode dials; of the static
	// nodes only those Trusted accepts are dialed.
	TrustedOnly bool

	// Trusted reports whether a node is trusted, for TrustedOnly. Nil
	// means none is.
	Trusted func(enode.ID) bool

	// Priority nodes (the anchors of earlier runs) are dialed before any
	// iterator candidate, as dynamic dials: the iterator is not read until
	// each of them has been dialed and its dial has ended, or PriorityWait
	// has passed since the scheduler started.
	Priority []*enode.Node

	// PriorityWait bounds how long Priority holds back the iterator. Zero
	// means DefaultPriorityWait.
	PriorityWait time.Duration

	// ConnectFailed, if not nil, is told of every dial whose TCP connect
	// failed (not of those cut short by Stop). It is called on the
	// scheduler's goroutine and must not block.
	ConnectFailed func(n *enode.Node, static bool, err error)
}

// DefaultPriorityWait is how long the dials of Config.Priority may hold
// back iterator candidates when Config.PriorityWait is zero: long enough
// for a TCP connect and both handshakes to a live node (a dead one fails
// its connect within DefaultDialTimeout, but its slot is not held that
// long).
const DefaultPriorityWait = 5 * time.Second

// CandidateWindow is the number of iterator candidates the scheduler reads
// ahead of its free slots, to pick the best-scored among them.
const CandidateWindow = 8

func (cfg Config) withDefaults() Config {
	if cfg.MaxActiveDials <= 0 {
		cfg.MaxActiveDials = DefaultMaxActiveDials
	}
	if cfg.Dialer == nil {
		cfg.Dialer = TCPDialer{Timeout: DefaultDialTimeout, NetRestrict: cfg.NetRestrict}
	}
	if cfg.Classify == nil {
		cfg.Classify = DefaultClassify
	}
	if cfg.PriorityWait <= 0 {
		cfg.PriorityWait = DefaultPriorityWait
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = mclock.System{}
	}
	if cfg.Rand == nil {
		var seed [16]byte
		crand.Read(seed[:])
		cfg.Rand = rand.New(rand.NewPCG(binary.BigEndian.Uint64(seed[:8]), binary.BigEndian.Uint64(seed[8:])))
	}
	return cfg
}

// Resolver looks up the current record of a node, typically through
// discovery. It returns nil if the node was not found. It must return when
// ctx is cancelled.
type Resolver interface {
	Resolve(ctx context.Context, n *enode.Node) *enode.Node
}

// NodeDialer opens a connection to a node. It must return when ctx is
// cancelled. Tests use it to dial in memory.
type NodeDialer interface {
	Dial(ctx context.Context, n *enode.Node) (net.Conn, error)
}

// SetupFunc runs the whole setup of a dialed connection (encryption
// handshake, protocol handshake, admission) and returns nil once the peer
// has been added, or the error that ended the attempt. dest is the node that
// was dialed and static tells whether it is a static node. It owns fd: it
// must close it on failure. The scheduler closes fd itself only when it is
// stopped while SetupFunc is still running.
type SetupFunc func(fd net.Conn, dest *enode.Node, static bool) error

// FailureClass says why a dial or a peer failed, for backoff and metrics.
type FailureClass int

// Failure classes.
const (
	// ClassNone is not held against the node: the scheduler was stopped, or
	// a connected peer ended in an ordinary way.
	ClassNone FailureClass = iota
	// ClassConnect: the TCP connection was refused, unreachable, timed out,
	// or was closed before the handshakes completed.
	ClassConnect
	// ClassBusy: the remote said it has too many peers or is already
	// connected to us.
	ClassBusy
	// ClassHandshake: the encryption handshake or the Hello failed, or the
	// remote had another identity than the one dialed.
	ClassHandshake
	// ClassProtocol: the remote is useless to us (no shared capability),
	// speaks an incompatible version or breached the protocol.
	ClassProtocol
	// ClassSelf: the remote is ourselves.
	ClassSelf

	numClasses
)

var classNames = [numClasses]string{"none", "connect", "busy", "handshake", "protocol", "self"}

// String returns a short lowercase name, suitable as a metric label.
func (c FailureClass) String() string {
	if c >= 0 && c < numClasses {
		return classNames[c]
	}
	return "unknown"
}

// DefaultClassify is the classifier used when Config.Classify is nil, and the
// fallback of a classifier that knows more (a p2p.DiscReason, say): nil and
// context cancellation are ClassNone; network errors, EOF and syscall errors
// are ClassConnect; everything else is ClassHandshake.
func DefaultClassify(err error) FailureClass {
	var (
		netErr net.Error
		errno  syscall.Errno
	)
	switch {
	case err == nil, errors.Is(err, context.Canceled):
		return ClassNone
	case errors.As(err, &netErr), errors.As(err, &errno),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return ClassConnect
	default:
		return ClassHandshake
	}
}

// DefaultDialTimeout is the TCP connect timeout of the default dialer, as in
// go-ethereum.
const DefaultDialTimeout = 15 * time.Second
