package rlp

import (
	"errors"
	"reflect"
	"strings"
)

// Errors about the structure of the input, returned by the Split functions,
// CountValues and the decoders.
var (
	// ErrExpectedString means a list was found where a string was required.
	ErrExpectedString = errors.New("rlp: expected String or Byte")
	// ErrExpectedList means a string was found where a list was required.
	ErrExpectedList = errors.New("rlp: expected List")
	// ErrCanonInt means an integer had leading zero bytes, or was the single
	// byte 0x00.
	ErrCanonInt = errors.New("rlp: non-canonical integer format")
	// ErrCanonSize means a header used the long form for a size below 56, a
	// size had leading zero bytes, or a single byte below 0x80 was encoded as a
	// one-byte string.
	ErrCanonSize = errors.New("rlp: non-canonical size information")
	// ErrElemTooLarge means an element ran past the end of its list.
	ErrElemTooLarge = errors.New("rlp: element is larger than containing list")
	// ErrValueTooLarge means a value ran past the end of the input.
	ErrValueTooLarge = errors.New("rlp: value size exceeds available input length")
	// ErrMoreThanOneValue means DecodeBytes found data after the value.
	ErrMoreThanOneValue = errors.New("rlp: input contains more than one value")
	// ErrUintOverflow means an integer did not fit the target type.
	ErrUintOverflow = errors.New("rlp: uint overflow")
)

// Errors about the fit between the input and the Go type being decoded.
var (
	// ErrInvalidBool means a bool was neither 0 (0x80) nor 1 (0x01).
	ErrInvalidBool = errors.New("rlp: invalid boolean value")
	// ErrTooFewElements means a list ended before all non-optional struct
	// fields or all array elements were filled.
	ErrTooFewElements = errors.New("rlp: input list has too few elements")
	// ErrTooManyElements means a list had elements left after the last struct
	// field or array element.
	ErrTooManyElements = errors.New("rlp: input list has too many elements")
	// ErrByteArrayLength means a string's length differed from the length of
	// the byte array it was decoded into.
	ErrByteArrayLength = errors.New("rlp: input string length does not match byte array length")
	// ErrWrongNilKind means a pointer field tagged "nil", "nilString" or
	// "nilList" received the empty value of the other kind.
	ErrWrongNilKind = errors.New("rlp: wrong kind of empty value")
	// ErrDecodeTarget means the value given to a decoder was not a non-nil
	// pointer.
	ErrDecodeTarget = errors.New("rlp: decode target must be a non-nil pointer")
)

// Errors about Go types and values.
var (
	// ErrUnsupportedType means a Go type has no RLP mapping (signed integers,
	// floats, maps, channels, functions, non-empty interfaces when decoding).
	ErrUnsupportedType = errors.New("rlp: type is not RLP-serializable")
	// ErrInvalidTag means a struct tag is unknown or misplaced.
	ErrInvalidTag = errors.New("rlp: invalid struct tag")
	// ErrNegativeBigInt means a negative big.Int was given to the encoder.
	ErrNegativeBigInt = errors.New("rlp: cannot encode negative big.Int")
)

// DecodeError is returned by the reflection decoders. It records the
// underlying error, the Go type being decoded when it happened and the path
// from the top-level type to that value.
type DecodeError struct {
	// Err is the underlying error, usually one of the sentinels above.
	Err error
	// Type is the Go type that was being decoded.
	Type reflect.Type

	ctx []string // path segments, innermost first
}

func newDecodeError(err error, typ reflect.Type) *DecodeError {
	return &DecodeError{Err: err, Type: typ}
}

// Path returns the location of the failing value, for example
// "(p2p.Hello).Caps[2].Name", or "" when the error is about the top-level
// value itself.
func (e *DecodeError) Path() string {
	var sb strings.Builder
	for i := len(e.ctx) - 1; i >= 0; i-- {
		sb.WriteString(e.ctx[i])
	}
	return sb.String()
}

// Error implements error.
func (e *DecodeError) Error() string {
	msg := "rlp: " + strings.TrimPrefix(e.Err.Error(), "rlp: ")
	if e.Type != nil {
		msg += " for " + e.Type.String()
	}
	if len(e.ctx) > 0 {
		msg += ", decoding into " + e.Path()
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *DecodeError) Unwrap() error { return e.Err }

// addContext prepends a path segment to err if it is a *DecodeError.
func addContext(err error, seg string) error {
	if de, ok := err.(*DecodeError); ok {
		de.ctx = append(de.ctx, seg)
	}
	return err
}

// typeError describes a Go type that cannot be encoded or decoded.
type typeError struct {
	base   error        // ErrUnsupportedType or ErrInvalidTag
	typ    reflect.Type // the offending type, or the struct with the bad tag
	field  string       // struct field name, if any
	tag    string       // the offending tag, for ErrInvalidTag
	reason string       // extra explanation
}

func (e *typeError) Error() string {
	if e.base == ErrInvalidTag {
		return "rlp: invalid struct tag " + quote(e.tag) + " for " + e.typ.String() + "." + e.field + " (" + e.reason + ")"
	}
	msg := "rlp: type " + e.typ.String() + " is not RLP-serializable"
	if e.reason != "" {
		msg += " (" + e.reason + ")"
	}
	return msg
}

func (e *typeError) Unwrap() error { return e.base }

func quote(s string) string { return `"` + s + `"` }
