package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/discover"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/p2p"
	gethcrypto "github.com/ethereum/go-ethereum/crypto"
	gethlog "github.com/ethereum/go-ethereum/log"
	"github.com/ethereum/go-ethereum/metrics"
	gethp2p "github.com/ethereum/go-ethereum/p2p"
	gethdiscover "github.com/ethereum/go-ethereum/p2p/discover"
	gethenode "github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/ethereum/go-ethereum/p2p/nat"
)

// The two implementations of the formation measurement. Both run servers
// with discovery v4 on, the trivial "bench"/1 protocol (read and discard),
// an in-memory node database and default timings.

var loopbackIP = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// nodeIP returns the address of the k-th server of a network, 127.1.x.y:
// every server has an address of its own, as nodes of a real network do
// (Linux answers on all of 127.0.0.0/8), and none is the bootnode's
// 127.0.0.1. The servers listen for TCP and UDP on it; go-ethereum's also
// dial from it. Ours dial from 127.0.0.1, the kernel's choice, because
// p2p.Config has no dialer setting: see ourFormation.startNode.
func nodeIP(k int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, 1, byte(k / 250), byte(k%250 + 1)})
}

// ---- ours ----

// ourFormation counts dials from the logs of our servers: the dial
// scheduler logs "Starting dial" and "Dial failed" (with the error), and
// the listener logs "Rejected inbound connection" when it closes a
// connection before the encryption handshake. Counting needs every level
// down to trace, so every trace record of the servers (discovery's
// per-packet ones included) is built and handed to the counter; their
// number is reported.
type ourFormation struct {
	started  int // servers started, for nodeIP
	boot     *discover.UDPv4
	bootNode *enode.Node
	all      logTally // the network's servers
	join     logTally // the fresh node
}

func newOurFormation() *ourFormation { return &ourFormation{} }

func (f *ourFormation) startBootnode() error {
	key, err := crypto.GenerateKey(nil)
	if err != nil {
		return err
	}
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopbackIP, 0)))
	if err != nil {
		return err
	}
	ln := enode.NewLocalNode(key, 0)
	ln.SetFallbackIP(loopbackIP)
	ln.SetFallbackUDP(conn.LocalAddr().(*net.UDPAddr).Port)
	f.boot, err = discover.ListenV4(conn, ln, discover.Config{PrivateKey: key, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		conn.Close()
		return err
	}
	f.bootNode = f.boot.Self()
	return nil
}

func (f *ourFormation) startNode(maxPeers int, joiner bool) (formationNode, error) {
	key, err := crypto.GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	tally := &f.all
	if joiner {
		tally = &f.join
	}
	ip := nodeIP(f.started)
	f.started++
	srv := &p2p.Server{Config: p2p.Config{
		PrivateKey: key,
		Name:       "devp2p-go/bench",
		MaxPeers:   maxPeers,
		// Listening on its own address, the node also dials from it,
		// with the default limits.
		ListenAddr:     netip.AddrPortFrom(ip, 0).String(),
		BootstrapNodes: []*enode.Node{f.bootNode},
		Logger:         slog.New(tallyHandler{tally}),
		Protocols: []p2p.Protocol{{Name: benchProto, Version: benchVersion, Length: benchLength,
			Run: func(_ *p2p.Peer, rw p2p.MsgReadWriter) error { return readAll(ourMsgRW{rw}) }}},
	}}
	if err := srv.Start(); err != nil {
		return nil, err
	}
	return ourFormationNode{srv}, nil
}

func (f *ourFormation) counts() dialTally     { return f.all.snapshot() }
func (f *ourFormation) joinCounts() dialTally { return f.join.snapshot() }
func (f *ourFormation) close()                { f.boot.Close() }

type ourFormationNode struct{ srv *p2p.Server }

func (n ourFormationNode) outbound() (out, total int) {
	ps := n.srv.Peers()
	for _, p := range ps {
		if !p.Inbound() {
			out++
		}
	}
	return out, len(ps)
}

func (n ourFormationNode) stop() { n.srv.Stop() }

// readAll is the protocol of the formation: read and discard until the
// peer ends.
func readAll(rw msgRW) error {
	for {
		if _, _, err := rw.read(); err != nil {
			return err
		}
	}
}

// logTally counts dials from our servers' log records.
type logTally struct {
	records, dials atomic.Int64
	mu             sync.Mutex // guards following
	refused        int64
	failures       map[string]int64
	rejected       map[string]int64
}

