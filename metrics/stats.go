package metrics

import (
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/devp2p-go/devp2p/discover"
	"github.com/devp2p-go/devp2p/p2p"
)

// The series read from p2p.Server.Stats when scraped: connection setups,
// the dial scheduler, discovery v4, the peer store and the traffic of each
// sub-protocol.
var (
	pendingDesc = prometheus.NewDesc("p2p_pending_handshakes",
		"Connections in their handshakes (accepted or dialed, not yet peers or refused), by direction.",
		[]string{"direction"}, nil)
	handshakeFailDesc = prometheus.NewDesc("p2p_handshake_failures_total",
		"Failed connection setups by phase (rlpx, checkpoint1, hello, checkpoint2) and reason "+
			"(the disconnect reason, or timeout, network or invalid for the encryption handshake).",
		[]string{"phase", "reason"}, nil)
	dialsDesc = prometheus.NewDesc("p2p_dials_total",
		"Finished dials by kind (dynamic, static, bootnode) and result (succeeded: the peer was added; failed).",
		[]string{"kind", "result"}, nil)
	dialFailDesc = prometheus.NewDesc("p2p_dial_failures_total",
		"Failed dials by class: connect, busy, handshake, protocol, self, none (cut short by stop, failed lookups).",
		[]string{"class"}, nil)
	dialingDesc = prometheus.NewDesc("p2p_dials_in_flight",
		"Dials in flight.", nil, nil)
	backedOffDesc = prometheus.NewDesc("p2p_dial_backoff_nodes",
		"Nodes the dial scheduler holds back after failed dials, by the class of the last failure "+
			"(connect, busy, handshake, protocol, self).",
		[]string{"class"}, nil)
	dialSkippedDesc = prometheus.NewDesc("p2p_dial_candidates_skipped_total",
		"Dial candidates not dialed, by why: backoff, score (reputation below the dial threshold), "+
			"subnet (its subnet had its share of outbound peers), banned, or another check (connected, self, restricted, …).",
		[]string{"why"}, nil)
	failuresDesc = prometheus.NewDesc("p2p_failures_total",
		"Failed connection setups and ended peers by phase (tcp, ecies, hello, admission, running), "+
			"direction (inbound, outbound) and reason, as the peer policy classifies them (docs/peer-policy.md).",
		[]string{"phase", "direction", "reason"}, nil)
	bansDesc = prometheus.NewDesc("p2p_bans",
		"Bans in force, one per banned node ID or IP address.", nil, nil)

	listenRejectedDesc = prometheus.NewDesc("p2p_listener_rejected_total",
		"Inbound connections closed before any cryptography, by reason (docs/limits.md): not in netrestrict list, "+
			"banned IP, not a trusted node's IP, too many attempts, too many pending handshakes from IP, "+
			"too many pending handshakes from subnet, no inbound slot free, subnet has its share of inbound peers.",
		[]string{"reason"}, nil)
	courtesyDesc = prometheus.NewDesc("p2p_listener_courtesy_total",
		"Inbound connections of a full server given the encryption handshake to be told why they are "+
			"refused (too many peers).", nil, nil)
	evictTriesDesc = prometheus.NewDesc("p2p_listener_eviction_handshakes_total",
		"Inbound connections of a full server given the handshakes because an inbound peer could be "+
			"evicted for them.", nil, nil)
	evictedDesc = prometheus.NewDesc("p2p_inbound_evictions_total",
		"Inbound peers evicted (disconnected with too many peers) to make room for a peer from another subnet.",
		nil, nil)
	stalledDesc = prometheus.NewDesc("p2p_stalled_setups_closed_total",
		"Inbound connection setups closed to make room for new ones: with every waiting slot taken, the "+
			"connection that waited longest for its auth packet; with every handshake slot taken, setups "+
			"stalled before their Hello.", nil, nil)
	stalledHelloDesc = prometheus.NewDesc("p2p_stalled_hello_closed_total",
		"Inbound connection setups closed to make room for new ones because they had waited too long for "+
			"the remote's Hello (a subset of p2p_stalled_setups_closed_total).", nil, nil)

	discPacketsDesc = prometheus.NewDesc("p2p_discovery_packets_total",
		"Discovery v4 datagrams by direction and packet type (unknown: inbound datagrams of no known type).",
		[]string{"direction", "type"}, nil)
	discBytesDesc = prometheus.NewDesc("p2p_discovery_bytes_total",
		"Discovery v4 datagram bytes by direction.", []string{"direction"}, nil)
	discDropsDesc = prometheus.NewDesc("p2p_discovery_dropped_packets_total",
		"Inbound discovery v4 packets dropped, by reason (bad-neighbor counts nodes of Neighbors packets).",
		[]string{"reason"}, nil)
	discTimeoutsDesc = prometheus.NewDesc("p2p_discovery_timeouts_total",
		"Discovery v4 requests that got no complete reply in time.", nil, nil)
	discWriteErrDesc = prometheus.NewDesc("p2p_discovery_write_errors_total",
		"Discovery v4 sends that failed.", nil, nil)
	discTableDesc = prometheus.NewDesc("p2p_discovery_table_nodes",
		"Nodes in the discovery table, in its buckets (live) and in their replacement lists (replacement).",
		[]string{"list"}, nil)
	discValidatedDesc = prometheus.NewDesc("p2p_discovery_table_validated_nodes",
		"Nodes in the discovery table's buckets whose last liveness check succeeded.", nil, nil)

	protoMsgsDesc = prometheus.NewDesc("p2p_protocol_messages_total",
		"Messages of each sub-protocol (by protocol name) by direction, over all peers.",
		[]string{"protocol", "direction"}, nil)
	protoBytesDesc = prometheus.NewDesc("p2p_protocol_bytes_total",
		"Payload bytes of the messages of each sub-protocol (by protocol name) by direction, "+
			"before compression and framing, over all peers.",
		[]string{"protocol", "direction"}, nil)

	peerStoreDesc = prometheus.NewDesc("p2p_peerstore_writes_total",
		"Peer store records by outcome: written, failed, or dropped because the disk fell behind.",
		[]string{"result"}, nil)
)

