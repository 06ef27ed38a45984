// Package enrtest checks our node records, node IDs and enode:// URLs against
// go-ethereum's p2p/enr and p2p/enode, in both directions.
package enrtest