// errNoInboundSlotText is the error of p2p's listener when it closes a
// connection before the handshake because no inbound slot is free.
const errNoInboundSlotText = "no inbound slot free"

func (t *logTally) add(m *map[string]int64, reason string, refused bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if *m == nil {
		*m = make(map[string]int64)
	}
	(*m)[reason]++
	if refused {
		t.refused++
	}
}

func (t *logTally) snapshot() dialTally {
	t.mu.Lock()
	defer t.mu.Unlock()
	return dialTally{dials: t.dials.Load(), refused: t.refused, failures: copyCounts(t.failures),
		rejected: copyCounts(t.rejected), records: t.records.Load()}
}

func copyCounts(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// tallyHandler is a slog.Handler that feeds a logTally.
type tallyHandler struct{ t *logTally }

func (h tallyHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h tallyHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h tallyHandler) WithGroup(string) slog.Handler            { return h }

func (h tallyHandler) Handle(_ context.Context, r slog.Record) error {
	h.t.records.Add(1)
	switch r.Message {
	case "Starting dial":
		h.t.dials.Add(1)
	case "Dial failed":
		var err error
		class := "?"
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "err":
				err, _ = a.Value.Any().(error)
			case "class":
				class = fmt.Sprint(a.Value.Any())
			}
			return true
		})
		var (
			d  p2p.DiscReason
			pe *p2p.PeerError
		)
		switch {
		case errors.As(err, &pe):
			// Refused by this side (its outbound cap, say) after the
			// encryption handshake, or a local failure.
			h.t.add(&h.t.failures, pe.Reason.String()+" (local)", pe.Reason == p2p.DiscTooManyPeers)
		case errors.As(err, &d):
			h.t.add(&h.t.failures, d.String(), d == p2p.DiscTooManyPeers)
		default:
			h.t.add(&h.t.failures, "class "+class, false)
		}
	case "Rejected inbound connection":
		reason := "?"
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "err" {
				reason = fmt.Sprint(a.Value.Any())
			}
			return true
		})
		h.t.add(&h.t.rejected, reason, reason == errNoInboundSlotText)
	}
	return nil
}

// ---- go-ethereum ----

// gethFormation counts dials with go-ethereum's p2p meters, which sum over
// all servers of the process: "p2p/dials" counts dial attempts and the
// "p2p/dials/error/…" meters their failures. The fresh node dials through
// a counting NodeDialer, so that its dials can be told from the others'.
type gethFormation struct {
	started   int // servers started, for nodeIP
	boot      *gethdiscover.UDPv4
	bootDB    *gethenode.DB
	bootNode  *gethenode.Node
	joinDials atomic.Int64
	join0     map[string]int64 // meter counts when the fresh node started
}

// gethDialMeters are go-ethereum's dial failure meters and what they count.
var gethDialMeters = []struct{ name, reason string }{
	{"p2p/dials/error/saturated", "too many peers"},
	{"p2p/dials/error/known", "already connected"},
	{"p2p/dials/error/self", "self"},
	{"p2p/dials/error/useless", "useless peer"},
	{"p2p/dials/error/id/unexpected", "unexpected identity"},
	{"p2p/dials/error/rlpx/enc", "encryption handshake"},
	{"p2p/dials/error/rlpx/proto", "Hello"},
	{"p2p/dials/error/other", "other"},
	{"p2p/dials/error/connection", "TCP connect"},
}

const gethDialMeter = "p2p/dials"

func newGethFormation() *gethFormation {
	// The dial error meters count only with metrics enabled. Enabling
	// them also wraps each connection in a metered one and counts
	// discovery packets: a few atomic additions per read and write.
	metrics.Enable()
	return &gethFormation{}
}

func meterCount(name string) int64 {
	return metrics.GetOrRegisterMeter(name, nil).Snapshot().Count()
}

// meterCounts returns the dial meter and every dial failure meter.
func meterCounts() map[string]int64 {
	m := map[string]int64{gethDialMeter: meterCount(gethDialMeter)}
	for _, dm := range gethDialMeters {
		m[dm.name] = meterCount(dm.name)
	}
	return m
}

