// Package admintest checks our admin JSON-RPC API (package admin over a
// running p2p.Server) with go-ethereum's own rpc client, over HTTP and
// WebSocket: every result decodes into go-ethereum's types (p2p.NodeInfo,
// p2p.PeerInfo, p2p.PeerEvent, hexutil.Uint) with the expected values, and
// bad requests give the errors a go-ethereum node gives. The reference is
// go-ethereum's p2p.Server with go-ethereum's admin API (a copy of
// node.adminAPI) on go-ethereum's rpc.Server; that server is also the peer
// ours connects to.
package admintest
