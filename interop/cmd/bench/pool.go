package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/rlpx"
	gethrlp "github.com/ethereum/go-ethereum/rlp"
)

// Measurements of the connection pool: our p2p.Server and go-ethereum's,
// each with the trivial "bench"/1 protocol.

// ---- raw clients ----

// rawClient is a lightweight RLPx peer: our rlpx.Conn and a Hello, with no
// server behind it, so that a measurement of a server in another process
// costs that server what a real peer would and this process little.
type rawClient struct {
	c *rlpx.Conn
}

// clientHello is the Hello of raw clients, in go-ethereum's RLP.
type clientHello struct {
	Version    uint64
	Name       string
	Caps       []clientCap
	ListenPort uint64
	ID         []byte
}

type clientCap struct {
	Name    string
	Version uint
}

// newClientKey returns a new key for a raw client and its Hello.
func newClientKey() (*crypto.PrivateKey, []byte) {
	k, err := crypto.GenerateKey(nil)
	must(err)
	h, err := gethrlp.EncodeToBytes(clientHello{Version: 5, Name: "bench-client",
		Caps: []clientCap{{benchProto, benchVersion}}, ID: k.Public()[:]})
	must(err)
	return k, h
}

// loopbackSource returns the i-th of 32 loopback source addresses,
// 127.0.0.10 to 127.0.0.41, so that parallel clients come from distinct
// IPs and stay below a server's per-IP cap on pending handshakes.
func loopbackSource(i int) netip.Addr { return netip.AddrFrom4([4]byte{127, 0, 0, byte(10 + i%32)}) }

// dialRaw connects from src to dest and runs the encryption handshake.
func dialRaw(dest *enode.Node, src netip.Addr, key *crypto.PrivateKey) (*rawClient, error) {
	ep, ok := dest.TCPEndpoint()
	if !ok {
		return nil, errors.New("node has no TCP endpoint")
	}
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))}
	fd, err := d.Dial("tcp", ep.String())
	if err != nil {
		return nil, err
	}
	c := rlpx.NewConn(fd, dest.Pubkey(), &rlpx.Config{HandshakeTimeout: 10 * time.Second})
	if _, err := c.Handshake(key); err != nil {
		c.Close()
		return nil, err
	}
	return &rawClient{c: c}, nil
}

// connectIdle makes a raw client a peer of dest: both handshakes, Hello
// with "bench"/1, snappy on. The client then answers pings on a goroutine
// of its own until closed.
func connectIdle(dest *enode.Node, src netip.Addr) (*rawClient, error) {
	key, hello := newClientKey()
	rc, err := dialRaw(dest, src, key)
	if err != nil {
		return nil, err
	}
	rc.c.NetConn().SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := rc.c.WriteMsg(0x00, hello); err != nil {
		rc.close()
		return nil, err
	}
	code, data, _, err := rc.c.ReadMsg()
	if err != nil || code != 0x00 {
		rc.close()
		return nil, fmt.Errorf("expected Hello, got code %#x (%d bytes), %v", code, len(data), err)
	}
	rc.c.NetConn().SetDeadline(time.Time{})
	rc.c.SetSnappy(true)
	go rc.serve()
	return rc, nil
}

// serve answers pings until the connection fails.
func (rc *rawClient) serve() {
	for {
		code, _, _, err := rc.c.ReadMsg()
		if err != nil {
			return
		}
		if code == 0x02 { // ping
			if _, err := rc.c.WriteMsg(0x03, []byte{0xc0}); err != nil {
				return
			}
		}
	}
}

func (rc *rawClient) close() { rc.c.Close() }

// connectIdleMany connects n raw clients to dest, conc at a time, each
// worker from its own source address.
func connectIdleMany(dest *enode.Node, n, conc int) ([]*rawClient, error) {
	var (
		mu      sync.Mutex
		clients []*rawClient
		next    atomic.Int64
		errs    = make(chan error, conc)
		wg      sync.WaitGroup
	)
	for w := range conc {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				rc, err := connectIdle(dest, loopbackSource(w))
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				clients = append(clients, rc)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		for _, c := range clients {
			c.close()
		}
		return nil, err
	}
	return clients, nil
}

