// Package nattest provides a fake NAT-PMP gateway (RFC 6886) on loopback
// for tests of the nat package and of programs that use it.
package nattest

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// PMP is a fake NAT-PMP gateway (RFC 6886) on a loopback address. The
// client library always sends to port 5351, so each fake listens on port
// 5351 of its own address in 127.0.0.0/8 (any of which reaches the
// loopback interface on Linux); the address is what tests inject, as
// "pmp:<IP>" or PMP(ip).
type PMP struct {
	// Addr is the gateway's address; its port is always 5351.
	Addr netip.Addr

	t     testing.TB
	conn  *net.UDPConn
	start time.Time
	done  chan struct{}

	mu       sync.Mutex // guards following
	state    PMPState
	mappings map[pmpKey]PMPMapping
	requests int
}

// PMPState is the behaviour of a fake gateway that tests may change with Set.
type PMPState struct {
	ExtIP      netip.Addr      // the external address it reports
	ResultCode uint16          // non-zero: every request fails with it
	Silent     bool            // drop every request
	Taken      map[uint16]bool // external ports held by other hosts
}

// PMPMapping is a mapping the gateway holds.
type PMPMapping struct {
	Ext      uint16 // external port
	Lifetime uint32 // seconds
}

// NAT-PMP opcodes (RFC 6886 §3.2, §3.3).
const (
	OpExternal = 0
	OpUDP      = 1
	OpTCP      = 2
)

// DefaultExtIP is the external address a new fake gateway reports.
var DefaultExtIP = netip.MustParseAddr("203.0.113.7")

type pmpKey struct {
	op      byte
	intPort uint16
}

// NewPMP starts a fake gateway; it stops when the test ends. It skips the
// test if no loopback address has port 5351 free.
func NewPMP(t testing.TB) *PMP {
	t.Helper()
	conn := listenPMP(t)
	g := &PMP{
		Addr:     conn.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(),
		t:        t,
		conn:     conn,
		start:    time.Now(),
		done:     make(chan struct{}),
		state:    PMPState{ExtIP: DefaultExtIP, Taken: make(map[uint16]bool)},
		mappings: make(map[pmpKey]PMPMapping),
	}
	go g.serve()
	t.Cleanup(func() {
		conn.Close()
		<-g.done
	})
	return g
}

// listenPMP binds UDP port 5351 on a random 127.0.0.0/8 address, or on
// 127.0.0.1 where only that one is configured. It skips the test if the
// port is in use everywhere it tries.
func listenPMP(t testing.TB) *net.UDPConn {
	var lastErr error
	for range 20 {
		ip := randomLoopbackIP()
		conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 5351)))
		if err == nil {
			return conn
		}
		lastErr = err
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5351})
	if err != nil {
		t.Skipf("cannot bind a fake NAT-PMP gateway on loopback port 5351: %v; %v", lastErr, err)
	}
	return conn
}

func randomLoopbackIP() netip.Addr {
	return netip.AddrFrom4([4]byte{127, byte(1 + rand.IntN(254)), byte(rand.IntN(256)), byte(2 + rand.IntN(253))})
}

// FreeLoopbackIP returns a loopback address where nothing listens on 5351.
func FreeLoopbackIP(t testing.TB) netip.Addr {
	conn := listenPMP(t)
	ip := conn.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
	conn.Close()
	return ip
}

// Set changes the gateway's behaviour under its lock.
func (g *PMP) Set(fn func(*PMPState)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	fn(&g.state)
}

// Mapping returns the mapping of intPort for op (OpUDP or OpTCP).
func (g *PMP) Mapping(op byte, intPort uint16) (PMPMapping, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m, ok := g.mappings[pmpKey{op, intPort}]
	return m, ok
}

// Requests returns the number of requests received.
func (g *PMP) Requests() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.requests
}

func (g *PMP) serve() {
	defer close(g.done)
	buf := make([]byte, 64)
	for {
		n, from, err := g.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				g.t.Errorf("fake NAT-PMP gateway: %v", err)
			}
			return
		}
		if resp := g.handle(buf[:n]); resp != nil {
			g.conn.WriteToUDPAddrPort(resp, from)
		}
	}
}

// handle answers one request as RFC 6886 §3 says.
func (g *PMP) handle(req []byte) []byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests++
	if g.state.Silent || len(req) < 2 {
		return nil
	}
	op := req[1]
	epoch := uint32(time.Since(g.start) / time.Second)
	header := func(size int, code uint16) []byte {
		resp := make([]byte, size)
		resp[1] = 128 + op
		binary.BigEndian.PutUint16(resp[2:], code)
		binary.BigEndian.PutUint32(resp[4:], epoch)
		return resp
	}
	switch {
	case req[0] != 0:
		return header(8, 1) // §3.5: Unsupported Version
	case op == OpExternal && len(req) == 2:
		resp := header(12, g.state.ResultCode)
		if g.state.ResultCode == 0 {
			ip := g.state.ExtIP.As4()
			copy(resp[8:], ip[:])
		}
		return resp
	case (op == OpUDP || op == OpTCP) && len(req) == 12:
		resp := header(16, g.state.ResultCode)
		if g.state.ResultCode != 0 {
			return resp
		}
		intPort := binary.BigEndian.Uint16(req[4:])
		suggested := binary.BigEndian.Uint16(req[6:])
		lifetime := binary.BigEndian.Uint32(req[8:])
		key := pmpKey{op, intPort}
		binary.BigEndian.PutUint16(resp[8:], intPort)
		if lifetime == 0 { // §3.4: delete
			delete(g.mappings, key)
			return resp
		}
		m, ok := g.mappings[key]
		if !ok {
			m.Ext = g.freePortLocked(op, suggested)
		}
		m.Lifetime = lifetime
		g.mappings[key] = m
		binary.BigEndian.PutUint16(resp[10:], m.Ext)
		binary.BigEndian.PutUint32(resp[12:], m.Lifetime)
		return resp
	default:
		return header(8, 5) // §3.5: Unsupported opcode
	}
}

// freePortLocked returns the suggested port if no one holds it, else the
// first free port from 40000.
func (g *PMP) freePortLocked(op byte, suggested uint16) uint16 {
	used := func(p uint16) bool {
		if g.state.Taken[p] {
			return true
		}
		for k, m := range g.mappings {
			if k.op == op && m.Ext == p {
				return true
			}
		}
		return false
	}
	if suggested != 0 && !used(suggested) {
		return suggested
	}
	p := uint16(40000)
	for used(p) {
		p++
	}
	return p
}
