package p2p

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/rlpx"
)

// Every row of the policy table is checked: each case names a failure and
// the action it must get, and every row must be hit by some case.
func TestPolicyTable(t *testing.T) {
	t.Parallel()
	none := action{}
	short := action{backoff: backoffShort, score: -10}
	tests := []struct {
		f    failure
		want action
	}{
		// tcp
		{failure{PhaseTCP, DirOutbound, ReasonNetwork}, short},
		{failure{PhaseTCP, DirOutbound, ReasonTimeout}, short},
		// ecies
		{failure{PhaseECIES, DirInbound, ReasonReplay}, action{ban: banIP, banTTL: time.Hour}},
		{failure{PhaseECIES, DirInbound, ReasonTooLarge}, action{ban: banIP, banTTL: 10 * time.Minute}},
		{failure{PhaseECIES, DirInbound, ReasonTimeout}, none},
		{failure{PhaseECIES, DirInbound, ReasonInvalid}, none},
		{failure{PhaseECIES, DirOutbound, ReasonTimeout}, short},
		{failure{PhaseECIES, DirOutbound, ReasonNetwork}, short},
		{failure{PhaseECIES, DirOutbound, ReasonInvalid}, action{backoff: backoffHandshake, score: -50}},
		// transport breaches after the encryption handshake
		{failure{PhaseHello, DirInbound, ReasonMAC}, severe},
		{failure{PhaseHello, DirOutbound, ReasonTooLarge}, severe},
		{failure{PhaseRunning, DirInbound, ReasonSnappy}, severe},
		{failure{PhaseRunning, DirOutbound, ReasonFrame}, severe},
		// local decisions about the remote
		{failure{PhaseHello, DirInbound, "breach of protocol"}, severe},
		{failure{PhaseRunning, DirInbound, ReasonFlood}, severe},
		{failure{PhaseHello, DirInbound, "unexpected identity"},
			action{backoff: backoffHandshake, score: -500, ban: banIDInboundIP, banTTL: 10 * time.Minute, idTTL: time.Hour}},
		{failure{PhaseHello, DirOutbound, "incompatible p2p protocol version"}, action{backoff: backoffProtocol, score: -50}},
		{failure{PhaseRunning, DirOutbound, "subprotocol error"}, action{backoff: backoffProtocol, score: -100}},
		{failure{PhaseAdmission, DirOutbound, "useless peer"}, action{backoff: backoffProtocol, score: -20}},
		{failure{PhaseRunning, DirInbound, ReasonTimeout}, action{backoff: backoffShort, score: -20}},
		{failure{PhaseRunning, DirOutbound, ReasonNetwork}, action{backoff: backoffShort, score: -5}},
		{failure{PhaseAdmission, DirOutbound, "connected to self"}, action{backoff: backoffSelf}},
		// what the remote sent
		{failure{PhaseHello, DirOutbound, "remote:too many peers"}, action{backoff: backoffBusy}},
		{failure{PhaseRunning, DirOutbound, "remote:already connected"}, action{backoff: backoffBusy}},
		{failure{PhaseHello, DirOutbound, "remote:useless peer"}, action{backoff: backoffProtocol, score: -20}},
		{failure{PhaseRunning, DirInbound, "remote:breach of protocol"}, action{backoff: backoffProtocol, score: -20}},
		{failure{PhaseHello, DirOutbound, "remote:unexpected identity"}, action{backoff: backoffHandshake, score: -20}},
		{failure{PhaseHello, DirOutbound, "remote:read timeout"}, action{backoff: backoffShort}},
		{failure{PhaseRunning, DirOutbound, "remote:unknown"}, action{backoff: backoffShort}},
		{failure{PhaseRunning, DirOutbound, "remote:client quitting"}, none},
		{failure{PhaseHello, DirInbound, "remote:disconnect requested"}, none},
		// our own decisions
		{failure{PhaseAdmission, DirOutbound, "too many peers"}, action{backoff: backoffBusy}},
		{failure{PhaseAdmission, DirOutbound, "already connected"}, action{backoff: backoffBusy}},
		{failure{PhaseAdmission, DirInbound, "too many peers"}, none},
		{failure{PhaseRunning, DirInbound, "already connected"}, none},
		{failure{PhaseRunning, DirOutbound, "client quitting"}, none},
		{failure{PhaseRunning, DirOutbound, "disconnect requested"}, none},
		// the rest
		{failure{PhaseHello, DirOutbound, ReasonUnknown}, action{backoff: backoffShort, score: -5}},
	}
	hit := make([]bool, len(policyTable))
	for _, tc := range tests {
		i := lookupRule(tc.f)
		hit[i] = true
		if got := policyTable[i].act; got != tc.want {
			t.Errorf("%s: action %+v (row %d), want %+v", tc.f.key(), got, i, tc.want)
		}
	}
	for i, ok := range hit {
		if !ok {
			t.Errorf("row %d (%+v) is not checked", i, policyTable[i])
		}
	}
}

