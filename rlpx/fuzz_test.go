package rlpx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/devp2p-go/devp2p/rlp"
)

// FuzzAuthDecode feeds arbitrary auth plaintexts (the part after ECIES, which
// a peer fully controls) to the recipient's decoder, and arbitrary packets to
// the packet reader.
func FuzzAuthDecode(f *testing.F) {
	keyB := mustKey(f, hexKeyB)
	for _, v := range []string{vecAuth1, vecAuth2, vecAuth3} {
		wire := mustHex(f, v)
		_, plain, _, err := (&handshake{key: keyB}).readPacket(bytes.NewReader(wire), legacyAuthLen)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(plain, false)
		f.Add(wire, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, asPacket bool) {
		h := &handshake{key: keyB}
		if asPacket {
			h.runRecipient(&bufConn{in: bytes.NewReader(data)})
			return
		}
		if h.handleAuth(data, false) == nil {
			if _, _, _, err := decodeAuthBody(data); err != nil {
				t.Fatal("handleAuth accepted what decodeAuthBody rejects")
			}
		}
		h.handleAuth(data, true)
	})
}

// FuzzAckDecode does the same for the initiator's ack decoder.
func FuzzAckDecode(f *testing.F) {
	keyA := mustKey(f, hexKeyA)
	for _, v := range []string{vecAck1, vecAck2, vecAck3} {
		_, plain, _, err := (&handshake{key: keyA}).readPacket(bytes.NewReader(mustHex(f, v)), legacyAckLen)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(plain)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h := &handshake{key: keyA}
		if h.handleAck(data, false) == nil {
			if _, _, err := decodeAckBody(data); err != nil {
				t.Fatal("inconsistent")
			}
		}
		h.handleAck(data, true)
	})
}

// FuzzReadFrame builds correctly sealed frames around fuzzed plaintext (the
// part a peer that completed the handshake controls) and reads them with
// snappy on and off and a small message limit. Nothing may panic, and a
// message may never exceed the limit. With snappy on, the check of the
// decoded-length prefix made from the body's first blocks must decide as
// the check of the whole message does: once those blocks have arrived,
// the read fails with ErrMessageTooLarge or ErrSnappy from the prefix if
// and only if the message's decoded length is over the limit or invalid.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{0, 0, 2, 0x02, 0xc0}, false)
	f.Add([]byte{0, 0, 5, 0x10, 0xc4, 1, 2, 3}, true)
	f.Add([]byte{0, 0, 7, 0x05, 0x80, 0x80, 0x80, 0x80, 0x08, 0x00}, true)
	f.Add([]byte{0xff, 0xff, 0xff, 0x01}, false)
	f.Add(append([]byte{0, 0x10, 0, 0x88, 1, 2, 3, 4, 5, 6, 7, 8, 0xff, 0xff, 0x7f, 0}, make([]byte, 40)...), true)
	f.Add(append([]byte{0, 0, 40, 0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, make([]byte, 40)...), true)
	f.Fuzz(func(t *testing.T, data []byte, snappy bool) {
		if len(data) < 3 {
			return
		}
		const limit = 4096
		fsize := int(binary.BigEndian.Uint32(append([]byte{0}, data[:3]...)))
		body := data[3:]
		if len(body) > padded(fsize) {
			body = body[:padded(fsize)]
		}
		body = append(body, make([]byte, padded(len(body))-len(body))...)
		r, pw, w := rawPair(t, &Config{MaxMessageSize: limit})
		r.SetSnappy(snappy)
		wire := sealRaw(w, fsize, body)
		go func() { pw.Write(wire); pw.Close() }()
		_, msg, _, err := r.ReadMsg()
		if err == nil && len(msg) > limit {
			t.Fatalf("message of %d bytes passed limit %d", len(msg), limit)
		}
		if early := min(prefixSize, padded(fsize)); snappy && fsize > 0 && fsize <= r.rd.frameLimit() && len(body) >= early {
			// The body's first blocks arrived: the prefix decides, and
			// decides as the whole message would.
			want := r.rd.prefixDecision(body[:min(early, fsize)])
			if len(body) >= fsize {
				if full := r.rd.prefixDecision(body[:fsize]); errText(full) != errText(want) {
					t.Fatalf("prefix decides %v, whole message %v", want, full)
				}
			}
			refused := errors.Is(err, ErrMessageTooLarge) || errors.Is(err, ErrSnappy)
			switch {
			case want != nil && errText(err) != errText(want):
				t.Fatalf("err = %v, want %v", err, want)
			case want == nil && refused && len(body) < padded(fsize):
				t.Fatalf("cut-off frame refused with %v", err)
			}
		}
		io.Copy(io.Discard, r.rd.fd.(*bufConn).in)
	})
}

// prefixDecision is what the reader decides from plain, the start of a
// message: the decodedLen error, or nil when the code does not parse.
func (r *reader) prefixDecision(plain []byte) error {
	_, data, err := rlp.SplitUint64(plain)
	if err != nil {
		return nil
	}
	_, err = r.decodedLen(data)
	return err
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
