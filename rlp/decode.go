package rlp

import (
	"io"
	"math/big"
	"reflect"
)

// Unmarshaler is implemented by types that decode themselves. UnmarshalRLP
// receives one whole encoded item, header included. The item's header has
// been checked (its size is canonical and fits the input) but its content
// has not. The item aliases the caller's input: copy it to keep it.
type Unmarshaler interface {
	UnmarshalRLP(item []byte) error
}

// DecodeBytes decodes b, which must hold exactly one canonical item, into
// the value v points to. See the package documentation for how RLP maps to
// Go values. Errors other than ErrMoreThanOneValue, ErrDecodeTarget and
// type errors are *DecodeError; an empty b yields io.EOF.
//
// On error, the value v points to may be partially modified.
func DecodeBytes(b []byte, v any) error {
	rest, err := DecodeFirst(b, v)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return ErrMoreThanOneValue
	}
	return nil
}

// DecodeFirst decodes the first item of b into the value v points to, like
// DecodeBytes, and returns the bytes after it. Use it where a format allows
// data after the value (discv4 packets ignore it for forward compatibility).
// An empty b yields io.EOF.
func DecodeFirst(b []byte, v any) (rest []byte, err error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return b, ErrDecodeTarget
	}
	t := rv.Type().Elem()
	info := cachedInfo(t)
	if info.decErr != nil {
		return b, info.decErr
	}
	if len(b) == 0 {
		return b, io.EOF
	}
	_, hdr, size, err := parseHeader(b)
	if err != nil {
		if err == io.ErrUnexpectedEOF {
			err = ErrValueTooLarge
		}
		return b, newDecodeError(err, t)
	}
	end := hdr + int(size)
	if _, err := info.dec(b[:end], rv.Elem()); err != nil {
		if de, ok := err.(*DecodeError); ok && len(de.ctx) > 0 {
			de.ctx = append(de.ctx, "("+t.String()+")")
		}
		return b, err
	}
	return b[end:], nil
}

// makeDecoder returns the decoder of type t. The order of the cases decides
// which rule applies to a type that matches several, and follows
// go-ethereum's.
func (g *generator) makeDecoder(t reflect.Type) (decoder, error) {
	switch k := t.Kind(); {
	case t == rawValueType:
		return decodeRawValue, nil
	case t == bigIntPtrType:
		return decodeBigIntPtr, nil
	case t == bigIntType:
		return decodeBigInt, nil
	case k == reflect.Pointer:
		ei := g.info(t.Elem())
		if ei.decErr != nil {
			return nil, ei.decErr
		}
		return makePtrDecoder(t, ei), nil
	case reflect.PointerTo(t).Implements(unmarshalerType):
		return decodeUnmarshaler, nil
	case isUint(k):
		return makeUintDecoder(t.Bits() / 8), nil
	case k == reflect.Bool:
		return decodeBool, nil
	case k == reflect.String:
		return decodeString, nil
	case k == reflect.Slice && isDecByte(t.Elem()):
		return decodeByteSlice, nil
	case k == reflect.Array && isDecByte(t.Elem()):
		return decodeByteArray, nil
	case k == reflect.Slice || k == reflect.Array:
		ei := g.info(t.Elem())
		if ei.decErr != nil {
			return nil, ei.decErr
		}
		if k == reflect.Array {
			return makeArrayDecoder(t, ei), nil
		}
		return makeSliceDecoder(t, ei), nil
	case k == reflect.Struct:
		fields, _, decErr := g.structFields(t)
		if decErr != nil {
			return nil, decErr
		}
		return makeStructDecoder(t, fields), nil
	case k == reflect.Interface:
		return decodeInterface, nil
	default:
		return nil, &typeError{base: ErrUnsupportedType, typ: t}
	}
}

// nextItem splits the first item off b, which is the unread part of a list
// or the whole top-level item. An item running past the end of b is
// reported as ErrElemTooLarge: at the top level, DecodeFirst has already
// checked that the item fits the input.
func nextItem(b []byte) (k Kind, content, rest []byte, err error) {
	k, hdr, size, err := parseHeader(b)
	if err != nil {
		if err != ErrCanonSize {
			err = ErrElemTooLarge
		}
		return 0, nil, b, err
	}
	end := hdr + int(size)
	return k, b[hdr:end], b[end:], nil
}

// nextString is nextItem for an item that must be a string: a list yields
// ErrExpectedString and a single byte below 0x80 in a string header
// ErrCanonSize.
func nextString(b []byte) (content, rest []byte, err error) {
	k, c, rest, err := nextItem(b)
	switch {
	case err != nil:
		return nil, b, err
	case k == List:
		return nil, b, ErrExpectedString
	case k == String && !canonByte(c):
		return nil, b, ErrCanonSize
	}
	return c, rest, nil
}

// nextUint decodes an integer of at most maxBytes bytes from the start of b.
func nextUint(b []byte, maxBytes int) (x uint64, rest []byte, err error) {
	k, c, rest, err := nextItem(b)
	switch {
	case err != nil:
		return 0, b, err
	case k == List:
		return 0, b, ErrExpectedString
	case k == Byte:
		if c[0] == 0 {
			return 0, b, ErrCanonInt
		}
		return uint64(c[0]), rest, nil
	case len(c) > maxBytes:
		return 0, b, ErrUintOverflow
	case !canonByte(c):
		return 0, b, ErrCanonSize
	}
	if x, err = beUint64(c); err != nil {
		return 0, b, err
	}
	return x, rest, nil
}

