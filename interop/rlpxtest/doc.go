// Package rlpxtest runs our RLPx transport against go-ethereum's p2p/rlpx,
// each side in each role, over TCP on loopback and over net.Pipe.
package rlpxtest
