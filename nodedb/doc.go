// Package nodedb is the persistent node database of discovery and the peer
// store of the daemon, in one go.etcd.io/bbolt file (or in memory).
//
// # What it keeps
//
// For discovery, like go-ethereum's node DB (p2p/enode/nodedb.go): the
// records of nodes seen, and per node and IP address the time of the last
// ping and pong received and the number of failed findnode requests; the
// sequence number of our own record; random recently seen nodes to seed the
// table after a restart (QuerySeeds); expiry of nodes not seen for a day
// (Expire). For the daemon and the peer policy, in a separate bucket: one
// PeerRecord per peer we were connected to, with how long and how it ended,
// reputation and anchor flag, and the choice of peers to dial first after a
// restart (BestOutboundPeers); and the bans of node IDs and IP addresses
// (BanRecord: end, reason, automatic or not; PutBan, DeleteBan, Bans).
//
// # Layout and encoding
//
// The file has the buckets meta, nodes, nodeip, local, peers and bans. Keys
// are binary: a node ID is its 32 bytes; an IP address is its 16-byte form
// (IPv4 as IPv4-mapped IPv6, so 10.0.0.1 and ::ffff:10.0.0.1 are the same
// key; an IPv6 zone is dropped); a per-IP key is the ID followed by the IP
// address. Every value is one RLP list:
//
//	meta/"version"         [schema version]
//	nodes/<id>             [record, hostname, orphan mark]
//	nodeip/<id><ip16>      [last ping, last pong, findnode failures]
//	local/<id>             [sequence number of our record]
//	peers/<id>             [node, first seen, last connected, last
//	                        disconnected, total connected, sessions,
//	                        last outbound, last reason, score, 0,
//	                        anchor]
//	bans/<id> or bans/<ip16>
//	                       [until, reason, auto]
//
// Times are Unix nanoseconds, 0 meaning "never" (the zero Time reads back as
// the zero Time); durations are nanoseconds; booleans are 0 or 1; the score
// is zigzag-encoded (0, -1, 1, -2, … as 0, 1, 2, 3, …); the reason of a ban
// is a string. The 0 in a peer value is the former ban end (see below). A
// record is the node's EIP-778 record in its RLP form, verified again with
// Config.Schemes whenever it is read; the record of a node made from an
// enode:// URL (no identity scheme, empty signature) is stored with its
// empty signature and read back as such. The hostname is "" for nodes
// without one. The orphan mark is left out while it is 0 (see Expire). The
// node of a peer is a nodes value, or the empty list if unknown.
//
// Readers ignore well-formed elements appended after the ones they know, so
// a field can be added without a new schema version. A value that does not
// decode is skipped by every reader (never a panic) and deleted by Expire and
// ExpirePeers; a peer record whose node does not verify keeps everything but
// the node. Expire also deletes the bans that have ended.
//
// meta/"version" holds the schema version, 2 today. Open refuses a file
// with a newer version (ErrNewerVersion) without touching it. An older
// version is migrated step by step; a version that has no migration step
// (today only a file without version: not written by this package) is reset:
// all its data is deleted. Version 1 kept the end of a ban of a node ID in
// its peer value (the element that is 0 now) and had no bans bucket; the
// step to 2 moves each such ban into bans (without a reason, not automatic)
// and zeroes the element. Node data is a cache that discovery refills, so a
// reset costs a slower first start, nothing more.
//
// # Writes
//
// A bbolt commit waits for the disk (fdatasync: a fraction of a millisecond
// to several milliseconds). The frequent writes of discovery (UpdateNode and
// the per-IP updates) are therefore buffered in memory and committed
// together: by the first write made Config.FlushInterval (1 s) or more after
// the oldest buffered one, or when Config.MaxBuffered writes are buffered,
// or by Flush, Maintain, Expire, QuerySeeds and Close. The call that commits
// pays for the commit. Readers see buffered values at once. A crash of the
// process can lose the buffered writes, never the file. The writes that must
// not be lost (StoreLocalSeq, DeleteNode, the peer store's PutPeer,
// DeletePeer and ExpirePeers, and PutBan and DeleteBan) are committed before
// they return.
//
// # No goroutines
//
// The DB starts no goroutines and runs nothing by itself. Callers call
// Maintain from a loop they already have (it commits old buffered writes
// and runs Expire hourly), or Expire and Flush on their own schedule, and
// ExpirePeers as their peer policy sees fit.
package nodedb
