package p2p

import (
	"fmt"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/enode"
)

// BenchmarkServerMessages measures one-way protocol message throughput
// between two servers over loopback TCP, with snappy on.
func BenchmarkServerMessages(b *testing.B) {
	for _, size := range []int{32, 1024, 64 << 10} {
		b.Run(fmt.Sprint(size), func(b *testing.B) { benchMessages(b, size) })
	}
}

func benchMessages(b *testing.B, size int) {
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	received := make(chan int, 1)
	start := make(chan MsgWriter, 1)
	sink := Protocol{Name: "bench", Version: 1, Length: 1, Run: func(p *Peer, rw MsgReadWriter) error {
		n := 0
		for {
			msg, err := rw.ReadMsg()
			if err != nil {
				return err
			}
			msg.Discard()
			if n++; n == b.N {
				received <- n
			}
		}
	}}
	source := Protocol{Name: "bench", Version: 1, Length: 1, Run: func(p *Peer, rw MsgReadWriter) error {
		start <- rw
		_, err := rw.ReadMsg()
		return err
	}}
	a := startTCPServer(b, "127.0.0.1", func(c *Config) { c.Protocols = []Protocol{sink}; c.NoDial = true })
	c := startTCPServer(b, "127.0.0.1", func(c *Config) {
		c.Protocols = []Protocol{source}
		c.StaticNodes = []*enode.Node{a.node}
	})
	var rw MsgWriter
	select {
	case rw = <-start:
	case <-time.After(10 * time.Second):
		b.Fatal("not connected")
	}
	_ = c
	b.SetBytes(int64(size))
	b.ResetTimer()
	for range b.N {
		if err := rw.WriteMsg(Msg{Code: 0, Size: uint32(size), Payload: newPayload(payload)}); err != nil {
			b.Fatal(err)
		}
	}
	<-received
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
