// Package discv4test runs our Node Discovery v4 (discover, discover/v4wire)
// against go-ethereum's p2p/discover on loopback UDP: mixed networks of both
// implementations (bonding, lookups, ENR requests, Resolve), a raw peer that
// sends well-formed and bad packets to each implementation, and byte-level
// cross-decoding of every packet type with both wire codecs.
package discv4test
