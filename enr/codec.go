package enr

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/devp2p-go/devp2p/rlp"
)

// textPrefix starts the text form of a record.
const textPrefix = "enr:"

// maxTextLen is the length of the base64 text of a SizeLimit-byte record.
var maxTextLen = base64.RawURLEncoding.EncodedLen(SizeLimit)

// stringSize returns the encoded size of an RLP string of n bytes whose first
// byte is first.
func stringSize(n int, first byte) int {
	switch {
	case n == 1 && first < 0x80:
		return 1
	case n < 56:
		return 1 + n
	}
	hdr := 1
	for x := n; x > 0; x >>= 8 {
		hdr++
	}
	return hdr + n
}

func bytesSize(b []byte) int {
	if len(b) == 0 {
		return 1
	}
	return stringSize(len(b), b[0])
}

func keySize(k string) int {
	if len(k) == 0 {
		return 1
	}
	return stringSize(len(k), k[0])
}

// contentLen returns the size of the encoded items [seq, k1, v1, ...],
// without a list header.
func (r *Record) contentLen() int {
	n := rlp.UintSize(r.seq)
	for _, p := range r.pairs {
		n += keySize(p.k) + len(p.v)
	}
	return n
}

// encodedSize returns the size of the record's encoding with signature sig.
func (r *Record) encodedSize(sig []byte) int {
	return rlp.ListSize(bytesSize(sig) + r.contentLen())
}

// appendContentItems appends seq and the pairs to dst.
func (r *Record) appendContentItems(dst []byte) []byte {
	dst = rlp.AppendUint64(dst, r.seq)
	for _, p := range r.pairs {
		dst = rlp.AppendString(dst, p.k)
		dst = rlp.AppendRaw(dst, p.v)
	}
	return dst
}

// encode returns the encoding [sig, seq, k1, v1, ...].
func (r *Record) encode(sig []byte) []byte {
	inner := bytesSize(sig) + r.contentLen()
	b := make([]byte, 0, rlp.ListSize(inner))
	b = rlp.AppendListHeader(b, inner)
	b = rlp.AppendBytes(b, sig)
	return r.appendContentItems(b)
}

// AppendRLP implements rlp.Marshaler. It appends the record's encoding to dst
// and fails with ErrUnsigned if the record is not signed.
func (r *Record) AppendRLP(dst []byte) ([]byte, error) {
	if r.signature == nil {
		return dst, ErrUnsigned
	}
	return append(dst, r.raw...), nil
}

// UnmarshalRLP implements rlp.Unmarshaler. It decodes exactly one encoded
// record, which must be at most SizeLimit bytes (checked first), with
// canonical RLP, a signature, a sequence number and key/value pairs sorted by
// key without duplicates. It does not verify the signature. On error the
// record is unchanged.
func (r *Record) UnmarshalRLP(item []byte) error {
	if len(item) > SizeLimit {
		return ErrTooBig
	}
	content, rest, err := rlp.SplitList(item)
	if err != nil {
		return fmt.Errorf("enr: %w", err)
	}
	if len(rest) != 0 {
		return fmt.Errorf("enr: %w", rlp.ErrMoreThanOneValue)
	}
	if len(content) == 0 {
		return errIncompleteList
	}
	sig, content, err := rlp.SplitString(content)
	if err != nil {
		return fmt.Errorf("enr: signature: %w", err)
	}
	if len(content) == 0 {
		return errIncompleteList
	}
	seq, content, err := rlp.SplitUint64(content)
	if err != nil {
		return fmt.Errorf("enr: sequence number: %w", err)
	}
	// Check the pairs before allocating anything.
	npairs := 0
	var prev []byte
	for b := content; len(b) > 0; npairs++ {
		var k []byte
		k, b, err = rlp.SplitString(b)
		if err != nil {
			return fmt.Errorf("enr: key: %w", err)
		}
		if len(b) == 0 {
			return errIncompletePair
		}
		if _, _, b, err = rlp.Split(b); err != nil {
			return fmt.Errorf("enr: value of %q: %w", k, err)
		}
		if npairs > 0 {
			switch c := bytes.Compare(k, prev); {
			case c == 0:
				return errDuplicateKey
			case c < 0:
				return errNotSorted
			}
		}
		prev = k
	}

	// Copy the input once; signature and values alias the copy.
	raw := append([]byte(nil), item...)
	off := len(item) - len(content)
	dec := Record{
		seq:       seq,
		raw:       raw,
		signature: raw[off-rlp.UintSize(seq)-len(sig) : off-rlp.UintSize(seq) : off-rlp.UintSize(seq)],
		pairs:     make([]pair, 0, npairs),
	}
	for b := raw[off:]; len(b) > 0; {
		k, rest, _ := rlp.SplitString(b)
		_, _, after, _ := rlp.Split(rest)
		dec.pairs = append(dec.pairs, pair{string(k), rest[: len(rest)-len(after) : len(rest)-len(after)]})
		b = after
	}
	*r = dec
	return nil
}

// MarshalText implements encoding.TextMarshaler. The text form of a record is
// "enr:" followed by the URL-safe base64 encoding of its RLP encoding without
// padding. It fails with ErrUnsigned for unsigned records.
func (r *Record) MarshalText() ([]byte, error) {
	if r.signature == nil {
		return nil, ErrUnsigned
	}
	b := make([]byte, len(textPrefix)+base64.RawURLEncoding.EncodedLen(len(r.raw)))
	copy(b, textPrefix)
	base64.RawURLEncoding.Encode(b[len(textPrefix):], r.raw)
	return b, nil
}

// UnmarshalText implements encoding.TextUnmarshaler, decoding the text form
// written by MarshalText. It does not verify the signature.
func (r *Record) UnmarshalText(text []byte) error {
	dec, err := Parse(string(text))
	if err != nil {
		return err
	}
	*r = *dec
	return nil
}

// Parse decodes the text form of a record ("enr:" + base64). Like
// UnmarshalRLP it is strict and does not verify the signature. Text longer
// than the encoding of a SizeLimit-byte record is rejected with ErrTooBig
// before it is decoded.
func Parse(text string) (*Record, error) {
	b64, ok := strings.CutPrefix(text, textPrefix)
	if !ok {
		return nil, ErrMissingPrefix
	}
	if len(b64) > maxTextLen {
		return nil, ErrTooBig
	}
	var buf [SizeLimit]byte
	n, err := base64.RawURLEncoding.Decode(buf[:], []byte(b64))
	if err != nil {
		return nil, fmt.Errorf("enr: %w", err)
	}
	r := new(Record)
	if err := r.UnmarshalRLP(buf[:n]); err != nil {
		return nil, err
	}
	return r, nil
}