func (f *gethFormation) startBootnode() error {
	key, err := gethcrypto.GenerateKey()
	if err != nil {
		return err
	}
	if f.bootDB, err = gethenode.OpenDB(""); err != nil {
		return err
	}
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopbackIP, 0)))
	if err != nil {
		return err
	}
	ln := gethenode.NewLocalNode(f.bootDB, key)
	ln.SetFallbackIP(net.IP{127, 0, 0, 1})
	ln.SetFallbackUDP(conn.LocalAddr().(*net.UDPAddr).Port)
	f.boot, err = gethdiscover.ListenV4(conn, ln, gethdiscover.Config{PrivateKey: key, Log: gethlog.NewLogger(slog.DiscardHandler)})
	if err != nil {
		conn.Close()
		return err
	}
	f.bootNode = f.boot.Self()
	return nil
}

func (f *gethFormation) startNode(maxPeers int, joiner bool) (formationNode, error) {
	key, err := gethcrypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	ip := nodeIP(f.started)
	f.started++
	cfg := gethp2p.Config{
		PrivateKey: key,
		Name:       "geth/bench",
		MaxPeers:   maxPeers,
		ListenAddr: netip.AddrPortFrom(ip, 0).String(),
		// The record's IP: go-ethereum's fallback is 127.0.0.1.
		NAT:            nat.ExtIP(ip.AsSlice()),
		Dialer:         sourceDialer{src: ip},
		BootstrapNodes: []*gethenode.Node{f.bootNode},
		DiscoveryV4:    true, // geth's node config sets it; the p2p.Config zero value is off
		Logger:         gethlog.NewLogger(slog.DiscardHandler),
		Protocols: []gethp2p.Protocol{{Name: benchProto, Version: benchVersion, Length: benchLength,
			Run: func(_ *gethp2p.Peer, rw gethp2p.MsgReadWriter) error { return readAll(gethMsgRW{rw}) }}},
	}
	if joiner {
		cfg.Dialer = sourceDialer{src: ip, n: &f.joinDials}
		f.join0 = meterCounts()
	}
	srv := &gethp2p.Server{Config: cfg}
	if err := srv.Start(); err != nil {
		return nil, err
	}
	return gethFormationNode{srv}, nil
}

// counts returns the meters of the whole process; it is called before the
// fresh node starts (and afterwards only for the log records, none here).
func (f *gethFormation) counts() dialTally {
	m := meterCounts()
	t := dialTally{dials: m[gethDialMeter], refused: m[gethDialMeters[0].name], failures: map[string]int64{}}
	for _, dm := range gethDialMeters {
		if n := m[dm.name]; n > 0 {
			t.failures[dm.reason] = n
		}
	}
	return t
}

// joinCounts returns the meters' growth since the fresh node started. If
// other servers dialed meanwhile, their failures are in it too, and the
// note says so.
func (f *gethFormation) joinCounts() dialTally {
	m := meterCounts()
	t := dialTally{dials: f.joinDials.Load(), failures: map[string]int64{}}
	for _, dm := range gethDialMeters {
		if n := m[dm.name] - f.join0[dm.name]; n > 0 {
			t.failures[dm.reason] = n
		}
	}
	t.refused = t.failures[gethDialMeters[0].reason]
	if all := m[gethDialMeter] - f.join0[gethDialMeter]; all != t.dials {
		t.note = fmt.Sprintf("the other servers dialed %d times during the join: failures are of all %d dials", all-t.dials, all)
	}
	return t
}

func (f *gethFormation) close() {
	f.boot.Close()
	f.bootDB.Close()
}

type gethFormationNode struct{ srv *gethp2p.Server }

func (n gethFormationNode) outbound() (out, total int) {
	ps := n.srv.Peers()
	for _, p := range ps {
		if !p.Inbound() {
			out++
		}
	}
	return out, len(ps)
}

func (n gethFormationNode) stop() { n.srv.Stop() }

// sourceDialer is go-ethereum's TCP dialer (same timeout) with the
// server's own address as the source, and, if n is set, counting its dials.
type sourceDialer struct {
	src netip.Addr
	n   *atomic.Int64
}

func (d sourceDialer) Dial(ctx context.Context, dest *gethenode.Node) (net.Conn, error) {
	if d.n != nil {
		d.n.Add(1)
	}
	addr, ok := dest.TCPEndpoint()
	if !ok {
		return nil, errors.New("node has no TCP endpoint")
	}
	nd := net.Dialer{Timeout: 15 * time.Second, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(d.src, 0))}
	return nd.DialContext(ctx, "tcp", addr.String())
}
