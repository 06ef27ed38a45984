// Package servertest runs our p2p.Server against go-ethereum's p2p.Server on
// loopback TCP: dials both ways, a shared test protocol with messages both
// ways, peer limits and trusted peers, capability mismatch, every disconnect
// reason in both directions, and static peers that come back after the
// remote restarts.
//
// What the two servers decide before a peer is added (refusals at the
// checkpoints) produces no peer event in either implementation, so those
// tests read the decision from each server's logger: both log the setup
// error as an "err" attribute.
package servertest
