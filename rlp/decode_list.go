package rlp

import (
	"reflect"
	"strconv"
)

// This file holds the decoders of list-shaped Go types: slices, arrays,
// structs and the empty interface.

// nextList is nextItem for an item that must be a list.
func nextList(b []byte) (content, rest []byte, err error) {
	k, c, rest, err := nextItem(b)
	switch {
	case err != nil:
		return nil, b, err
	case k != List:
		return nil, b, ErrExpectedList
	}
	return c, rest, nil
}

// countItems counts the items in the content of a list. Its headers are
// checked, but single bytes in string headers are left to the element
// decoders (a RawValue element accepts them).
func countItems(c []byte) (int, error) {
	n, err := countValues(c, false)
	if err != nil && err != ErrCanonSize {
		err = ErrElemTooLarge
	}
	return n, err
}

// makeSliceDecoder returns a decoder for the slice type t whose elements
// have the codec ei.
func makeSliceDecoder(t reflect.Type, ei *typeInfo) decoder {
	empty := reflect.MakeSlice(t, 0, 0)
	return func(b []byte, v reflect.Value) ([]byte, error) {
		c, rest, err := nextList(b)
		if err != nil {
			return b, newDecodeError(err, t)
		}
		if err := decodeElems(c, v, empty, ei); err != nil {
			return b, err
		}
		return rest, nil
	}
}

// makeTailDecoder returns a decoder for a "tail" field of slice type t: it
// decodes all remaining items of the enclosing struct's list, possibly none.
func makeTailDecoder(t reflect.Type, ei *typeInfo) decoder {
	empty := reflect.MakeSlice(t, 0, 0)
	return func(b []byte, v reflect.Value) ([]byte, error) {
		if err := decodeElems(b, v, empty, ei); err != nil {
			return b, err
		}
		return b[len(b):], nil
	}
}

// maxPrealloc bounds the bytes decodeElems allocates for a slice before its
// elements have been decoded. Each element takes at least one input byte,
// but a Go element may be much larger, so trusting the item count alone
// would let a short invalid input cause a large allocation.
const maxPrealloc = 64 << 10

// decodeElems decodes every item of c into a new slice stored in v. The
// slice is allocated once, sized by the items actually present, unless
// that would exceed maxPrealloc bytes; it then grows as elements decode.
// When c is empty, v is set to empty, a shared slice of capacity zero: the
// result is empty but not nil, like go-ethereum's.
func decodeElems(c []byte, v, empty reflect.Value, ei *typeInfo) error {
	n, err := countItems(c)
	if err != nil {
		return newDecodeError(err, v.Type())
	}
	if n == 0 {
		v.Set(empty)
		return nil
	}
	// Build the slice in place, so that only its array is allocated.
	v.SetZero()
	v.Grow(min(n, maxPrealloc/max(int(v.Type().Elem().Size()), 1)))
	for i := range n {
		if i == v.Cap() {
			v.Grow(1) // grows geometrically
		}
		v.SetLen(i + 1)
		if c, err = ei.decode(c, v.Index(i)); err != nil {
			return addContext(err, "["+strconv.Itoa(i)+"]")
		}
	}
	return nil
}

// makeArrayDecoder returns a decoder for the array type t whose elements
// have the codec ei. The list must have exactly t.Len() items.
func makeArrayDecoder(t reflect.Type, ei *typeInfo) decoder {
	n := t.Len()
	return func(b []byte, v reflect.Value) ([]byte, error) {
		c, rest, err := nextList(b)
		if err != nil {
			return b, newDecodeError(err, t)
		}
		for i := range n {
			if len(c) == 0 {
				return b, newDecodeError(ErrTooFewElements, t)
			}
			if c, err = ei.decode(c, v.Index(i)); err != nil {
				return b, addContext(err, "["+strconv.Itoa(i)+"]")
			}
		}
		if len(c) > 0 {
			return b, newDecodeError(ErrTooManyElements, t)
		}
		return rest, nil
	}
}

