package rlp

import (
	"math/big"
	"reflect"
	"strings"
	"sync"
)

// encoder appends the encoding of v to dst.
type encoder func(dst []byte, v reflect.Value) ([]byte, error)

// decoder decodes the first item of b, which is non-empty, into v and
// returns the bytes after it. b is either the whole top-level item or the
// unread part of the content of the enclosing list.
type decoder func(b []byte, v reflect.Value) (rest []byte, err error)

// typeInfo holds the codec of one Go type. Codecs of container types call
// their element's codec through its *typeInfo, so a recursive type can
// refer to its own, still incomplete, typeInfo while it is generated.
type typeInfo struct {
	enc    encoder
	encErr error
	dec    decoder
	decErr error
}

var (
	// infoCache maps reflect.Type to its complete *typeInfo. Lookups take no
	// lock; generation is serialized by genMu and publishes a type only when
	// everything it refers to is complete.
	infoCache sync.Map
	genMu     sync.Mutex
)

var (
	rawValueType    = reflect.TypeFor[RawValue]()
	bigIntType      = reflect.TypeFor[big.Int]()
	bigIntPtrType   = reflect.TypeFor[*big.Int]()
	marshalerType   = reflect.TypeFor[Marshaler]()
	unmarshalerType = reflect.TypeFor[Unmarshaler]()
)

// cachedInfo returns the codec of t, generating it on first use.
func cachedInfo(t reflect.Type) *typeInfo {
	if v, ok := infoCache.Load(t); ok {
		return v.(*typeInfo)
	}
	genMu.Lock()
	defer genMu.Unlock()
	if v, ok := infoCache.Load(t); ok {
		return v.(*typeInfo)
	}
	g := &generator{pending: make(map[reflect.Type]*typeInfo)}
	info := g.info(t)
	for t, i := range g.pending {
		infoCache.Store(t, i)
	}
	return info
}

// generator builds the codecs of a type and of every type it refers to.
type generator struct {
	pending map[reflect.Type]*typeInfo // generated in this run, not yet published
}

func (g *generator) info(t reflect.Type) *typeInfo {
	if i := g.pending[t]; i != nil {
		return i
	}
	if v, ok := infoCache.Load(t); ok {
		return v.(*typeInfo)
	}
	i := new(typeInfo)
	g.pending[t] = i // visible to recursive references before it is filled
	i.enc, i.encErr = g.makeEncoder(t)
	i.dec, i.decErr = g.makeDecoder(t)
	return i
}

// encode calls i's encoder. Codecs of container types call their elements
// through it because the element's codec may not have existed when the
// container's was built.
func (i *typeInfo) encode(dst []byte, v reflect.Value) ([]byte, error) {
	if i.enc == nil {
		return dst, i.encErr
	}
	return i.enc(dst, v)
}

// decode calls i's decoder; see encode.
func (i *typeInfo) decode(b []byte, v reflect.Value) ([]byte, error) {
	if i.dec == nil {
		return b, i.decErr
	}
	return i.dec(b, v)
}

// encodeVia returns i's encoder, or one that calls it later if it does not
// exist yet.
func encodeVia(i *typeInfo) encoder {
	if i.enc != nil {
		return i.enc
	}
	return i.encode
}

// decodeVia returns i's decoder, or one that calls it later if it does not
// exist yet.
func decodeVia(i *typeInfo) decoder {
	if i.dec != nil {
		return i.dec
	}
	return i.decode
}

func isUint(k reflect.Kind) bool {
	return k >= reflect.Uint && k <= reflect.Uintptr
}

// isEncByte reports whether elements of type t make a slice or array encode
// as a string.
func isEncByte(t reflect.Type) bool {
	return t.Kind() == reflect.Uint8 && !t.Implements(marshalerType)
}

// isDecByte reports whether elements of type t make a slice or array decode
// from a string.
func isDecByte(t reflect.Type) bool {
	return t.Kind() == reflect.Uint8 && !reflect.PointerTo(t).Implements(unmarshalerType)
}

// defaultNilKind returns the kind of the empty value that a nil pointer to t
// encodes as.
func defaultNilKind(t reflect.Type) Kind {
	switch k := t.Kind(); {
	case isUint(k), k == reflect.String, k == reflect.Bool:
		return String
	case (k == reflect.Slice || k == reflect.Array) && isEncByte(t.Elem()):
		return String
	}
	return List
}

// field is an encoded struct field.
type field struct {
	index    int
	name     string
	enc      encoder
	dec      decoder
	optional bool // may be missing from the input; omitted when zero at the end
	tail     bool // a slice decoding all remaining elements
}

// fieldTags are the parsed `rlp:"…"` tags of one field.
type fieldTags struct {
	ignored, optional, tail, nilOK bool
	nilKind                        Kind
}

