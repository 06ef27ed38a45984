package p2p

import (
	"bytes"
	"testing"
	"time"
)

// The per-protocol counters of a peer and of its server grow by the
// messages and payload bytes of that protocol only, and the server keeps
// them after the peer is gone.
func TestProtocolTrafficStats(t *testing.T) {
	pn := newPipeNet()
	srv := startPipeServer(t, pn, "10.0.0.1", func(c *Config) {
		c.Protocols = []Protocol{echoProto("echo", 1), echoProto("other", 1)}
	})
	rp := mustDialRaw(t, pn, "10.0.0.2", srv, newTestKey(t))
	if _, err := rp.hello(Cap{"echo", 1}, Cap{"other", 1}); err != nil {
		t.Fatal(err)
	}
	rp.startReader()

	// echo has offset 16 (baseProtoLen); payloads are RLP integers.
	payloads := [][]byte{{0x01}, {0x81, 0xc8}, {0x82, 0x01, 0x00}} // 1, 200, 256
	replies := [][]byte{{0x02}, {0x81, 0xc9}, {0x82, 0x01, 0x01}}
	var inBytes, outBytes uint64
	for i, pl := range payloads {
		if err := rp.send(baseProtoLen+uint64(i), pl); err != nil {
			t.Fatal(err)
		}
		m, ok := rp.next()
		if !ok || m.code != baseProtoLen+uint64(i) || !bytes.Equal(m.data, replies[i]) {
			t.Fatalf("reply %d: %#x %x", i, m.code, m.data)
		}
		inBytes += uint64(len(pl))
		outBytes += uint64(len(replies[i]))
	}
	want := ProtocolStats{MsgsIn: 3, MsgsOut: 3, BytesIn: inBytes, BytesOut: outBytes}

	peers := srv.Peers()
	if len(peers) != 1 {
		t.Fatalf("%d peers", len(peers))
	}
	ps := peers[0].Stats().Protocols
	if ps["echo"] != want || ps["other"] != (ProtocolStats{}) || len(ps) != 2 {
		t.Errorf("peer stats %+v, want echo %+v", ps, want)
	}
	if got := srv.Stats().Protocols; got["echo"] != want || got["other"] != (ProtocolStats{}) {
		t.Errorf("server stats %+v, want echo %+v", got, want)
	}

	rp.close()
	waitFor(t, 5*time.Second, "peer gone", func() bool { return srv.PeerCount() == 0 })
	if got := srv.Stats().Protocols["echo"]; got != want {
		t.Errorf("server stats after drop %+v, want %+v", got, want)
	}
}
