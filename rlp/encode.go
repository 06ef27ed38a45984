package rlp

import (
	"io"
	"math/big"
	"reflect"
	"sync"
)

// Marshaler is implemented by types that encode themselves. AppendRLP
// appends the encoding of the receiver to dst and returns the extended
// buffer. It should append exactly one complete item; the encoder does not
// check what it appends.
type Marshaler interface {
	AppendRLP(dst []byte) ([]byte, error)
}

// maxPooledBuf bounds the capacity of encoding buffers kept for reuse, so
// that one large message does not pin its buffer forever.
const maxPooledBuf = 64 << 10

var encBufPool = sync.Pool{New: func() any { return new([]byte) }}

// EncodeToBytes returns the encoding of v. See the package documentation
// for how Go values map to RLP.
func EncodeToBytes(v any) ([]byte, error) {
	bp := encBufPool.Get().(*[]byte)
	b, err := AppendValue((*bp)[:0], v)
	var out []byte
	if err == nil {
		out = make([]byte, len(b))
		copy(out, b)
	}
	if cap(b) <= maxPooledBuf {
		*bp = b
		encBufPool.Put(bp)
	}
	return out, err
}

// Encode writes the encoding of v to w in a single Write call.
func Encode(w io.Writer, v any) error {
	bp := encBufPool.Get().(*[]byte)
	b, err := AppendValue((*bp)[:0], v)
	if err == nil {
		_, err = w.Write(b)
	}
	if cap(b) <= maxPooledBuf {
		*bp = b
		encBufPool.Put(bp)
	}
	return err
}

