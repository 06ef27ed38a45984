// Package dialsched is the outbound dial scheduler of the p2p server.
//
// A Scheduler keeps the configured static nodes connected and fills the
// remaining outbound slots with candidates read from an enode.Iterator
// (discovery, DNS lists). It owns all dial state on one goroutine; the server
// tells it about peers and pending inbound connections through methods that
// are channel sends, and it hands every established TCP connection to the
// server's SetupFunc, which runs the handshakes and adds the peer.
//
// # Policy
//
// Slots. The outbound target is Config.MaxDialPeers. Static dials are not
// held back by it: a static node that may be dialed (see Checks and Backoff)
// is dialed as soon as fewer than MaxActiveDials dials are in flight, even
// while the dynamic slots are full, as go-ethereum's old dialer did. Dynamic
// and bootnode dials fill what is left of the target after every dialed
// peer and every dial in flight, static ones included: the scheduler starts
// at most
//
//	min(MaxDialPeers − dialed peers, MaxActiveDials) − dials in flight
//
// of them. So static nodes reduce dynamic dialing one for one, dynamic
// dials never take the dialed peers beyond the target, and only static
// nodes do (a connected static node is kept; no dynamic peer is dropped for
// it, but none replaces a dynamic peer that leaves while the static ones
// overshoot). The server applies the same rule at its outbound cap, which
// static connections are exempt from; they still count toward its total
// peer cap.
//
// go-ethereum runs twice as many dynamic dials as free slots; in a network
// where everyone dials the same few nodes that overshoots the target (8
// outbound of a target of 4) and most dials end in "too many peers" after a
// full handshake on both sides. Dialing only for free slots wastes no
// handshakes on success; a refused dial frees its slot when it ends. While no
// slot is free the scheduler stops reading the iterator, so discovery is not
// driven for nothing.
//
// Order. Each turn starts static dials first (chosen at random among the
// static nodes that may be dialed now, up to MaxActiveDials), then, while the node has had no peer
// at all for BootnodeFallback, one bootnode dial (bootnodes are tried one at
// a time, in rotation), then the Config.Priority nodes (the anchors of
// earlier runs), and finally dynamic dials from the iterator. Until every
// priority node has been dialed and its dial has ended, or
// Config.PriorityWait has passed, the iterator is not read.
//
// Preference. Iterator candidates go into a window of up to CandidateWindow
// (the reader runs ahead of the free slots by that many). Each turn drops
// the window's candidates that fail the checks and dials the best by
// Config.Score (ties in order of arrival), as many as slots are free; the
// rest wait for the next free slot. Candidates scoring below
// Config.MinScore are dropped, so the same few dead or hostile nodes are not
// dialed over and over: their failures lower their score (the server's
// reputation) besides backing them off.
//
// Diversity. With Config.Subnet and MaxDialsPerSubnet, a dynamic candidate
// whose subnet already has that many dynamic dialed peers and dynamic dials
// in flight is dropped (and counted). Static nodes and bootnodes are exempt
// and not counted. With Config.TrustedOnly nothing is dialed but static nodes
// that Config.Trusted accepts.
//
// Checks. A node is dialed only if, in this order: it is not ourselves; it
// has a TCP port; it is not being dialed; it is not connected; it has no
// pending inbound connection; its IP is inside Config.NetRestrict; it is not
// banned (Config.Banned); its last dial started more than HistoryExpiration
// ago; and it is not backed off. Iterator candidates must also not be static
// nodes, must have room in their subnet and must score at least MinScore.
// The history interval is a little longer than the 30 s for which a remote
// throttles repeated inbound connections from one IP.
//
// Backoff. A failed dial puts the node ID into a bounded table
// (BackoffTableSize entries, least recently failed evicted) for a time that
// depends on why it failed (see FailureClass and the Backoff constants) and
// doubles with each consecutive failure of the same class, up to MaxBackoff.
// A connection that reaches the peer set clears the entry. Candidates from
// the iterator that are backed off are skipped without any network traffic
// and counted in Stats. Static nodes share the table but wait at most
// MaxStaticBackoff, because an operator asked for them by name, and a
// static node that said it is full is asked again on the connect schedule
// (30 s, doubling) rather than the busy one.
//
// Static nodes. A static node is redialed whenever it is not connected and
// the checks pass, whether or not a dynamic slot is free. When a dial to a static node fails to connect, the task
// asks Config.Resolver (discovery) for the node's current record and, if the
// endpoint changed, dials once more. Resolver lookups per static node are
// throttled: the first is immediate, later ones wait InitialResolveDelay,
// doubling on each miss up to MaxResolveDelay and resetting when the node is
// found. Nodes given by DNS name (enode://…@host:port) are not looked up in
// discovery: the default dialer, TCPDialer, resolves the name at every dial.
//
// # Concurrency
//
// All methods of Scheduler are safe for concurrent use. Calls made after
// Stop return at once and have no effect. The SetupFunc and the Dialer run
// on a goroutine per dial; Config.Classify runs on the scheduler goroutine.
package dialsched