// makeStructDecoder returns a decoder for the struct type t. When the list
// ends at an optional field, that field and all after it are zeroed.
func makeStructDecoder(t reflect.Type, fields []field) decoder {
	return func(b []byte, v reflect.Value) ([]byte, error) {
		c, rest, err := nextList(b)
		if err != nil {
			return b, newDecodeError(err, t)
		}
		for i, f := range fields {
			if len(c) == 0 && !f.tail {
				if !f.optional {
					return b, newDecodeError(ErrTooFewElements, t)
				}
				for _, f := range fields[i:] {
					v.Field(f.index).SetZero()
				}
				break
			}
			if c, err = f.dec(c, v.Field(f.index)); err != nil {
				return b, addContext(err, "."+f.name)
			}
		}
		if len(c) > 0 {
			return b, newDecodeError(ErrTooManyElements, t)
		}
		return rest, nil
	}
}

var anyType = reflect.TypeFor[any]()

func decodeInterface(b []byte, v reflect.Value) ([]byte, error) {
	if v.NumMethod() != 0 {
		return b, &typeError{base: ErrUnsupportedType, typ: v.Type(), reason: "decoding needs the empty interface"}
	}
	x, rest, err := decodeAny(b)
	if err != nil {
		return b, err
	}
	v.Set(reflect.ValueOf(x))
	return rest, nil
}

// anyFrame is a list being filled by decodeAny.
type anyFrame struct {
	list []any  // the values decoded so far
	n    int    // the number of items in the list
	c    []byte // the unread part of the list's content
}

func newAnyFrame(c []byte, n int) anyFrame {
	// As in decodeElems, do not trust the item count with more than
	// maxPrealloc bytes before the items have been decoded.
	return anyFrame{list: make([]any, 0, min(n, maxPrealloc/16)), n: n, c: c}
}

// decodeAny decodes the first item of b as a []byte (strings) or []any
// (lists). It keeps its own stack rather than recursing, so input nested
// millions of levels deep costs heap, not goroutine stack.
func decodeAny(b []byte) (any, []byte, error) {
	k, c, rest, err := nextItem(b)
	if err != nil {
		return nil, b, newDecodeError(err, anyType)
	}
	if k != List {
		if k == String && !canonByte(c) {
			return nil, b, newDecodeError(ErrCanonSize, anyType)
		}
		return cloneBytes(c), rest, nil
	}
	n, err := countItems(c)
	if err != nil {
		return nil, b, newDecodeError(err, anySliceType)
	}
	stack := []anyFrame{newAnyFrame(c, n)}
	for {
		top := &stack[len(stack)-1]
		if len(top.list) == top.n {
			done := top.list
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return done, rest, nil
			}
			parent := &stack[len(stack)-1]
			parent.list = append(parent.list, done)
			continue
		}
		k, ec, erest, err := nextItem(top.c)
		switch {
		case err != nil:
			err = newDecodeError(err, anyType)
		case k == List:
			if n, err = countItems(ec); err == nil {
				top.c = erest
				stack = append(stack, newAnyFrame(ec, n))
				continue
			}
			err = newDecodeError(err, anySliceType)
		case k == String && !canonByte(ec):
			err = newDecodeError(ErrCanonSize, anyType)
		default:
			top.list, top.c = append(top.list, cloneBytes(ec)), erest
			continue
		}
		return nil, b, anyError(err.(*DecodeError), stack)
	}
}

var anySliceType = reflect.TypeFor[[]any]()

// anyError adds the path of the value that decodeAny failed on to de: in
// each list on the stack, the value being decoded is the one after those
// already done.
func anyError(de *DecodeError, stack []anyFrame) error {
	for i := len(stack) - 1; i >= 0; i-- {
		de.ctx = append(de.ctx, "["+strconv.Itoa(len(stack[i].list))+"]")
	}
	return de
}
