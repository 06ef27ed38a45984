// Package metrics exposes the state of a p2p.Server as Prometheus metrics.
//
// A library user who wants metrics calls New with a prometheus.Registerer;
// nothing is registered or started otherwise. The series are:
//
//	p2p_peers                          gauge    connected peers (go-ethereum's name)
//	p2p_peers_inbound                  gauge    inbound peers (go-ethereum's name)
//	p2p_peers_outbound                 gauge    dialed peers (go-ethereum's name)
//	p2p_connected_peers{direction,class}  gauge  peers by direction (inbound, outbound)
//	                                            and class (trusted, static, dynamic)
//	p2p_ingress, p2p_egress            counter  bytes received and sent by peers, framing
//	                                            included (go-ethereum's names)
//	p2p_ingress_messages_total         counter  messages received, base protocol included
//	p2p_egress_messages_total          counter  messages sent, base protocol included
//	p2p_peers_added_total{direction}   counter  peers that completed the handshakes
//	p2p_disconnects_total{direction,reason,requested_by}
//	                                   counter  peers dropped, by disconnect reason (go-ethereum's
//	                                            strings) and by who asked (local, remote)
//	p2p_peer_lifetime_seconds{direction}
//	                                   histogram how long peers stayed connected
//	p2p_pending_handshakes{direction}  gauge    connections in their handshakes
//	p2p_handshake_failures_total{phase,reason}
//	                                   counter  failed setups by phase (rlpx, checkpoint1,
//	                                            hello, checkpoint2) and reason
//	p2p_dials_total{kind,result}       counter  finished dials: dynamic, static, bootnode;
//	                                            succeeded, failed
//	p2p_dial_failures_total{class}     counter  failed dials by class (connect, busy, …)
//	p2p_dials_in_flight                gauge    dials under way
//	p2p_dial_backoff_nodes{class}      gauge    nodes held back after failed dials, by the class
//	                                            of the last failure (connect, busy, …)
//	p2p_dial_candidates_skipped_total{why}
//	                                   counter  candidates not dialed (backoff, score, subnet,
//	                                            banned, other)
//	p2p_failures_total{phase,direction,reason}
//	                                   counter  failed setups and ended peers as the peer policy
//	                                            classifies them (docs/peer-policy.md)
//	p2p_bans                           gauge    bans in force (IDs and IPs)
//	p2p_listener_rejected_total{reason}
//	                                   counter  inbound connections closed before any cryptography,
//	                                            by reason (docs/limits.md)
//	p2p_listener_courtesy_total        counter  connections of a full server given the handshake
//	                                            for a courtesy refusal
//	p2p_listener_eviction_handshakes_total
//	                                   counter  connections of a full server given the handshakes
//	                                            because an inbound peer could be evicted for them
//	p2p_inbound_evictions_total        counter  inbound peers evicted for a peer from another subnet
//	p2p_stalled_setups_closed_total    counter  inbound setups closed to make room for new ones
//	                                            (silent ones, and those stalled before their Hello)
//	p2p_stalled_hello_closed_total     counter  of those, setups stalled before their Hello
//	p2p_discovery_packets_total{direction,type}
//	                                   counter  discovery v4 datagrams by packet type
//	p2p_discovery_bytes_total{direction}
//	                                   counter  discovery v4 datagram bytes
//	p2p_discovery_dropped_packets_total{reason}
//	                                   counter  inbound packets dropped, by reason
//	p2p_discovery_timeouts_total       counter  requests without a reply in time
//	p2p_discovery_write_errors_total   counter  failed sends
//	p2p_discovery_table_nodes{list}    gauge    table size: live, replacement
//	p2p_discovery_table_validated_nodes gauge   table nodes whose last check succeeded
//	p2p_peerstore_writes_total{result} counter  peer store records written, failed, dropped
//
// The discovery series are there while discovery runs.
//
// Peer gauges, traffic counters and the series of p2p.Server.Stats are
// read from the server when scraped;
// additions and drops come from its peer event feed. The traffic of a peer
// that connects and drops between two events of the feed being handled
// (microseconds) is not counted, and its drop has direction "unknown".
package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/devp2p-go/devp2p/p2p"
)

// Label values.
const (
	dirInbound  = "inbound"
	dirOutbound = "outbound"
	dirUnknown  = "unknown"

	classTrusted = "trusted"
	classStatic  = "static"
	classDynamic = "dynamic"
)

// eventBuffer is the channel between the server's event feed and the
// collector's goroutine.
const eventBuffer = 256

