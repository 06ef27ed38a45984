package rlpx

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"math/rand"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/rlp"
)

// bufConn is a net.Conn over two byte buffers, for byte-exact frame tests.
type bufConn struct {
	in  io.Reader
	out bytes.Buffer
}

func (c *bufConn) Read(b []byte) (int, error)         { return c.in.Read(b) }
func (c *bufConn) Write(b []byte) (int, error)        { return c.out.Write(b) }
func (c *bufConn) Close() error                       { return nil }
func (c *bufConn) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (c *bufConn) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (c *bufConn) SetDeadline(t time.Time) error      { return nil }
func (c *bufConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *bufConn) SetWriteDeadline(t time.Time) error { return nil }

// fakeHash ignores input and always returns 32 bytes of 0x01, as in
// go-ethereum's TestFrameReadWrite.
type fakeHash struct{}

func (fakeHash) Write(p []byte) (int, error) { return len(p), nil }
func (fakeHash) Sum(b []byte) []byte         { return append(b, bytes.Repeat([]byte{1}, 32)...) }
func (fakeHash) Reset()                      {}
func (fakeHash) Size() int                   { return 32 }
func (fakeHash) BlockSize() int              { return 136 }

func TestVectorFrameFakeHash(t *testing.T) {
	sec := func() *Secrets {
		k := crypto.Keccak256()
		return &Secrets{AES: k, MAC: k, EgressMAC: fakeHash{}, IngressMAC: fakeHash{}}
	}
	fd := &bufConn{}
	c := NewConn(fd, nil, nil)
	c.InitWithSecrets(sec())
	if _, err := c.WriteMsg(8, mustHex(t, "c401020304")); err != nil {
		t.Fatal(err)
	}
	want := "00828ddae471818bb0bfa6b551d1cb42" + "01010101010101010101010101010101" +
		"ba628a4ba590cb43f7848f41c4382885" + "01010101010101010101010101010101"
	if got := hex.EncodeToString(fd.out.Bytes()); got != want {
		t.Fatalf("frame:\n got %s\nwant %s", got, want)
	}
	rc := NewConn(&bufConn{in: bytes.NewReader(fd.out.Bytes())}, nil, nil)
	rc.InitWithSecrets(sec())
	code, data, _, err := rc.ReadMsg()
	if err != nil || code != 8 || hex.EncodeToString(data) != "c401020304" {
		t.Fatalf("read back: code %d data %x err %v", code, data, err)
	}
}

// TestVectorFramesDerived checks the first two frames A sends on the EIP-8
// vector session (derived values, computed with go-ethereum).
func TestVectorFramesDerived(t *testing.T) {
	fd := &bufConn{}
	a := NewConn(fd, nil, nil)
	a.InitWithSecrets(vectorSecrets(t, true))
	frames := []struct {
		code    uint64
		payload string
		want    string
	}{
		{2, "c0", "f25922f27a7e8fa7ba4cbb3756ff0ca1ec7df03d4f71941880e87c1ab61e8c743d73d2ddeceee2c8e2a40120778b1d762a3174635b9f06fe45d277439d6c41d6"},
		{0x10, "c401020304", "c6b2956bb5cb17b2f98088cc80674b6934234d86107918b043bee4ae924bf491ada854b63efc12cb24452f012951442bf944de827af9849539b4570111585281"},
	}
	for i, f := range frames {
		fd.out.Reset()
		if _, err := a.WriteMsg(f.code, mustHex(t, f.payload)); err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(fd.out.Bytes()); got != f.want {
			t.Errorf("frame %d:\n got %s\nwant %s", i+1, got, f.want)
		}
	}
	var wire []byte
	for _, f := range frames {
		wire = append(wire, mustHex(t, f.want)...)
	}
	b := NewConn(&bufConn{in: bytes.NewReader(wire)}, nil, nil)
	b.InitWithSecrets(vectorSecrets(t, false))
	for i, f := range frames {
		code, data, _, err := b.ReadMsg()
		if err != nil || code != f.code || hex.EncodeToString(data) != f.payload {
			t.Fatalf("B frame %d: code %d data %x err %v", i+1, code, data, err)
		}
	}
}