func parseNode(url string) *enode.Node {
	n, err := enode.ParseV4(url)
	must(err)
	return n
}

// ---- (a) connection setups ----

// poolSetup measures full connection setups between servers of one
// implementation: k dialing servers in this process each dial m listening
// servers in a child process (AddPeer), window setups in flight at a time,
// consecutive ones to different listeners. A setup is done when both ends
// have added the peer and started the protocol. It returns setups/s, the
// listeners' (responder) CPU per setup and the CPU of both ends per setup,
// in µs.
func poolSetup(pi poolImpl, k, m, window int, profile string) []float64 {
	c, err := startChild(childConfig{Impl: pi.name(), Servers: m, MaxPeers: k + 10, Profile: profile})
	must(err)
	defer c.close()
	notify := make(chan struct{}, 1)
	dialers := make([]poolServer, k)
	for i := range dialers {
		dialers[i], err = pi.start(poolOpts{maxPeers: m + 5, dialRatio: 1, notify: notify})
		must(err)
	}
	defer func() {
		for _, d := range dialers {
			d.stop()
		}
	}()
	adds := func() (n int64) {
		for _, d := range dialers {
			n += d.adds()
		}
		return n
	}

	total := k * m
	runtime.GC()
	child0, err := c.cpu()
	must(err)
	cpu0, start := processCPU(), time.Now()
	deadline := start.Add(2 * time.Minute)
	for issued := 0; issued < total || adds() < int64(total); {
		if issued < total && int64(issued)-adds() < int64(window) {
			must(dialers[issued/m].addPeer(c.urls[issued%m]))
			issued++
			continue
		}
		select {
		case <-notify:
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			panic(fmt.Sprintf("%s: %d of %d setups done after %v", pi.name(), adds(), total, time.Since(start)))
		}
	}
	must(c.waitAdds(total))
	elapsed := time.Since(start)
	cpu := processCPU() - cpu0
	child1, err := c.cpu()
	must(err)
	resp := child1 - child0
	return []float64{float64(total) / elapsed.Seconds(), us(resp) / float64(total), us(resp+cpu) / float64(total)}
}

// ---- (b) refusing when full ----

// poolReject measures what refusing inbound connections costs a full
// server (MaxPeers 1, one raw client connected) in a child process: n raw
// clients dial it, conc at a time, and each runs the encryption handshake
// and reads one message, as a dialer would. It returns the server's CPU per
// refused connection (µs), refusals/s, and the share of them that got the
// encryption handshake and a Disconnect rather than a close before it.
// With barePool the child only accepts and closes: the floor.
func poolReject(pi poolImpl, n, conc int, profile string) []float64 {
	c, err := startChild(childConfig{Impl: pi.name(), Servers: 1, MaxPeers: 1, Profile: profile})
	must(err)
	defer c.close()
	dest := parseNode(c.urls[0])
	if _, bare := pi.(barePool); !bare {
		filler, err := connectIdle(dest, loopbackSource(0))
		must(err)
		defer filler.close()
		must(c.waitAdds(1))
	}

	// All refused clients have one key: their identity does not matter to
	// a full server.
	key, _ := newClientKey()
	var next, handshakes, admitted atomic.Int64
	runtime.GC()
	child0, err := c.cpu()
	must(err)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				rc, err := dialRaw(dest, loopbackSource(1+w), key)
				if err != nil {
					continue // closed before or during the handshake
				}
				handshakes.Add(1)
				rc.c.NetConn().SetReadDeadline(time.Now().Add(10 * time.Second))
				if code, _, _, err := rc.c.ReadMsg(); err == nil && code != 0x01 {
					admitted.Add(1)
				}
				rc.close()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	child1, err := c.cpu()
	must(err)
	if a := admitted.Load(); a > 0 {
		panic(fmt.Sprintf("%s: %d connections to a full server were not refused", pi.name(), a))
	}
	return []float64{us(child1-child0) / float64(n), float64(n) / elapsed.Seconds(), float64(handshakes.Load()) / float64(n)}
}

// ---- (c) messages between two servers ----