var (
	peersDesc = prometheus.NewDesc("p2p_peers",
		"Number of connected peers.", nil, nil)
	peersInDesc = prometheus.NewDesc("p2p_peers_inbound",
		"Number of connected peers that connected to us.", nil, nil)
	peersOutDesc = prometheus.NewDesc("p2p_peers_outbound",
		"Number of connected peers that we dialed.", nil, nil)
	classDesc = prometheus.NewDesc("p2p_connected_peers",
		"Number of connected peers by direction and class (trusted, else static, else dynamic).",
		[]string{"direction", "class"}, nil)
	ingressDesc = prometheus.NewDesc("p2p_ingress",
		"Bytes received from peers, handshakes and framing included.", nil, nil)
	egressDesc = prometheus.NewDesc("p2p_egress",
		"Bytes sent to peers, handshakes and framing included.", nil, nil)
	msgsInDesc = prometheus.NewDesc("p2p_ingress_messages_total",
		"Messages received from peers, base protocol included.", nil, nil)
	msgsOutDesc = prometheus.NewDesc("p2p_egress_messages_total",
		"Messages sent to peers, base protocol included.", nil, nil)
)

// Collector collects the metrics of one p2p.Server. Create it with New;
// Close stops it.
type Collector struct {
	srv       *p2p.Server
	reg       prometheus.Registerer
	quit      chan struct{} // closed by Close
	done      chan struct{} // closed when loop has returned
	added     *prometheus.CounterVec
	drops     *prometheus.CounterVec
	lifetimes *prometheus.HistogramVec

	mu     sync.Mutex            // guards following
	known  map[connKey]*p2p.Peer // connections seen, until their drop event
	closed p2p.PeerStats         // traffic of dropped peers
}

// connKey identifies a connection: a node can reconnect under the same ID.
type connKey struct {
	id            string
	local, remote string
}

func keyOf(p *p2p.Peer) connKey {
	return connKey{p.ID().String(), p.LocalAddr().String(), p.RemoteAddr().String()}
}

func keyOfEvent(ev *p2p.PeerEvent) connKey {
	return connKey{ev.Peer.String(), ev.LocalAddress, ev.RemoteAddress}
}

// New registers the metrics of srv with reg and starts following the
// server's peer events. It may be called before or after srv.Start. With a
// nil reg it does nothing and returns a nil *Collector, whose Close does
// nothing.
func New(srv *p2p.Server, reg prometheus.Registerer) (*Collector, error) {
	if reg == nil {
		return nil, nil
	}
	c := &Collector{
		srv:   srv,
		reg:   reg,
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
		known: make(map[connKey]*p2p.Peer),
		added: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "p2p_peers_added_total",
			Help: "Peers that completed the handshakes and were added, by direction.",
		}, []string{"direction"}),
		drops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "p2p_disconnects_total",
			Help: "Peers dropped, by direction, disconnect reason and the side that asked for it.",
		}, []string{"direction", "reason", "requested_by"}),
		lifetimes: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "p2p_peer_lifetime_seconds",
			Help:    "How long dropped peers stayed connected, by direction.",
			Buckets: []float64{1, 10, 60, 300, 900, 3600, 6 * 3600, 24 * 3600},
		}, []string{"direction"}),
	}
	if err := reg.Register(c); err != nil {
		return nil, err
	}
	// Subscribed before New returns, so that no event after it is missed.
	events := make(chan *p2p.PeerEvent, eventBuffer)
	feed := srv.SubscribeEvents(events)
	go c.loop(events, feed)
	return c, nil
}

// Close stops following the server and unregisters the metrics.
func (c *Collector) Close() {
	if c == nil {
		return
	}
	close(c.quit)
	<-c.done
	c.reg.Unregister(c)
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{peersDesc, peersInDesc, peersOutDesc, classDesc,
		ingressDesc, egressDesc, msgsInDesc, msgsOutDesc} {
		ch <- d
	}
	for _, d := range statsDescs {
		ch <- d
	}
	c.added.Describe(ch)
	c.drops.Describe(ch)
	c.lifetimes.Describe(ch)
}