// AppendValue appends the encoding of v to dst. On error it returns dst
// unchanged. A nil v encodes as the empty list, like a nil interface.
//
// Values inside v that cannot be addressed (v itself when it is not a
// pointer, and values stored in interfaces) are encoded correctly but more
// slowly when they contain byte arrays or pointer-receiver Marshalers; pass
// a pointer on hot paths.
func AppendValue(dst []byte, v any) ([]byte, error) {
	if v == nil {
		return append(dst, 0xC0), nil
	}
	rv := reflect.ValueOf(v)
	out, err := cachedInfo(rv.Type()).encode(dst, rv)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// makeEncoder returns the encoder of type t. The order of the cases decides
// which rule applies to a type that matches several.
func (g *generator) makeEncoder(t reflect.Type) (encoder, error) {
	switch k := t.Kind(); {
	case t == rawValueType:
		return encodeRawValue, nil
	case t == bigIntPtrType:
		return encodeBigIntPtr, nil
	case t == bigIntType:
		return encodeBigInt, nil
	case k == reflect.Pointer:
		ei := g.info(t.Elem())
		if ei.encErr != nil {
			return nil, ei.encErr
		}
		return makePtrEncoder(ei, defaultNilKind(t.Elem())), nil
	case reflect.PointerTo(t).Implements(marshalerType):
		return makeMarshalerEncoder(t), nil
	case isUint(k):
		return encodeUint, nil
	case k == reflect.Bool:
		return encodeBool, nil
	case k == reflect.String:
		return encodeString, nil
	case k == reflect.Slice && isEncByte(t.Elem()):
		return encodeByteSlice, nil
	case k == reflect.Array && isEncByte(t.Elem()):
		return encodeByteArray, nil
	case k == reflect.Slice || k == reflect.Array:
		ei := g.info(t.Elem())
		if ei.encErr != nil {
			return nil, ei.encErr
		}
		return makeListEncoder(ei), nil
	case k == reflect.Struct:
		fields, encErr, _ := g.structFields(t)
		if encErr != nil {
			return nil, encErr
		}
		return makeStructEncoder(fields), nil
	case k == reflect.Interface:
		return encodeInterface, nil
	default:
		return nil, &typeError{base: ErrUnsupportedType, typ: t}
	}
}

func encodeRawValue(dst []byte, v reflect.Value) ([]byte, error) {
	return append(dst, v.Bytes()...), nil
}

func encodeUint(dst []byte, v reflect.Value) ([]byte, error) {
	return AppendUint64(dst, v.Uint()), nil
}

func encodeBool(dst []byte, v reflect.Value) ([]byte, error) {
	return AppendBool(dst, v.Bool()), nil
}

func encodeString(dst []byte, v reflect.Value) ([]byte, error) {
	return AppendString(dst, v.String()), nil
}

func encodeByteSlice(dst []byte, v reflect.Value) ([]byte, error) {
	return AppendBytes(dst, v.Bytes()), nil
}

func encodeByteArray(dst []byte, v reflect.Value) ([]byte, error) {
	if v.CanAddr() {
		return AppendBytes(dst, v.Bytes()), nil
	}
	// An array that cannot be addressed cannot be sliced; copy it byte by
	// byte rather than allocating an addressable copy.
	n := v.Len()
	if n == 1 {
		if b := byte(v.Index(0).Uint()); b < 0x80 {
			return append(dst, b), nil
		}
	}
	dst = appendHeader(dst, 0x80, n)
	for i := range n {
		dst = append(dst, byte(v.Index(i).Uint()))
	}
	return dst, nil
}

func encodeBigIntPtr(dst []byte, v reflect.Value) ([]byte, error) {
	return appendBigIntChecked(dst, v.Interface().(*big.Int))
}

func encodeBigInt(dst []byte, v reflect.Value) ([]byte, error) {
	if v.CanAddr() {
		return appendBigIntChecked(dst, v.Addr().Interface().(*big.Int))
	}
	x := v.Interface().(big.Int)
	return appendBigIntChecked(dst, &x)
}

func appendBigIntChecked(dst []byte, x *big.Int) ([]byte, error) {
	if x != nil && x.Sign() < 0 {
		return dst, ErrNegativeBigInt
	}
	return AppendBigInt(dst, x), nil
}

func encodeInterface(dst []byte, v reflect.Value) ([]byte, error) {
	if v.IsNil() {
		return append(dst, 0xC0), nil
	}
	e := v.Elem()
	return cachedInfo(e.Type()).encode(dst, e)
}

// makePtrEncoder returns an encoder for pointers to the type of ei. A nil
// pointer encodes as the empty value of nilKind.
func makePtrEncoder(ei *typeInfo, nilKind Kind) encoder {
	nilByte := byte(0xC0)
	if nilKind == String {
		nilByte = 0x80
	}
	return func(dst []byte, v reflect.Value) ([]byte, error) {
		if v.IsNil() {
			return append(dst, nilByte), nil
		}
		return ei.encode(dst, v.Elem())
	}
}

// makeMarshalerEncoder returns an encoder for a type t whose pointer
// implements Marshaler.
func makeMarshalerEncoder(t reflect.Type) encoder {
	valueMethod := t.Implements(marshalerType)
	return func(dst []byte, v reflect.Value) ([]byte, error) {
		switch {
		case v.CanAddr():
			return v.Addr().Interface().(Marshaler).AppendRLP(dst)
		case valueMethod:
			return v.Interface().(Marshaler).AppendRLP(dst)
		default:
			p := reflect.New(t)
			p.Elem().Set(v)
			return p.Interface().(Marshaler).AppendRLP(dst)
		}
	}
}

// makeListEncoder returns an encoder for slices and arrays whose elements
// have the codec ei.
func makeListEncoder(ei *typeInfo) encoder {
	return func(dst []byte, v reflect.Value) ([]byte, error) {
		n := v.Len()
		if n == 0 {
			return append(dst, 0xC0), nil
		}
		dst, mark := StartList(dst)
		for i := range n {
			var err error
			if dst, err = ei.encode(dst, v.Index(i)); err != nil {
				return dst, err
			}
		}
		return EndList(dst, mark), nil
	}
}

// makeTailEncoder returns an encoder for a "tail" slice field: its elements
// go into the enclosing struct's list.
func makeTailEncoder(ei *typeInfo) encoder {
	return func(dst []byte, v reflect.Value) ([]byte, error) {
		for i := range v.Len() {
			var err error
			if dst, err = ei.encode(dst, v.Index(i)); err != nil {
				return dst, err
			}
		}
		return dst, nil
	}
}

// makeStructEncoder returns an encoder for a struct with the given fields.
// Optional fields holding zero values are left out when only optional
// fields holding zero values (or a nil tail) follow them.
func makeStructEncoder(fields []field) encoder {
	firstOptional := len(fields)
	for i, f := range fields {
		if f.optional {
			firstOptional = i
			break
		}
	}
	return func(dst []byte, v reflect.Value) ([]byte, error) {
		end := len(fields)
		for end > firstOptional && v.Field(fields[end-1].index).IsZero() {
			end--
		}
		dst, mark := StartList(dst)
		for _, f := range fields[:end] {
			var err error
			if dst, err = f.enc(dst, v.Field(f.index)); err != nil {
				return dst, err
			}
		}
		return EndList(dst, mark), nil
	}
}
