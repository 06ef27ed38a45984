package p2p

import (
	"errors"
	"fmt"

	"github.com/devp2p-go/devp2p/rlp"
)

// Base protocol ("p2p") message codes and limits; see the devp2p rlpx.md
// section "P2P Capability".
const (
	helloMsg      = 0x00
	discMsg       = 0x01
	pingMsg       = 0x02
	pongMsg       = 0x03
	baseProtoLen  = 16   // codes 0x00–0x0f belong to the base protocol
	baseVersion   = 5    // the version we announce
	snappyVersion = 5    // snappy is used when the remote announces at least this
	maxHelloSize  = 2048 // a larger Hello is refused before decoding
	maxDiscSize   = 100  // a Disconnect item larger than this decodes as DiscInvalid
	pubkeyLength  = 64
)

// emptyList is the payload of Ping and Pong.
var emptyList = []byte{0xc0}

// hello is the devp2p Hello message:
// [protocolVersion, clientId, [[capName, capVersion], ...], listenPort, nodeId, ...].
// Elements after nodeId are ignored, as EIP-8 asks.
type hello struct {
	Version    uint64
	Name       string
	Caps       []Cap
	ListenPort uint64
	ID         []byte // the 64-byte public key X‖Y
}

// Hello decoding errors.
var (
	errHelloTooLarge = errors.New("p2p: Hello too large")
	errHelloNotList  = errors.New("p2p: Hello is not a list")
	errHelloShort    = errors.New("p2p: Hello has too few elements")
	errCapInvalid    = errors.New("p2p: invalid capability")
)

// appendHello appends the RLP encoding of h to dst without allocating
// beyond dst's growth.
func appendHello(dst []byte, h *hello) []byte {
	b, outer := rlp.StartList(dst)
	b = rlp.AppendUint64(b, h.Version)
	b = rlp.AppendString(b, h.Name)
	b, caps := rlp.StartList(b)
	for _, c := range h.Caps {
		b = appendCap(b, c)
	}
	b = rlp.EndList(b, caps)
	b = rlp.AppendUint64(b, h.ListenPort)
	b = rlp.AppendBytes(b, h.ID)
	return rlp.EndList(b, outer)
}

func appendCap(b []byte, c Cap) []byte {
	b, mark := rlp.StartList(b)
	b = rlp.AppendString(b, c.Name)
	b = rlp.AppendUint64(b, uint64(c.Version))
	return rlp.EndList(b, mark)
}

// decodeHello decodes a Hello payload into h. Data after the Hello list and
// list elements after the node ID are ignored (EIP-8); the headers of the
// ignored elements must still be well-formed. The ID is not validated here.
// Capability names equal to one in known reuse its string, so a Hello from a
// peer that speaks our protocols allocates only the Caps slice and the ID.
func decodeHello(data []byte, h *hello, known []Protocol) error {
	if len(data) > maxHelloSize {
		return errHelloTooLarge
	}
	k, content, _, err := rlp.Split(data)
	if err != nil {
		return fmt.Errorf("p2p: invalid Hello: %w", err)
	}
	if k != rlp.List {
		return errHelloNotList
	}
	if h.Version, content, err = splitUint(content); err != nil {
		return fmt.Errorf("p2p: invalid Hello version: %w", err)
	}
	var name []byte
	if name, content, err = splitField(content, rlp.SplitString); err != nil {
		return fmt.Errorf("p2p: invalid Hello name: %w", err)
	}
	h.Name = string(name)
	var caps []byte
	if caps, content, err = splitField(content, rlp.SplitList); err != nil {
		return fmt.Errorf("p2p: invalid Hello caps: %w", err)
	}
	if h.Caps, err = decodeCaps(caps, h.Caps[:0], known); err != nil {
		return err
	}
	if h.ListenPort, content, err = splitUint(content); err != nil {
		return fmt.Errorf("p2p: invalid Hello listen port: %w", err)
	}
	var id []byte
	if id, content, err = splitField(content, rlp.SplitString); err != nil {
		return fmt.Errorf("p2p: invalid Hello ID: %w", err)
	}
	h.ID = append(h.ID[:0], id...)
	if _, err := rlp.CountValues(content); err != nil {
		return fmt.Errorf("p2p: invalid Hello tail: %w", err)
	}
	return nil
}

// splitUint is rlp.SplitUint64 that reports a missing element as errHelloShort.
func splitUint(b []byte) (uint64, []byte, error) {
	if len(b) == 0 {
		return 0, b, errHelloShort
	}
	return rlp.SplitUint64(b)
}

func splitField(b []byte, split func([]byte) ([]byte, []byte, error)) ([]byte, []byte, error) {
	if len(b) == 0 {
		return nil, b, errHelloShort
	}
	return split(b)
}

// decodeCaps decodes a list of [name, version] pairs, each with exactly two
// elements (as go-ethereum's Cap struct requires).
func decodeCaps(b []byte, caps []Cap, known []Protocol) ([]Cap, error) {
	n, err := rlp.CountValues(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errCapInvalid, err)
	}
	if cap(caps) < n {
		caps = make([]Cap, 0, n)
	}
	for len(b) > 0 {
		var c, name []byte
		if c, b, err = rlp.SplitList(b); err != nil {
			return nil, fmt.Errorf("%w: %v", errCapInvalid, err)
		}
		if name, c, err = rlp.SplitString(c); err != nil {
			return nil, fmt.Errorf("%w: name: %v", errCapInvalid, err)
		}
		if len(c) == 0 {
			return nil, fmt.Errorf("%w: no version", errCapInvalid)
		}
		var v uint64
		if v, c, err = rlp.SplitUint64(c); err != nil {
			return nil, fmt.Errorf("%w: version: %v", errCapInvalid, err)
		}
		if len(c) != 0 {
			return nil, fmt.Errorf("%w: too many elements", errCapInvalid)
		}
		caps = append(caps, Cap{Name: internName(name, known), Version: uint(v)})
	}
	return caps, nil
}

// internName returns the name of a known protocol equal to b, or a copy of b.
func internName(b []byte, known []Protocol) string {
	for i := range known {
		if known[i].Name == string(b) {
			return known[i].Name
		}
	}
	return string(b)
}

// appendDisconnect appends the Disconnect payload [reason].
func appendDisconnect(dst []byte, reason DiscReason) []byte {
	dst = rlp.AppendListHeader(dst, rlp.UintSize(uint64(reason)))
	return rlp.AppendUint64(dst, uint64(reason))
}

// decodeDisconnect decodes a Disconnect payload. Like go-ethereum it takes
// the reason from a list [reason, ...] or, as some old clients send it, from
// a bare integer; anything else, a non-canonical or too large integer, or an
// item larger than 100 bytes yields DiscInvalid. Data after the first item is
// ignored.
func decodeDisconnect(data []byte) DiscReason {
	k, content, rest, err := rlp.Split(data)
	if err != nil || len(data)-len(rest) > maxDiscSize {
		return DiscInvalid
	}
	item := data[:len(data)-len(rest)]
	if k == rlp.List {
		if len(content) == 0 {
			return DiscInvalid
		}
		item = content
	}
	v, _, err := rlp.SplitUint64(item)
	if err != nil || v > 0xff {
		return DiscInvalid
	}
	return DiscReason(v)
}
