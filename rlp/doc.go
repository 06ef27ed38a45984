// Package rlp implements Recursive Length Prefix encoding, the serialization
// format of Ethereum's devp2p protocols (see the "RLP" appendix of the Ethereum
// yellow paper and https://ethereum.org/developers/docs/data-structures-and-encoding/rlp).
//
// An RLP item is either a string (a byte sequence) or a list of items. A
// string of exactly one byte below 0x80 is its own encoding (kind Byte);
// other strings carry a header with their length (kind String); lists carry
// a header with the total length of their encoded elements (kind List).
//
// # Two APIs
//
// The low-level API works on byte slices and never allocates on its own:
// [Split], [SplitString], [SplitList], [SplitUint64], [SplitBool] and
// [CountValues] take items apart without copying, and the Append functions
// ([AppendUint64], [AppendBytes], [AppendString], [AppendBool],
// [AppendBigInt], [AppendRaw], [StartList] and [EndList]) write items to the
// end of a caller-owned buffer, growing it only when its capacity runs out.
// Hot paths (handshakes, frame and packet codecs) should use it.
//
// The reflection API ([EncodeToBytes], [AppendValue], [Encode], [DecodeBytes],
// [DecodeFirst]) maps Go values to RLP. It builds a codec once per Go type and
// caches it, so reflection is paid for once.
//
// A message [version, [ip, port]] written and read with the low-level API:
//
//	b, outer := rlp.StartList(buf[:0])
//	b = rlp.AppendUint64(b, version)
//	b, inner := rlp.StartList(b)
//	b = rlp.AppendBytes(b, ip)
//	b = rlp.AppendUint64(b, port)
//	b = rlp.EndList(b, inner)
//	b = rlp.EndList(b, outer)
//
//	msg, _, err := rlp.SplitList(b)
//	version, msg, err = rlp.SplitUint64(msg)
//	ep, _, err := rlp.SplitList(msg)
//	ip, ep, err = rlp.SplitString(ep) // ip aliases b: no copy
//	port, _, err = rlp.SplitUint64(ep)
//
// Every Split function checks the header of the item it splits off; the
// caller decides how strictly to treat what follows (SplitList returns the
// bytes after the list so that a decoder can ignore or reject them).
//
// # Type mapping
//
//   - bool: the integer 0 (empty string, 0x80) or 1 (0x01). Nothing else
//     decodes into a bool.
//   - uint, uint8, uint16, uint32, uint64, uintptr: a big-endian integer with
//     no leading zero bytes; zero is the empty string.
//   - big.Int and *big.Int: the same, of any size. Negative values cannot be
//     encoded. A nil *big.Int encodes as zero.
//   - string, []byte and other slices of byte kind: a string.
//   - [N]byte: a string of exactly N bytes.
//   - other slices and arrays: a list of their elements. An array decodes
//     only from a list with exactly as many elements.
//   - structs: a list of the exported fields in declaration order.
//   - pointers: the value pointed to. Decoding allocates a value if the
//     pointer is nil. A nil pointer encodes as the empty string (0x80) when the
//     element type is an unsigned integer, bool, string, byte array or byte
//     slice, and as the empty list (0xC0) otherwise.
//   - interfaces: encoding uses the dynamic value; a nil interface encodes as
//     the empty list. Decoding is supported into the empty interface only and
//     produces []byte for strings and []any for lists.
//   - [RawValue]: an already encoded item, copied verbatim.
//   - [Marshaler] and [Unmarshaler] implementations encode and decode
//     themselves.
//
// Signed integers, floats, maps, channels and functions are not supported.
//
// # Struct tags
//
// A field tagged `rlp:"-"` is skipped. A field tagged `rlp:"optional"` may be
// missing at the end of the input list and is then set to its zero value; on
// encoding, trailing optional fields holding zero values are left out. Every
// field after an optional field must be optional too (or the tail). The last
// exported field may be tagged `rlp:"tail"`; it must be a slice and receives
// all remaining list elements, and its elements are encoded inline rather than
// as a nested list. (As in go-ethereum, the tag has no effect on a byte
// slice, a RawValue or a slice type with its own Marshaler or Unmarshaler.)
// A pointer field tagged `rlp:"nil"` decodes the empty value of its element
// type's kind as a nil pointer; `rlp:"nilString"` and `rlp:"nilList"` choose
// the kind of that empty value explicitly. The *big.Int rule takes precedence
// over these tags.
//
// # Strictness
//
// Decoding accepts canonical input only and makes the same accept/reject
// decision as go-ethereum's decoder (v1.17) for every supported type:
// integers must not have leading zero bytes (and the single byte 0x00 is not
// a valid integer), sizes must use the short form when possible and have no
// leading zero bytes, single bytes below 0x80 must not be wrapped in a
// string header, elements must fit in their list and values in the input,
// and DecodeBytes rejects trailing data. Every length taken from the input is
// checked against the bytes actually present before anything is allocated.
// Errors wrap the exported sentinels (ErrCanonInt, ErrCanonSize, …), so they
// can be tested with [errors.Is]; reflection decoding reports a [*DecodeError]
// that also names the Go type and the field path.
//
// A RawValue, like go-ethereum's, takes the bytes of one item as they are:
// its header is checked but its content is not parsed.
//
// Slices are allocated with their final length, counted from the items in
// the input, but never with more than a small fixed budget before their
// elements have decoded; interfaces are decoded without recursion. So an
// input can make the decoder allocate only in proportion to its own size
// and to the values it really contains.
//
// Nothing in this package logs, starts goroutines or reads the clock. All
// functions are safe for concurrent use.
package rlp