// flood is an error that names its policy reason, as a rate limit's does.
type floodError struct{}

func (floodError) Error() string        { return "too many pings" }
func (floodError) PolicyReason() string { return ReasonFlood }

type replayError struct{}

func (replayError) Error() string        { return "auth message seen before" }
func (replayError) PolicyReason() string { return ReasonReplay }

// Each attack of issue 6 produces a failure (built here from the errors the
// code returns) that the table maps to the intended action.
func TestPolicyAttacks(t *testing.T) {
	t.Parallel()
	timeout := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	encErr := func(err error) error { return fmt.Errorf("%w: %w", errEncHandshake, err) }
	tests := []struct {
		attack  string
		key     string
		banID   bool // the node ID is banned
		banIP   bool // the IP is banned (inbound)
		penalty bool // the reputation drops
		f       failure
	}{
		{attack: "connection flood: handshakes never finished", key: "ecies/inbound/timeout",
			f: classifySetup(DirInbound, encErr(&rlpx.HandshakeError{Phase: "read", Err: timeout}))},
		{attack: "slow client: auth trickled byte by byte", key: "ecies/inbound/timeout",
			f: classifySetup(DirInbound, encErr(&rlpx.HandshakeError{Phase: "read", Err: timeout}))},
		{attack: "bad MAC after the handshake", key: "hello/inbound/mac", banID: true, banIP: true, penalty: true,
			f: classifySetup(DirInbound, readError(fmt.Errorf("read: %w", rlpx.ErrHeaderMAC)))},
		{attack: "oversized frame header", key: "hello/inbound/too-large", banID: true, banIP: true, penalty: true,
			f: classifySetup(DirInbound, readError(fmt.Errorf("%w: frame of 16777215 bytes, limit 2048", rlpx.ErrMessageTooLarge)))},
		{attack: "snappy bomb", key: "running/inbound/too-large", banID: true, banIP: true, penalty: true,
			f: classifyDrop(DirInbound, readError(fmt.Errorf("%w: 33554432 bytes after decompression", rlpx.ErrMessageTooLarge)), false)},
		{attack: "garbage Hello", key: "hello/inbound/breach of protocol", banID: true, banIP: true, penalty: true,
			f: classifySetup(DirInbound, &PeerError{Reason: DiscProtocolError, Msg: "invalid Hello", Err: errors.New("rlp: too short")})},
		{attack: "Hello with another node's ID", key: "hello/inbound/unexpected identity", banID: true, banIP: true, penalty: true,
			f: classifySetup(DirInbound, newPeerError(DiscUnexpectedIdentity, "Hello ID differs from the handshake key"))},
		{attack: "ping flood", key: "running/inbound/flood", banID: true, banIP: true, penalty: true,
			f: classifyDrop(DirInbound, &PeerError{Reason: DiscProtocolError, Err: floodError{}}, false)},
		{attack: "replayed auth", key: "ecies/inbound/replay", banIP: true,
			f: classifySetup(DirInbound, encErr(&rlpx.HandshakeError{Phase: "decode", Err: replayError{}}))},
		{attack: "16 MiB message trickled", key: "running/inbound/timeout", penalty: true,
			f: classifyDrop(DirInbound, readError(timeout), false)},
		{attack: "subnet fill (inbound, refused at admission)", key: "admission/inbound/too many peers",
			f: classifySetup(DirInbound, &PeerError{Reason: DiscTooManyPeers, Msg: stageCheckpoint2})},
	}
	for _, tc := range tests {
		if tc.f.key() != tc.key {
			t.Errorf("%s: failure %s, want %s", tc.attack, tc.f.key(), tc.key)
			continue
		}
		a := lookupAction(tc.f)
		banID := a.ban == banID || a.ban == banIDInboundIP
		banIP := a.ban == banIP || a.ban == banIDInboundIP
		if banID != tc.banID || banIP != tc.banIP || (a.score < 0) != tc.penalty {
			t.Errorf("%s (%s): action %+v, want ID ban %v, IP ban %v, penalty %v", tc.attack, tc.key, a, tc.banID, tc.banIP, tc.penalty)
		}
	}
}