// statsDescs are the descriptors of the Stats series.
var statsDescs = []*prometheus.Desc{
	pendingDesc, handshakeFailDesc, dialsDesc, dialFailDesc, dialingDesc, backedOffDesc, dialSkippedDesc,
	failuresDesc, bansDesc, listenRejectedDesc, courtesyDesc, evictTriesDesc, evictedDesc, stalledDesc, stalledHelloDesc,
	discPacketsDesc, discBytesDesc, discDropsDesc, discTimeoutsDesc, discWriteErrDesc, discTableDesc,
	discValidatedDesc, peerStoreDesc, protoMsgsDesc, protoBytesDesc,
}

// backoffClasses are the failure classes that back off a node, always
// exported so that a class's gauge drops to zero rather than vanishing.
var backoffClasses = []string{"connect", "busy", "handshake", "protocol", "self"}

// discPacketTypes names the indexes of discover.Stats.PacketsIn and
// PacketsOut: the discv4 packet types 1 to 6, and 0 for unknown ones.
var discPacketTypes = []string{"unknown", "ping", "pong", "findnode", "neighbors", "enrrequest", "enrresponse"}

// collectStats sends the series of one Stats snapshot. Discovery series
// are left out while discovery does not run.
func collectStats(ch chan<- prometheus.Metric, st p2p.ServerStats) {
	gauge := func(d *prometheus.Desc, v int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}

	gauge(pendingDesc, st.PendingInbound, dirInbound)
	gauge(pendingDesc, st.PendingOutbound, dirOutbound)
	for phase, reasons := range st.HandshakeFailures {
		for reason, n := range reasons {
			counter(handshakeFailDesc, n, phase, reason)
		}
	}

	for _, k := range []struct {
		kind string
		c    p2p.DialCounts
	}{{"dynamic", st.Dials.Dynamic}, {"static", st.Dials.Static}, {"bootnode", st.Dials.Bootnode}} {
		counter(dialsDesc, k.c.Succeeded, k.kind, "succeeded")
		counter(dialsDesc, k.c.Failed, k.kind, "failed")
	}
	for class, n := range st.Dials.Failures {
		counter(dialFailDesc, n, class)
	}
	gauge(dialingDesc, st.Dials.Dialing)
	for _, class := range backoffClasses {
		gauge(backedOffDesc, st.Dials.BackedOffByClass[class], class)
	}
	for class, n := range st.Dials.BackedOffByClass {
		if !slices.Contains(backoffClasses, class) {
			gauge(backedOffDesc, n, class)
		}
	}
	counter(dialSkippedDesc, st.Dials.SkippedBackoff, "backoff")
	counter(dialSkippedDesc, st.Dials.SkippedScore, "score")
	counter(dialSkippedDesc, st.Dials.SkippedSubnet, "subnet")
	counter(dialSkippedDesc, st.Dials.SkippedBanned, "banned")
	counter(dialSkippedDesc, st.Dials.Discarded, "other")
	for key, n := range st.Failures {
		if phase, rest, ok := strings.Cut(key, "/"); ok {
			if dir, reason, ok := strings.Cut(rest, "/"); ok {
				counter(failuresDesc, n, phase, dir, reason)
			}
		}
	}
	gauge(bansDesc, st.Bans)
	for reason, n := range st.Listener.Rejected {
		counter(listenRejectedDesc, n, reason)
	}
	counter(courtesyDesc, st.Listener.Courtesy)
	counter(evictTriesDesc, st.Listener.EvictTries)
	counter(evictedDesc, st.Listener.Evicted)
	counter(stalledDesc, st.Listener.StalledClosed)
	counter(stalledHelloDesc, st.Listener.StalledHello)

	if d := st.Discovery; d != nil {
		collectDiscovery(ch, d, gauge, counter)
	}

	counter(peerStoreDesc, st.PeerStore.Written, "written")
	counter(peerStoreDesc, st.PeerStore.Failed, "failed")
	counter(peerStoreDesc, st.PeerStore.Dropped, "dropped")

	for name, ps := range st.Protocols {
		counter(protoMsgsDesc, ps.MsgsIn, name, dirInbound)
		counter(protoMsgsDesc, ps.MsgsOut, name, dirOutbound)
		counter(protoBytesDesc, ps.BytesIn, name, dirInbound)
		counter(protoBytesDesc, ps.BytesOut, name, dirOutbound)
	}
}

func collectDiscovery(ch chan<- prometheus.Metric, d *discover.Stats,
	gauge func(*prometheus.Desc, int, ...string), counter func(*prometheus.Desc, uint64, ...string)) {
	for i := range d.PacketsIn {
		if i < len(discPacketTypes) {
			counter(discPacketsDesc, d.PacketsIn[i], dirInbound, discPacketTypes[i])
		}
	}
	for i := range d.PacketsOut {
		if i > 0 && i < len(discPacketTypes) { // nothing unknown is sent
			counter(discPacketsDesc, d.PacketsOut[i], dirOutbound, discPacketTypes[i])
		}
	}
	counter(discBytesDesc, d.BytesIn, dirInbound)
	counter(discBytesDesc, d.BytesOut, dirOutbound)
	for i := range d.Drops {
		counter(discDropsDesc, d.Drops[i], discover.DropReason(i).String())
	}
	counter(discTimeoutsDesc, d.Timeouts)
	counter(discWriteErrDesc, d.WriteErrors)
	gauge(discTableDesc, d.TableNodes, "live")
	gauge(discTableDesc, d.TableReplacements, "replacement")
	gauge(discValidatedDesc, d.Validated)
}
