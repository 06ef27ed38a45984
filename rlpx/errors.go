package rlpx

import (
	"errors"
	"fmt"
)

// Errors returned by the transport. After any error other than one from
// WriteMsg's size check, the connection must be closed: the cipher and MAC
// states no longer match the remote's.
var (
	ErrHandshakeTooLarge = errors.New("rlpx: handshake packet too large")
	ErrHeaderMAC         = errors.New("rlpx: bad frame header MAC")
	ErrFrameMAC          = errors.New("rlpx: bad frame MAC")
	ErrMessageTooLarge   = errors.New("rlpx: message too large")
	ErrMessageCode       = errors.New("rlpx: invalid message code")
	ErrSnappy            = errors.New("rlpx: invalid snappy data")
	ErrEmptyFrame        = errors.New("rlpx: empty frame")
)

// HandshakeError is returned when the encryption handshake fails. Phase is
// one of "read", "decrypt", "decode", "secrets".
type HandshakeError struct {
	Phase string
	Err   error
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("rlpx: handshake %s: %v", e.Phase, e.Err)
}

func (e *HandshakeError) Unwrap() error { return e.Err }

func handshakeErr(phase string, err error) error {
	return &HandshakeError{Phase: phase, Err: err}
}