// poolStream measures one fresh connection between two servers of one
// implementation in this process: the protocol goroutine of one sends
// messages of size for about d, the protocol goroutine of the other reads
// them. Both announce Hello v5, so snappy is on. It returns messages/s,
// MB/s, CPU µs per message (both ends), and read and write system calls
// per message.
func poolStream(pi poolImpl, size int, d time.Duration) []float64 {
	a, err := pi.start(poolOpts{maxPeers: 5, tasks: true})
	must(err)
	defer a.stop()
	b, err := pi.start(poolOpts{listen: true, maxPeers: 5, tasks: true})
	must(err)
	defer b.stop()
	must(a.addPeer(b.url()))
	sa, err := a.session(poolStartWait)
	must(err)
	sb, err := b.session(poolStartWait)
	must(err)
	payload := randomPayload(size)
	streamPool(sa, sb, payload, d/10) // warm up buffers, pools and the TCP window
	runtime.GC()
	s := streamPool(sa, sb, payload, d)
	return []float64{s.rate(), s.mbps(), s.cpuPerMsg(), s.readsPerMsg(), s.writesPerMsg()}
}

// streamPool streams payload from the protocol run w to r for about d.
func streamPool(w, r *poolSession, payload []byte, d time.Duration) stream {
	type readResult struct {
		n   int
		end time.Time
		err error
	}
	rc := make(chan readResult, 1)
	r.tasks <- func(rw msgRW) error {
		n := 0
		for {
			code, size, err := rw.read()
			switch {
			case err != nil:
			case code == poolCodeStop:
				rc <- readResult{n: n, end: time.Now()}
				return nil
			case size != len(payload):
				err = fmt.Errorf("read %d bytes, want %d", size, len(payload))
			}
			if err != nil {
				rc <- readResult{err: err}
				return err
			}
			n++
		}
	}
	every := 64
	if len(payload) >= 64<<10 {
		every = 1
	}
	wc := make(chan error, 1)
	r0, w0 := ioSyscalls()
	cpu0, start := processCPU(), time.Now()
	w.tasks <- func(rw msgRW) error {
		for i := 1; ; i++ {
			if err := rw.write(poolCodeData, payload); err != nil {
				wc <- err
				return err
			}
			if i%every == 0 && time.Since(start) >= d {
				break
			}
		}
		err := rw.write(poolCodeStop, nil)
		wc <- err
		return err
	}
	must(<-wc)
	res := <-rc
	must(res.err)
	cpu := processCPU() - cpu0
	r1, w1 := ioSyscalls()
	return stream{
		msgs:    res.n,
		bytes:   res.n * len(payload),
		elapsed: res.end.Sub(start),
		cpu:     cpu,
		reads:   r1 - r0,
		writes:  w1 - w0,
	}
}

// ---- (d) idle peers ----

// poolIdle connects n raw clients to one server (MaxPeers n+100) in a child
// process and returns what each idle peer costs that process: VmRSS, Go
// heap + stacks, heap alone and stacks alone in bytes, and goroutines.
func poolIdle(pi poolImpl, n int, profile string) []float64 {
	c, err := startChild(childConfig{Impl: pi.name(), Servers: 1, MaxPeers: n + 100, Profile: profile})
	must(err)
	defer c.close()
	dest := parseNode(c.urls[0])
	// A first peer, connected and gone, so that the baseline includes what
	// the server sets up for its first peer only.
	warm, err := connectIdle(dest, loopbackSource(0))
	must(err)
	must(c.waitAdds(1))
	warm.close()
	time.Sleep(200 * time.Millisecond)
	_, err = c.cpu() // starts the child's profile, if any
	must(err)
	base, err := c.mem()
	must(err)
	clients, err := connectIdleMany(dest, n, 16)
	must(err)
	defer func() {
		for _, c := range clients {
			c.close()
		}
	}()
	must(c.waitAdds(n + 1))
	time.Sleep(time.Second) // let the last setups' goroutines end
	m, err := c.mem()
	must(err)
	per := func(i int) float64 { return (m[i] - base[i]) / float64(n) }
	return []float64{per(0), per(1) + per(2), per(1), per(2), per(3)}
}
