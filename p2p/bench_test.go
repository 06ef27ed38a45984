package p2p

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/enode"
)

// BenchmarkServerMessages measures one-way protocol message throughput
// between two servers over loopback TCP, with snappy on (as in
// production), from one sending goroutine. It reports msgs/s and MB/s
// (payload bytes); the timer stops when the receiving protocol has read
// the last message.
func BenchmarkServerMessages(b *testing.B) {
	for _, size := range []int{32, 1024, 64 << 10, 1 << 20} {
		b.Run(fmt.Sprint(size), func(b *testing.B) { benchMessages(b, size) })
	}
}

// benchPayload is random-looking (incompressible) data, so snappy does
// not shrink it.
func benchPayload(size int) []byte {
	payload := make([]byte, size)
	x := uint64(0x9e3779b97f4a7c15)
	for i := range payload {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		payload[i] = byte(x)
	}
	return payload
}

func benchMessages(b *testing.B, size int) {
	payload := benchPayload(size)
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
	startTCPServer(b, "127.0.0.1", func(c *Config) {
		c.Protocols = []Protocol{source}
		c.StaticNodes = []*enode.Node{a.node}
	})
	var rw MsgWriter
	select {
	case rw = <-start:
	case <-time.After(10 * time.Second):
		b.Fatal("not connected")
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	for range b.N {
		if err := rw.WriteMsg(Msg{Code: 0, Size: uint32(size), Payload: newPayload(payload)}); err != nil {
			b.Fatal(err)
		}
	}
	<-received
	b.StopTimer()
	// CPU time of both ends per message: less noisy than the rate on a
	// shared machine, and with two free cores the rate is at most
	// 2 cores / cpu-µs/msg.
	b.ReportMetric(float64(processCPU()-cpu0)/1e3/float64(b.N), "cpu-µs/msg")
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/sec, "msgs/s")
	b.ReportMetric(float64(b.N)*float64(size)/sec/1e6, "payloadMB/s")
}

// processCPU returns the user and system CPU time of the process in ns.
func processCPU() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
