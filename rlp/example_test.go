package rlp_test

import (
	"fmt"

	"github.com/devp2p-go/devp2p/rlp"
)

func ExampleStartList() {
	// Encode [1, ["cat", "dog"]] without reflection or allocation.
	buf := make([]byte, 0, 64)
	buf, outer := rlp.StartList(buf)
	buf = rlp.AppendUint64(buf, 1)
	buf, inner := rlp.StartList(buf)
	buf = rlp.AppendString(buf, "cat")
	buf = rlp.AppendString(buf, "dog")
	buf = rlp.EndList(buf, inner)
	buf = rlp.EndList(buf, outer)
	fmt.Printf("%X\n", buf)
	// Output: CA01C88363617483646F67
}

func ExampleSplitList() {
	msg := []byte{0xCA, 0x01, 0xC8, 0x83, 'c', 'a', 't', 0x83, 'd', 'o', 'g'}
	content, _, err := rlp.SplitList(msg)
	if err != nil {
		panic(err)
	}
	n, content, _ := rlp.SplitUint64(content)
	animals, _, _ := rlp.SplitList(content)
	count, _ := rlp.CountValues(animals)
	for len(animals) > 0 {
		var name []byte
		name, animals, _ = rlp.SplitString(animals)
		fmt.Printf("%s ", name)
	}
	fmt.Println(n, count)
	// Output: cat dog 1 2
}

type hello struct {
	Version uint64
	Name    string
	Caps    []capability
	Rest    []rlp.RawValue `rlp:"tail"` // later versions may add fields
}

type capability struct {
	Name    string
	Version uint
}

func ExampleDecodeBytes() {
	enc, _ := rlp.EncodeToBytes(&hello{Version: 5, Name: "x", Caps: []capability{{"eth", 68}}})
	fmt.Printf("%X\n", enc)

	var h hello
	if err := rlp.DecodeBytes(enc, &h); err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", h)

	// Non-canonical input is rejected, with the path to the bad value.
	bad := []byte{0xC9, 0x05, 0x78, 0xC6, 0xC5, 0x83, 'e', 't', 'h', 0x00}
	fmt.Println(rlp.DecodeBytes(bad, &h))
	// Output:
	// C90578C6C58365746844
	// {Version:5 Name:x Caps:[{Name:eth Version:68}] Rest:[]}
	// rlp: non-canonical integer format for uint, decoding into (rlp_test.hello).Caps[0].Version
}

func ExampleDecodeFirst() {
	// A discv4-style packet body may be followed by data from a newer
	// protocol version, which is ignored.
	body := []byte{0xC2, 0x04, 0x05, 0xFF, 0xFF}
	var ping struct {
		Version    uint
		Expiration uint64
	}
	rest, err := rlp.DecodeFirst(body, &ping)
	fmt.Println(ping.Version, ping.Expiration, len(rest), err)
	// Output: 4 5 2 <nil>
}

func ExampleRawValue() {
	// Decode the envelope now and the payload later, once its type is known.
	var envelope struct {
		Kind    uint
		Payload rlp.RawValue
	}
	enc, _ := rlp.EncodeToBytes([]any{uint(2), []string{"a", "b"}})
	if err := rlp.DecodeBytes(enc, &envelope); err != nil {
		panic(err)
	}
	var payload []string
	if err := rlp.DecodeBytes(envelope.Payload, &payload); err != nil {
		panic(err)
	}
	fmt.Printf("%d %X %q\n", envelope.Kind, envelope.Payload, payload)
	// Output: 2 C26162 ["a" "b"]
}