// Collect implements prometheus.Collector. It reads the peer set from the
// server's run loop once.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	peers := c.srv.Peers()
	var (
		in, out int
		classes = make(map[[2]string]int)
	)
	c.mu.Lock()
	for _, p := range peers {
		c.known[keyOf(p)] = p
		dir := direction(p)
		if dir == dirInbound {
			in++
		} else {
			out++
		}
		classes[[2]string{dir, class(p)}]++
	}
	traffic := c.closed
	for _, p := range c.known {
		s := p.Stats()
		traffic.BytesIn += s.BytesIn
		traffic.BytesOut += s.BytesOut
		traffic.MsgsIn += s.MsgsIn
		traffic.MsgsOut += s.MsgsOut
	}
	c.mu.Unlock()

	gauge := func(d *prometheus.Desc, v int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge(peersDesc, len(peers))
	gauge(peersInDesc, in)
	gauge(peersOutDesc, out)
	for _, dir := range []string{dirInbound, dirOutbound} {
		for _, cl := range []string{classTrusted, classStatic, classDynamic} {
			gauge(classDesc, classes[[2]string{dir, cl}], dir, cl)
		}
	}
	counter(ingressDesc, traffic.BytesIn)
	counter(egressDesc, traffic.BytesOut)
	counter(msgsInDesc, traffic.MsgsIn)
	counter(msgsOutDesc, traffic.MsgsOut)
	c.added.Collect(ch)
	c.drops.Collect(ch)
	c.lifetimes.Collect(ch)
	collectStats(ch, c.srv.Stats())
}

// loop handles peer events until Close or the end of the server. Events
// are taken in batches so that one look at the peer set serves all
// additions of a batch. If the feed drops the subscription because the
// loop fell behind, the loop catches up with the peer set and subscribes
// again.
func (c *Collector) loop(events chan *p2p.PeerEvent, feed p2p.Subscription) {
	defer close(c.done)
	defer func() { feed.Unsubscribe() }()
	var batch []*p2p.PeerEvent
	for {
		select {
		case ev := <-events:
			batch = append(batch[:0], ev)
		drain:
			for len(batch) < eventBuffer {
				select {
				case ev := <-events:
					batch = append(batch, ev)
				default:
					break drain
				}
			}
			c.handle(batch)
			clear(batch)
		case err, ok := <-feed.Err():
			if !ok || err == nil {
				return // the server stopped
			}
			events = make(chan *p2p.PeerEvent, eventBuffer)
			feed = c.srv.SubscribeEvents(events)
			c.resync()
		case <-c.quit:
			return
		}
	}
}

// resync forgets the connections that are gone without a drop event seen,
// keeping their traffic.
func (c *Collector) resync() {
	live := make(map[connKey]bool)
	for _, p := range c.srv.Peers() {
		live[keyOf(p)] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, p := range c.known {
		if !live[key] {
			delete(c.known, key)
			c.addClosed(p)
		}
	}
}

// addClosed adds the traffic of an ended connection to the totals.
func (c *Collector) addClosed(p *p2p.Peer) {
	s := p.Stats()
	c.closed.BytesIn += s.BytesIn
	c.closed.BytesOut += s.BytesOut
	c.closed.MsgsIn += s.MsgsIn
	c.closed.MsgsOut += s.MsgsOut
}

// handle processes a batch of events in order.
func (c *Collector) handle(batch []*p2p.PeerEvent) {
	var peers []*p2p.Peer
	for _, ev := range batch {
		if ev.Type == p2p.PeerEventTypeAdd && !c.isKnown(keyOfEvent(ev)) {
			peers = c.srv.Peers()
			break
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range peers {
		c.known[keyOf(p)] = p
	}
	for _, ev := range batch {
		key := keyOfEvent(ev)
		p := c.known[key]
		dir := dirUnknown
		if p != nil {
			dir = direction(p)
		}
		switch ev.Type {
		case p2p.PeerEventTypeAdd:
			c.added.WithLabelValues(dir).Inc()
		case p2p.PeerEventTypeDrop:
			if p != nil {
				delete(c.known, key)
				c.addClosed(p)
				c.lifetimes.WithLabelValues(dir).Observe(p.Lifetime().Seconds())
			}
			c.drops.WithLabelValues(dir, dropReason(ev), requestedBy(ev)).Inc()
		}
	}
}

func (c *Collector) isKnown(key connKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.known[key] != nil
}

func direction(p *p2p.Peer) string {
	if p.Inbound() {
		return dirInbound
	}
	return dirOutbound
}

func class(p *p2p.Peer) string {
	switch {
	case p.Trusted():
		return classTrusted
	case p.StaticDialed():
		return classStatic
	default:
		return classDynamic
	}
}

func dropReason(ev *p2p.PeerEvent) string {
	if ev.Reason == nil {
		return "unknown"
	}
	return ev.Reason.String()
}

func requestedBy(ev *p2p.PeerEvent) string {
	if ev.RemoteRequested {
		return "remote"
	}
	return "local"
}