// Errors are classified into the closed set of reasons.
func TestFailureReason(t *testing.T) {
	t.Parallel()
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		err    error
		remote bool
		want   string
	}{
		{fmt.Errorf("%w: %w", errEncHandshake, &rlpx.HandshakeError{Phase: "read", Err: io.EOF}), false, ReasonNetwork},
		{fmt.Errorf("%w: %w", errEncHandshake, &rlpx.HandshakeError{Phase: "decrypt", Err: errors.New("x")}), false, ReasonInvalid},
		{fmt.Errorf("%w: %w", errEncHandshake, rlpx.ErrHandshakeTooLarge), false, ReasonTooLarge},
		{errNoPubkey, false, ReasonInvalid},
		{readError(rlpx.ErrFrameMAC), false, ReasonMAC},
		{readError(rlpx.ErrSnappy), false, ReasonSnappy},
		{readError(rlpx.ErrEmptyFrame), false, ReasonFrame},
		{readError(rlpx.ErrMessageCode), false, ReasonFrame},
		{readError(io.EOF), false, ReasonNetwork},
		{&PeerError{Reason: DiscReadTimeout}, false, ReasonTimeout},
		{DiscTooManyPeers, true, "remote:too many peers"},
		{DiscInvalid, true, "remote:unknown"},
		{DiscUselessPeer, false, "useless peer"},
		{errProtocolReturned, false, "client quitting"},
		{errors.New("bad block"), false, "subprotocol error"},
		{refused, false, ReasonNetwork},
		{&PeerError{Reason: DiscProtocolError, Err: floodError{}}, false, ReasonFlood},
	}
	for _, tc := range tests {
		if got := failureReason(tc.err, tc.remote); got != tc.want {
			t.Errorf("failureReason(%v, %v) = %q, want %q", tc.err, tc.remote, got, tc.want)
		}
	}
	// The remote's Disconnect instead of Hello is "remote:".
	if f := classifySetup(DirOutbound, DiscTooManyPeers); f.key() != "hello/outbound/remote:too many peers" {
		t.Errorf("remote refusal: %s", f.key())
	}
}

// The dial scheduler backs off a dropped peer by classifyError, which reads
// the setup rows: for every reason those must give a running peer the same
// tier, or both a tier the scheduler ignores for dropped peers (≤ connect).
func TestPolicyRunningTiers(t *testing.T) {
	t.Parallel()
	reasons := []string{}
	for r := range knownReasons {
		reasons = append(reasons, r)
	}
	for d := DiscReason(0); d < 0x20; d++ {
		if d.Valid() {
			reasons = append(reasons, d.String(), remote(d))
		}
	}
	for _, r := range reasons {
		for _, dir := range []string{DirInbound, DirOutbound} {
			run := lookupAction(failure{PhaseRunning, dir, r}).backoff
			hello := lookupAction(failure{PhaseHello, dir, r}).backoff
			if run != hello && (run > backoffShort || hello > backoffShort) {
				t.Errorf("%s/%s: running tier %v, hello tier %v", dir, r, run, hello)
			}
		}
	}
}

// Nodes made trusted after Start are trusted by the policy too: their
// penalties are capped and, in trusted-only mode, they may be dialed.
func TestPolicyTrustedAfterStart(t *testing.T) {
	pn := newPipeNet()
	a := startPipeServer(t, pn, "127.0.8.1", nil)
	b := startPipeServer(t, pn, "127.0.8.2", nil)
	if a.dialTrusted(b.node.ID()) {
		t.Fatal("b trusted before AddTrustedPeer")
	}
	a.AddTrustedPeer(b.node)
	if !a.dialTrusted(b.node.ID()) {
		t.Fatal("b not trusted after AddTrustedPeer")
	}
	a.RemoveTrustedPeer(b.node)
	if a.dialTrusted(b.node.ID()) {
		t.Fatal("b still trusted after RemoveTrustedPeer")
	}
}