func randBytes(n int, seed int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

func TestMessageSizes(t *testing.T) {
	sizes := []int{0, 1, 1 << 10, 64 << 10, 1 << 20, 10 << 20}
	for _, snappy := range []bool{false, true} {
		a, b := pipePair(t, nil, false)
		a.SetSnappy(snappy)
		b.SetSnappy(snappy)
		for i, n := range sizes {
			payload := randBytes(n, int64(i))
			if i%2 == 1 && n > 0 { // compressible too
				payload = bytes.Repeat([]byte("devp2p"), n/6+1)[:n]
			}
			exchange(t, a, b, uint64(i), payload)
			exchange(t, b, a, uint64(i)+0x100, payload)
		}
	}
}

// TestBatchedWrites buffers many messages and sends them with few writes,
// while the other side reads them all in order.
func TestBatchedWrites(t *testing.T) {
	a, b := pipePair(t, nil, false)
	const n = 1000
	go func() {
		for i := range n {
			if _, err := a.BufferMsg(uint64(i%200), randBytes(i%300, int64(i))); err != nil {
				t.Error(err)
				return
			}
		}
		if err := a.Flush(); err != nil {
			t.Error(err)
		}
	}()
	for i := range n {
		code, data, _, err := b.ReadMsg()
		if err != nil {
			t.Fatal(err)
		}
		if code != uint64(i%200) || !bytes.Equal(data, randBytes(i%300, int64(i))) {
			t.Fatalf("message %d mismatch", i)
		}
	}
}

// TestConcurrentReadWrite has both sides read and write at once.
func TestConcurrentReadWrite(t *testing.T) {
	a, b := pipePair(t, nil, false)
	a.SetSnappy(true)
	b.SetSnappy(true)
	const n = 200
	done := make(chan error, 4)
	for _, c := range []*Conn{a, b} {
		go func() {
			for i := range n {
				if _, err := c.WriteMsg(uint64(i), randBytes(i*37, int64(i))); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		go func() {
			for i := range n {
				code, data, _, err := c.ReadMsg()
				if err == nil && (code != uint64(i) || !bytes.Equal(data, randBytes(i*37, int64(i)))) {
					err = errors.New("mismatch")
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func TestWriteTooLarge(t *testing.T) {
	a, _ := pipePair(t, nil, false)
	if _, err := a.WriteMsg(1, make([]byte, MaxMessageSize+1)); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("err = %v, want ErrMessageTooLarge", err)
	}
}

// rawPair returns a reading Conn and the egress session of its peer, so
// tests can craft arbitrary (correctly encrypted and MACed) frames.
func rawPair(t *testing.T, cfg *Config) (r *Conn, in *io.PipeWriter, peer *writer) {
	a, b := vectorSecrets(t, true), vectorSecrets(t, false)
	pr, pw := io.Pipe()
	r = NewConn(&bufConn{in: pr}, nil, cfg)
	r.InitWithSecrets(b)
	sink := NewConn(&pipeWriterConn{pw}, nil, nil)
	sink.InitWithSecrets(a)
	t.Cleanup(func() { pw.Close() })
	return r, pw, &sink.wr
}

type pipeWriterConn struct{ *io.PipeWriter }

func (c *pipeWriterConn) Read([]byte) (int, error)         { return 0, io.EOF }
func (c *pipeWriterConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *pipeWriterConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *pipeWriterConn) SetDeadline(time.Time) error      { return nil }
func (c *pipeWriterConn) SetReadDeadline(time.Time) error  { return nil }
func (c *pipeWriterConn) SetWriteDeadline(time.Time) error { return nil }

// sealRaw returns a frame with the given declared size and body bytes.
func sealRaw(w *writer, fsize int, body []byte) []byte {
	out := make([]byte, 32, 32+len(body)+16)
	w.sealHeader(out, fsize)
	out = append(out, body...)
	ct := out[32:]
	w.session.stream.XORKeyStream(ct, ct)
	w.session.mac.h.Write(ct)
	return append(out, w.session.mac.frameEnd()...)
}

func readErr(t *testing.T, r *Conn, wire []byte, pw *io.PipeWriter) error {
	t.Helper()
	go func() { pw.Write(wire); pw.Close() }()
	_, _, _, err := r.ReadMsg()
	return err
}

func TestBadFrames(t *testing.T) {
	t.Run("HeaderMAC", func(t *testing.T) {
		r, pw, w := rawPair(t, nil)
		frame := sealRaw(w, 2, make([]byte, 16))
		frame[20] ^= 1
		if err := readErr(t, r, frame, pw); !errors.Is(err, ErrHeaderMAC) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("FrameMAC", func(t *testing.T) {
		r, pw, w := rawPair(t, nil)
		frame := sealRaw(w, 2, []byte{0x02, 0xc0, 15: 0})
		frame[len(frame)-1] ^= 1
		if err := readErr(t, r, frame, pw); !errors.Is(err, ErrFrameMAC) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("Ciphertext", func(t *testing.T) {
		r, pw, w := rawPair(t, nil)
		frame := sealRaw(w, 2, []byte{0x02, 0xc0, 15: 0})
		frame[33] ^= 1
		if err := readErr(t, r, frame, pw); !errors.Is(err, ErrFrameMAC) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("EmptyFrame", func(t *testing.T) {
		r, pw, w := rawPair(t, nil)
		if err := readErr(t, r, sealRaw(w, 0, nil), pw); !errors.Is(err, ErrEmptyFrame) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("NonCanonicalCode", func(t *testing.T) {
		r, pw, w := rawPair(t, nil)
		if err := readErr(t, r, sealRaw(w, 2, []byte{0x81, 0x05, 15: 0}), pw); !errors.Is(err, ErrMessageCode) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("OverLimit", func(t *testing.T) {
		r, pw, w := rawPair(t, &Config{MaxMessageSize: 1000})
		// Only the header is sent: the size is refused before the body is read.
		hdr := make([]byte, 32)
		w.sealHeader(hdr, 5000)
		if err := readErr(t, r, hdr, pw); !errors.Is(err, ErrMessageTooLarge) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("OverLoweredLimit", func(t *testing.T) {
		r, pw, w := rawPair(t, nil)
		r.SetMaxMessageSize(2048)
		hdr := make([]byte, 32)
		w.sealHeader(hdr, 4096)
		if err := readErr(t, r, hdr, pw); !errors.Is(err, ErrMessageTooLarge) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("SnappyBomb", func(t *testing.T) {
		r, pw, w := rawPair(t, nil)
		r.SetSnappy(true)
		// A snappy block whose header claims 2^31 decoded bytes.
		body := []byte{0x05, 0x80, 0x80, 0x80, 0x80, 0x08, 0x00}
		if err := readErr(t, r, sealRaw(w, len(body), append(body, make([]byte, padded(len(body))-len(body))...)), pw); !errors.Is(err, ErrMessageTooLarge) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("SnappyGarbage", func(t *testing.T) {
		r, pw, w := rawPair(t, nil)
		r.SetSnappy(true)
		body := []byte{0x05, 0x0a, 0xff, 0xff, 0xff}
		if err := readErr(t, r, sealRaw(w, len(body), append(body, make([]byte, 11)...)), pw); !errors.Is(err, ErrSnappy) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("Truncated", func(t *testing.T) {
		r, pw, w := rawPair(t, nil)
		frame := sealRaw(w, 2, []byte{0x02, 0xc0, 15: 0})
		if err := readErr(t, r, frame[:40], pw); !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("Sticky", func(t *testing.T) {
		r, pw, w := rawPair(t, nil)
		frame := sealRaw(w, 2, make([]byte, 16))
		frame[0] ^= 1
		err1 := readErr(t, r, frame, pw)
		_, _, _, err2 := r.ReadMsg()
		if !errors.Is(err1, ErrHeaderMAC) || err2 != err1 {
			t.Fatalf("errors %v, %v", err1, err2)
		}
	})
}

// TestTrickleMemory: a frame header announcing ~16 MiB followed by a few
// bytes must not make the reader allocate 16 MiB.
func TestTrickleMemory(t *testing.T) {
	r, pw, w := rawPair(t, nil)
	hdr := make([]byte, 32)
	w.sealHeader(hdr, MaxMessageSize)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	go func() {
		pw.Write(hdr)
		pw.Write(make([]byte, 1000))
		pw.Close()
	}()
	_, _, _, err := r.ReadMsg()
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("no error for truncated frame")
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2<<20 {
		t.Fatalf("allocated %d bytes for a 1000-byte trickle", alloc)
	}
}

func TestHandshakeBadInput(t *testing.T) {
	keyB := mustKey(t, hexKeyB)
	for _, tc := range []struct {
		name  string
		input []byte
		check func(error) bool
	}{
		{"Empty", nil, func(err error) bool { return errors.Is(err, io.EOF) }},
		{"Truncated", mustHex(t, vecAuth2)[:100], func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		{"Oversized", []byte{0x08, 0x01}, func(err error) bool { return errors.Is(err, ErrHandshakeTooLarge) }},
		{"TooShort", []byte{0x00, 0x10, 15: 0, 17: 0}, func(err error) bool { var h *HandshakeError; return errors.As(err, &h) }},
		{"Garbage", append([]byte{0x01, 0x00}, randBytes(256, 1)...), func(err error) bool {
			var h *HandshakeError
			return errors.As(err, &h) && h.Phase == "decrypt"
		}},
		{"FlippedAuth", flip(mustHex(t, vecAuth2), 300), func(err error) bool {
			var h *HandshakeError
			return errors.As(err, &h) && h.Phase == "decrypt"
		}},
		{"WrongPrefix", flip(mustHex(t, vecAuth2), 1), func(err error) bool { var h *HandshakeError; return errors.As(err, &h) }},
		{"Legacy0x04Garbage", append([]byte{0x04}, randBytes(400, 2)...), func(err error) bool { var h *HandshakeError; return errors.As(err, &h) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &handshake{key: keyB}
			_, err := h.runRecipient(&bufConn{in: bytes.NewReader(tc.input)})
			if err == nil || !tc.check(err) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func flip(b []byte, i int) []byte { b[i] ^= 0x40; return b }

func TestAuthFilter(t *testing.T) {
	keyB := mustKey(t, hexKeyB)
	errReplay := errors.New("replayed")
	var seen []byte
	h := &handshake{key: keyB, filter: func(p []byte) error { seen = p; return errReplay }}
	_, err := h.runRecipient(&bufConn{in: bytes.NewReader(mustHex(t, vecAuth2))})
	if !errors.Is(err, errReplay) || hex.EncodeToString(seen) != strings.ToLower(vecAuth2) {
		t.Fatalf("err = %v", err)
	}
}

func TestReadTimeout(t *testing.T) {
	a, _ := pipePair(t, &Config{ReadTimeout: 50 * time.Millisecond}, false)
	_, _, _, err := a.ReadMsg()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want timeout", err)
	}
}

// sealMsg returns the frame of a message whose payload is sent as it is
// (already compressed, or not), sealed by w.
func sealMsg(w *writer, code uint64, payload []byte) []byte {
	body := append(rlp.AppendUint64(nil, code), payload...)
	fsize := len(body)
	body = append(body, make([]byte, padded(fsize)-fsize)...)
	return sealRaw(w, fsize, body)
}

// byteReader returns one byte per Read, so that the body's first blocks
// arrive over many reads.
type byteReader struct{ r io.Reader }

func (b byteReader) Read(p []byte) (int, error) { return b.r.Read(p[:min(len(p), 1)]) }

// TestSnappyBombPrefix checks that a snappy frame whose decoded-length
// prefix is refused is refused from the first blocks of its body: the rest
// is never read. A frame that is cut off after its first blocks fails only
// for that, unless its prefix is refused, so the refusals below could not
// come from the whole frame.
func TestSnappyBombPrefix(t *testing.T) {
	const limit = 1 << 20
	bomb := snappyEncode(make([]byte, snappyMaxEncodedLen(8<<20)), make([]byte, 8<<20)) // ≈ 390 KiB
	fine := snappyEncode(make([]byte, snappyMaxEncodedLen(600<<10)), randBytes(600<<10, 1))
	// Claims of 2^32−1 bytes and of 2^35 (more than snappy allows), with a
	// few bytes of data: refused as too large and as invalid snappy.
	liar := []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x00, 0x00}
	corrupt := append([]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, make([]byte, 100)...)
	for _, tc := range []struct {
		name    string
		code    uint64
		payload []byte
		want    error // nil: a read error for the cut-off frame
	}{
		{"Bomb", 0x10, bomb, ErrMessageTooLarge},
		{"BombLongCode", 1 << 60, bomb, ErrMessageTooLarge}, // a 9-byte code
		{"Liar", 0x10, liar, ErrMessageTooLarge},
		{"Corrupt", 0x10, corrupt, ErrSnappy},
		{"UnderLimit", 0x10, fine, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The whole frame is there: no more than the first read is taken.
			r, pw, w := rawPair(t, &Config{MaxMessageSize: limit})
			r.SetSnappy(true)
			wire := sealMsg(w, tc.code, tc.payload)
			r.rd.fd = &bufConn{in: bytes.NewReader(wire)}
			pw.Close()
			_, data, _, err := r.ReadMsg()
			if tc.want == nil {
				if err != nil || !bytes.Equal(data, snappyMust(t, tc.payload)) {
					t.Fatalf("whole frame: err %v", err)
				}
			} else {
				if !errors.Is(err, tc.want) {
					t.Fatalf("whole frame: err = %v, want %v", err, tc.want)
				}
				if n := r.BytesRead(); len(wire) > 1024 && n > 256 {
					t.Fatalf("whole frame: read %d of %d bytes before the refusal", n, len(wire))
				}
			}

			// Only the header and the first blocks, the body's byte by byte;
			// then the stream ends.
			r, pw, w = rawPair(t, &Config{MaxMessageSize: limit})
			r.SetSnappy(true)
			wire = sealMsg(w, tc.code, tc.payload)
			early := min(prefixSize, len(wire)-48) // the body's first blocks
			r.rd.fd = &bufConn{in: io.MultiReader(bytes.NewReader(wire[:32]), byteReader{bytes.NewReader(wire[32 : 32+early])})}
			pw.Close()
			_, _, _, err = r.ReadMsg()
			switch {
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("first blocks only: err = %v, want %v", err, tc.want)
			case tc.want == nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF):
				t.Fatalf("first blocks only: err = %v, want EOF", err)
			}
			if n := r.BytesRead(); n != uint64(32+early) {
				t.Fatalf("first blocks only: read %d bytes", n)
			}
		})
	}
}

func snappyMust(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := snappyDecode(make([]byte, must(snappyDecodedLen(b))), b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func must(n int, err error) int {
	if err != nil {
		panic(err)
	}
	return n
}

// TestTCPSnappyBomb sends a 390 KiB snappy bomb over loopback TCP, on the
// raw-socket read path: the receiver refuses it after one read of at most
// its read buffer, and also when the stream ends right after the first
// blocks of the body.
func TestTCPSnappyBomb(t *testing.T) {
	bomb := snappyEncode(make([]byte, snappyMaxEncodedLen(8<<20)), make([]byte, 8<<20))
	t.Run("Whole", func(t *testing.T) {
		a, b := tcpPair(t, &Config{MaxMessageSize: 1 << 20})
		b.SetSnappy(true)
		wire := sealMsg(&a.wr, 0x10, bomb)
		done := make(chan struct{})
		go func() { a.NetConn().Write(wire); close(done) }() // fails once b closes
		_, _, _, err := b.ReadMsg()
		if !errors.Is(err, ErrMessageTooLarge) {
			t.Fatalf("err = %v", err)
		}
		if n := b.BytesRead(); n > readBufSize {
			t.Fatalf("read %d bytes of a %d-byte frame", n, len(wire))
		}
		t.Logf("refused after reading %d bytes of a %d-byte frame", b.BytesRead(), len(wire))
		b.Close()
		<-done
	})
	t.Run("FirstBlocks", func(t *testing.T) {
		a, b := tcpPair(t, &Config{MaxMessageSize: 1 << 20})
		b.SetSnappy(true)
		wire := sealMsg(&a.wr, 0x10, bomb)
		fd := a.NetConn().(*net.TCPConn)
		if _, err := fd.Write(wire[:32]); err != nil {
			t.Fatal(err)
		}
		if _, err := fd.Write(wire[32 : 32+prefixSize]); err != nil {
			t.Fatal(err)
		}
		fd.CloseWrite()
		if _, _, _, err := b.ReadMsg(); !errors.Is(err, ErrMessageTooLarge) {
			t.Fatalf("err = %v", err)
		}
	})
}

// chunkReader returns reads of 1, 2, …, 97 bytes in turn.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	c.n = c.n%97 + 1
	return c.r.Read(p[:min(len(p), c.n)])
}

// TestSnappyFrameSizes reads snappy messages of every small size and of
// sizes around the read buffer (frames in the buffer and frames read into
// a growing one), delivered at once and in small pieces, so that the first
// blocks of a body and the rest arrive in every split.
func TestSnappyFrameSizes(t *testing.T) {
	var sizes []int
	for n := range 100 {
		sizes = append(sizes, n)
	}
	for n := readBufSize - 80; n < readBufSize+16; n += 3 {
		sizes = append(sizes, n)
	}
	for _, chunked := range []bool{false, true} {
		wfd := &bufConn{}
		w := NewConn(wfd, nil, nil)
		w.InitWithSecrets(vectorSecrets(t, true))
		w.SetSnappy(true)
		for i, n := range sizes {
			if _, err := w.BufferMsg(uint64(i), randBytes(n, int64(i))); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		var in io.Reader = bytes.NewReader(wfd.out.Bytes())
		if chunked {
			in = &chunkReader{r: in}
		}
		r := NewConn(&bufConn{in: in}, nil, nil)
		r.InitWithSecrets(vectorSecrets(t, false))
		r.SetSnappy(true)
		for i, n := range sizes {
			code, data, _, err := r.ReadMsg()
			if err != nil || code != uint64(i) || !bytes.Equal(data, randBytes(n, int64(i))) {
				t.Fatalf("chunked %v, message %d (%d bytes): code %d, %d bytes, err %v", chunked, i, n, code, len(data), err)
			}
		}
	}
}
