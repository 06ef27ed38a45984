package p2p

import (
	crand "crypto/rand"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/devp2p-go/devp2p/internal/mclock"
)

// An auth packet is the first message of an inbound encryption handshake.
// Answering one costs the responder about seven secp256k1 operations
// (ECIES decryption, the static ECDH, signature recovery, a fresh ephemeral
// key, ECIES encryption of the ack, the ephemeral ECDH), while replaying a
// packet seen on the wire, or one made once, costs the sender nothing. A
// legitimate initiator never sends the same auth twice: each has a fresh
// ephemeral key, nonce and ECIES key. So the server remembers the packets
// it received recently and closes a connection whose auth it has seen,
// before any cryptography on it.
//
// Memory is bounded: packets are remembered as 128-bit keyed hashes in two
// generations of at most replayMaxEntries each, 4.5 MiB of heap when both
// are full (TestReplayFilterMemory), next to nothing while few packets come. The current generation
// becomes the previous one after replayPeriod or as soon as it is full,
// and the previous one is dropped then. A packet is thus remembered until
// replayPeriod has passed or replayMaxEntries other packets have arrived,
// whichever comes first, and never longer than 2×replayPeriod. A replay
// that slips through after that costs what a fresh auth costs: the filter
// does not make a replay cheaper than it was without it.
const (
	replayMaxEntries = 1 << 16
	replayPeriod     = 10 * time.Minute
)

// errAuthReplay is the error of a handshake whose auth packet the server
// has seen recently (the rlpx handshake fails with it, wrapped in
// errEncHandshake). Stats counts it under HandshakePhaseRLPx with the
// reason "replay".
var errAuthReplay error = policyError{"replayed auth packet", ReasonReplay}

// replayKey is the first 128 bits of SHA-256(secret ‖ packet). The secret
// is random per server, so a sender cannot craft a packet whose key
// collides with another's; a chance collision between two of the at most
// 2×replayMaxEntries keys held, a false refusal, has probability below
// 2^-94 per packet. (SHA-256 with the SHA extensions takes 0.37 µs for a
// 420-byte packet on the benchmark machine, next to about 25 µs for
// accepting and closing a TCP connection; a non-cryptographic hash such as
// hash/maphash would save 0.3 µs.)
type replayKey [16]byte

// replayFilter remembers recent auth packets. Its check method is the
// rlpx.Config.AuthFilter of inbound connections. It is safe for concurrent
// use.
type replayFilter struct {
	secret     [32]byte
	clock      mclock.Clock
	period     time.Duration
	maxEntries int

	mu       sync.Mutex // guards following
	cur      map[replayKey]struct{}
	prev     map[replayKey]struct{}
	curStart mclock.AbsTime
}

// newReplayFilter returns a filter with the default period and size.
func newReplayFilter(clock mclock.Clock) *replayFilter {
	return newReplayFilterSize(clock, replayPeriod, replayMaxEntries)
}

func newReplayFilterSize(clock mclock.Clock, period time.Duration, maxEntries int) *replayFilter {
	f := &replayFilter{clock: clock, period: period, maxEntries: maxEntries}
	if _, err := crand.Read(f.secret[:]); err != nil {
		panic("p2p: no randomness for the replay filter: " + err.Error())
	}
	f.curStart = clock.Now()
	return f
}

// key hashes packet with the filter's secret.
func (f *replayFilter) key(packet []byte) (k replayKey) {
	h := sha256.New()
	h.Write(f.secret[:])
	h.Write(packet)
	var sum [sha256.Size]byte
	copy(k[:], h.Sum(sum[:0]))
	return k
}

// check returns errAuthReplay if packet was seen recently, and otherwise
// remembers it.
func (f *replayFilter) check(packet []byte) error {
	k := f.key(packet)
	now := f.clock.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	switch age := now.Sub(f.curStart); {
	case age >= 2*f.period:
		f.cur, f.prev, f.curStart = nil, nil, now
	case age >= f.period:
		f.cur, f.prev, f.curStart = nil, f.cur, now
	}
	if _, ok := f.cur[k]; ok {
		return errAuthReplay
	}
	if _, ok := f.prev[k]; ok {
		return errAuthReplay
	}
	if len(f.cur) >= f.maxEntries {
		f.cur, f.prev, f.curStart = nil, f.cur, now
	}
	if f.cur == nil {
		f.cur = make(map[replayKey]struct{})
	}
	f.cur[k] = struct{}{}
	return nil
}

// len returns the number of packets remembered.
func (f *replayFilter) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.cur) + len(f.prev)
}

// authFilter is the rlpx.Config.AuthFilter of the server's connections:
// the test hook Config.authFilter if set, else the replay filter.
func (srv *Server) authFilter() func([]byte) error {
	if srv.cfg.authFilter != nil {
		return srv.cfg.authFilter
	}
	if srv.replay == nil {
		return nil
	}
	return srv.replay.check
}

// setupAuthFilter returns the auth filter of c's encryption handshake: the
// replay filter and, for inbound connections, the exchange of the waiting
// slot for a handshake slot (see slots.go) before any cryptography.
func (srv *Server) setupAuthFilter(c *conn) func([]byte) error {
	f := srv.authFilter()
	if !c.flags.is(inboundConn) {
		return f
	}
	return func(packet []byte) error {
		if f != nil {
			if err := f(packet); err != nil {
				return err
			}
		}
		if !srv.pendingSlots.authReceived(c.fd.Conn, srv.quit) {
			return ErrServerStopped
		}
		return nil
	}
}
