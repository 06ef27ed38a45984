package p2p

import (
	"errors"
	"fmt"
)

// DiscReason is a devp2p disconnect reason, sent in the Disconnect message
// and returned as the error that ended a peer. Codes are those of the
// devp2p RLPx spec; 0x0c–0x0f are unassigned.
type DiscReason uint8

// Disconnect reasons.
const (
	DiscRequested           DiscReason = 0x00
	DiscNetworkError        DiscReason = 0x01
	DiscProtocolError       DiscReason = 0x02
	DiscUselessPeer         DiscReason = 0x03
	DiscTooManyPeers        DiscReason = 0x04
	DiscAlreadyConnected    DiscReason = 0x05
	DiscIncompatibleVersion DiscReason = 0x06
	DiscInvalidIdentity     DiscReason = 0x07
	DiscQuitting            DiscReason = 0x08
	DiscUnexpectedIdentity  DiscReason = 0x09
	DiscSelf                DiscReason = 0x0a
	DiscReadTimeout         DiscReason = 0x0b
	DiscSubprotocolError    DiscReason = 0x10

	// DiscInvalid stands for a reason code we do not know.
	DiscInvalid DiscReason = 0xff
)

// The strings are go-ethereum's, so logs and admin output read the same.
var discReasonStrings = [...]string{
	DiscRequested:           "disconnect requested",
	DiscNetworkError:        "network error",
	DiscProtocolError:       "breach of protocol",
	DiscUselessPeer:         "useless peer",
	DiscTooManyPeers:        "too many peers",
	DiscAlreadyConnected:    "already connected",
	DiscIncompatibleVersion: "incompatible p2p protocol version",
	DiscInvalidIdentity:     "invalid node identity",
	DiscQuitting:            "client quitting",
	DiscUnexpectedIdentity:  "unexpected identity",
	DiscSelf:                "connected to self",
	DiscReadTimeout:         "read timeout",
	DiscSubprotocolError:    "subprotocol error",
}

// Valid reports whether d is an assigned reason code.
func (d DiscReason) Valid() bool {
	return int(d) < len(discReasonStrings) && discReasonStrings[d] != ""
}

// String returns go-ethereum's description of the reason.
func (d DiscReason) String() string {
	if d.Valid() {
		return discReasonStrings[d]
	}
	return fmt.Sprintf("unknown disconnect reason %d", uint8(d))
}

// Error implements error, so a reason can be returned and matched with
// errors.Is and errors.As.
func (d DiscReason) Error() string { return d.String() }

// PeerError is a reason to end a connection decided on this side: a
// protocol violation, a failed admission check or a local I/O failure. The
// connection ends with Reason sent to the remote (except DiscNetworkError,
// which is never sent). errors.As(err, new(*PeerError)) tells a local decision
// from a Disconnect the remote sent, which is returned as a bare DiscReason.
type PeerError struct {
	Reason DiscReason // sent to the remote, unless DiscNetworkError
	Msg    string     // what happened, for logs; may be empty
	Err    error      // the underlying error, if any
}

// Error describes the reason and what happened.
func (e *PeerError) Error() string {
	switch {
	case e.Msg != "" && e.Err != nil:
		return fmt.Sprintf("%v: %s: %v", e.Reason, e.Msg, e.Err)
	case e.Msg != "":
		return fmt.Sprintf("%v: %s", e.Reason, e.Msg)
	case e.Err != nil:
		return fmt.Sprintf("%v: %v", e.Reason, e.Err)
	}
	return e.Reason.Error()
}

// Unwrap makes errors.Is(err, DiscProtocolError) and errors.As(err,
// *DiscReason) work for a PeerError, and exposes the underlying error.
func (e *PeerError) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Reason, e.Err}
	}
	return []error{e.Reason}
}

func newPeerError(reason DiscReason, format string, args ...any) *PeerError {
	return &PeerError{Reason: reason, Msg: fmt.Sprintf(format, args...)}
}

// errProtocolReturned is the error of a peer whose protocol's Run returned nil.
var errProtocolReturned = errors.New("protocol returned")

// DiscReasonFor maps the error that ends a peer to the reason we send.
func DiscReasonFor(err error) DiscReason {
	var d DiscReason
	switch {
	case errors.As(err, &d):
		return d
	case errors.Is(err, errProtocolReturned):
		return DiscQuitting
	default:
		return DiscSubprotocolError
	}
}