// structFields returns the encoded fields of the struct type t, with
// codecs. A bad tag makes both errors non-nil; a field type that cannot be
// encoded or decoded sets encErr or decErr.
func (g *generator) structFields(t reflect.Type) (fields []field, encErr, decErr error) {
	lastPublic := -1
	for i := range t.NumField() {
		if t.Field(i).IsExported() {
			lastPublic = i
		}
	}
	firstOptional := ""
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tags, err := parseTags(t, sf, i == lastPublic)
		if err != nil {
			return nil, err, err
		}
		if tags.ignored {
			continue
		}
		if tags.optional || tags.tail {
			if firstOptional == "" {
				firstOptional = sf.Name
			}
		} else if firstOptional != "" {
			err := &typeError{base: ErrInvalidTag, typ: t, field: sf.Name,
				reason: "must be optional because preceding field " + quote(firstOptional) + " is optional"}
			return nil, err, err
		}
		f, fencErr, fdecErr := g.makeField(sf, tags)
		if fencErr != nil && encErr == nil {
			encErr = &structFieldError{typ: t, field: sf.Name, err: fencErr}
		}
		if fdecErr != nil && decErr == nil {
			decErr = &structFieldError{typ: t, field: sf.Name, err: fdecErr}
		}
		fields = append(fields, f)
	}
	return fields, encErr, decErr
}

// makeField builds the codec of one struct field according to its tags.
func (g *generator) makeField(sf reflect.StructField, tags fieldTags) (f field, encErr, decErr error) {
	f = field{index: sf.Index[0], name: sf.Name, optional: tags.optional}
	ft := sf.Type
	fi := g.info(ft)
	f.enc, encErr = encodeVia(fi), fi.encErr
	f.dec, decErr = decodeVia(fi), fi.decErr
	switch {
	case tags.tail:
		// As in go-ethereum, "tail" only changes slices that would otherwise
		// be lists: a RawValue, a byte slice or a slice with its own codec
		// stays a single item. This can differ between the directions.
		ei := g.info(ft.Elem())
		if ft != rawValueType && !isEncByte(ft.Elem()) && !reflect.PointerTo(ft).Implements(marshalerType) {
			f.enc, encErr = makeTailEncoder(ei), ei.encErr
		}
		if ft != rawValueType && !isDecByte(ft.Elem()) && !reflect.PointerTo(ft).Implements(unmarshalerType) {
			f.dec, decErr = makeTailDecoder(ft, ei), ei.decErr
			f.tail = true
		}
	case tags.nilOK && ft != bigIntPtrType:
		ei := g.info(ft.Elem())
		f.enc, encErr = makePtrEncoder(ei, tags.nilKind), ei.encErr
		f.dec, decErr = makeNilPtrDecoder(ft, ei, tags.nilKind), ei.decErr
	}
	return f, encErr, decErr
}

// parseTags parses the rlp tag of the exported field sf of struct type t.
func parseTags(t reflect.Type, sf reflect.StructField, last bool) (fieldTags, error) {
	var ts fieldTags
	tagErr := func(tag, reason string) error {
		return &typeError{base: ErrInvalidTag, typ: t, field: sf.Name, tag: tag, reason: reason}
	}
	for _, tag := range strings.Split(sf.Tag.Get("rlp"), ",") {
		switch tag = strings.TrimSpace(tag); tag {
		case "":
		case "-":
			ts.ignored = true
		case "nil", "nilString", "nilList":
			if sf.Type.Kind() != reflect.Pointer {
				return ts, tagErr(tag, "field is not a pointer")
			}
			ts.nilOK = true
			switch tag {
			case "nil":
				ts.nilKind = defaultNilKind(sf.Type.Elem())
			case "nilString":
				ts.nilKind = String
			default:
				ts.nilKind = List
			}
		case "optional":
			if ts.tail {
				return ts, tagErr(tag, `also has "tail" tag`)
			}
			ts.optional = true
		case "tail":
			switch {
			case !last:
				return ts, tagErr(tag, "must be on last field")
			case ts.optional:
				return ts, tagErr(tag, `also has "optional" tag`)
			case sf.Type.Kind() != reflect.Slice:
				return ts, tagErr(tag, "field type is not slice")
			}
			ts.tail = true
		default:
			return ts, tagErr(tag, "unknown tag")
		}
	}
	return ts, nil
}

// structFieldError reports a struct whose field has an unsupported type.
type structFieldError struct {
	typ   reflect.Type
	field string
	err   error
}

func (e *structFieldError) Error() string {
	return e.err.Error() + " (struct field " + e.typ.String() + "." + e.field + ")"
}

func (e *structFieldError) Unwrap() error { return e.err }