// cloneBytes returns a copy of b that is never nil.
func cloneBytes(b []byte) []byte {
	out := make([]byte, len(b))
	copy(out, b)
	return out
}

func decodeRawValue(b []byte, v reflect.Value) ([]byte, error) {
	_, _, rest, err := nextItem(b)
	if err != nil {
		return b, newDecodeError(err, v.Type())
	}
	v.SetBytes(cloneBytes(b[:len(b)-len(rest)]))
	return rest, nil
}

func decodeUnmarshaler(b []byte, v reflect.Value) ([]byte, error) {
	_, _, rest, err := nextItem(b)
	if err == nil {
		err = v.Addr().Interface().(Unmarshaler).UnmarshalRLP(b[:len(b)-len(rest)])
	}
	if err != nil {
		return b, newDecodeError(err, v.Type())
	}
	return rest, nil
}

func makeUintDecoder(maxBytes int) decoder {
	return func(b []byte, v reflect.Value) ([]byte, error) {
		x, rest, err := nextUint(b, maxBytes)
		if err != nil {
			return b, newDecodeError(err, v.Type())
		}
		v.SetUint(x)
		return rest, nil
	}
}

func decodeBool(b []byte, v reflect.Value) ([]byte, error) {
	x, rest, err := nextUint(b, 1)
	if err == nil && x > 1 {
		err = ErrInvalidBool
	}
	if err != nil {
		return b, newDecodeError(err, v.Type())
	}
	v.SetBool(x == 1)
	return rest, nil
}

func decodeString(b []byte, v reflect.Value) ([]byte, error) {
	c, rest, err := nextString(b)
	if err != nil {
		return b, newDecodeError(err, v.Type())
	}
	v.SetString(string(c))
	return rest, nil
}

func decodeByteSlice(b []byte, v reflect.Value) ([]byte, error) {
	c, rest, err := nextString(b)
	if err != nil {
		return b, newDecodeError(err, v.Type())
	}
	v.SetBytes(cloneBytes(c))
	return rest, nil
}

func decodeByteArray(b []byte, v reflect.Value) ([]byte, error) {
	k, c, rest, err := nextItem(b)
	switch {
	case err != nil:
	case k == List:
		err = ErrExpectedString
	case len(c) != v.Len():
		err = ErrByteArrayLength
	case k == String && !canonByte(c):
		err = ErrCanonSize
	}
	if err != nil {
		return b, newDecodeError(err, v.Type())
	}
	copy(v.Bytes(), c)
	return rest, nil
}

// nextBigInt decodes an integer of any size from the start of b into x.
func nextBigInt(b []byte, x *big.Int) ([]byte, error) {
	k, c, rest, err := nextItem(b)
	switch {
	case err != nil:
		return b, err
	case k == List:
		return b, ErrExpectedString
	case k == String && !canonByte(c):
		return b, ErrCanonSize
	case len(c) > 0 && c[0] == 0:
		return b, ErrCanonInt
	}
	x.SetBytes(c)
	return rest, nil
}

func decodeBigIntPtr(b []byte, v reflect.Value) ([]byte, error) {
	x := v.Interface().(*big.Int)
	if x == nil {
		x = new(big.Int)
		v.Set(reflect.ValueOf(x))
	}
	rest, err := nextBigInt(b, x)
	if err != nil {
		return b, newDecodeError(err, v.Type())
	}
	return rest, nil
}

func decodeBigInt(b []byte, v reflect.Value) ([]byte, error) {
	rest, err := nextBigInt(b, v.Addr().Interface().(*big.Int))
	if err != nil {
		return b, newDecodeError(err, v.Type())
	}
	return rest, nil
}

// makePtrDecoder returns a decoder for the pointer type t whose element has
// the codec ei. It decodes into the existing element if the pointer is not
// nil, and into a new one otherwise.
func makePtrDecoder(t reflect.Type, ei *typeInfo) decoder {
	et := t.Elem()
	return func(b []byte, v reflect.Value) ([]byte, error) {
		nv := v
		if v.IsNil() {
			nv = reflect.New(et)
		}
		rest, err := ei.decode(b, nv.Elem())
		if err != nil {
			return b, err
		}
		v.Set(nv)
		return rest, nil
	}
}

// makeNilPtrDecoder is makePtrDecoder for a field tagged "nil", "nilString"
// or "nilList": the empty value of kind nilKind decodes as a nil pointer.
func makeNilPtrDecoder(t reflect.Type, ei *typeInfo, nilKind Kind) decoder {
	dec := makePtrDecoder(t, ei)
	return func(b []byte, v reflect.Value) ([]byte, error) {
		k, hdr, size, err := parseHeader(b)
		if err != nil {
			if err != ErrCanonSize {
				err = ErrElemTooLarge
			}
			return b, newDecodeError(err, t)
		}
		if k == Byte || size > 0 {
			return dec(b, v)
		}
		if k != nilKind {
			return b, newDecodeError(ErrWrongNilKind, t)
		}
		v.SetZero()
		return b[hdr:], nil
	}
}
