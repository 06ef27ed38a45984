package p2p

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/netutil"
	"github.com/golang/snappy"
)

// CPU cost of each way the server refuses a connection. The target server
// runs in a child process (this test binary again, TestHelperAttackTarget),
// so that its CPU (srv-cpu-µs/op, from its getrusage) is measured apart
// from the attacker's; cpu-µs/op adds the benchmark process's, both ends.
// Each op is one attacker connection, run one after another over loopback
// TCP. Run them with
//
//	go test -run '^$' -bench 'Reject' -benchtime 3000x -count 3 ./p2p
//
// BENCHMARKS.md, "Rejection cost under attack", has the figures.

// BenchmarkRejectBareAccept is the floor: a plain Go listener that accepts
// and closes, no devp2p at all.
func BenchmarkRejectBareAccept(b *testing.B) {
	atkBench(b, "bare", nil, atkPokeFrom(func(i int) string { return atkIP(70, i%200) }))
}

// BenchmarkRejectPendingCap: closed after accept because the source IP
// already has MaxPendingPerIP (4) handshakes in flight.
func BenchmarkRejectPendingCap(b *testing.B) {
	const ips = 16
	atkBench(b, "open", func(b *testing.B, n *enode.Node) {
		for i := range ips * defaultMaxPendingPerIP {
			atkHold(b, atkIP(71, i%ips), n)
		}
	}, atkPokeFrom(func(i int) string { return atkIP(71, i%ips) }))
}

// BenchmarkRejectThrottle: closed after accept because the (non-LAN)
// source IP was accepted less than 30 s ago. The target's listener
// presents 127.a.b.c as 11.a.b.c, so that the throttle applies.
func BenchmarkRejectThrottle(b *testing.B) {
	const ips = 16
	atkBench(b, "throttle", func(b *testing.B, n *enode.Node) {
		for i := range ips {
			atkHold(b, atkIP(72, i), n)
		}
	}, atkPokeFrom(func(i int) string { return atkIP(72, i%ips) }))
}

// BenchmarkRejectNetRestrict: closed after accept because the source IP
// is outside Config.NetRestrict.
func BenchmarkRejectNetRestrict(b *testing.B) {
	atkBench(b, "netrestrict", nil, atkPokeFrom(func(i int) string { return atkIP(73, i%200) }))
}

// BenchmarkRejectNoSlot: closed after accept because no inbound slot is
// free (MaxPeers 0). Within the courtesy budget (4 at once, 4/s) a few get
// the handshake instead; the attacker's 2-byte size prefix of 65535 ends
// those at once, before any cryptography too.
func BenchmarkRejectNoSlot(b *testing.B) {
	atkBench(b, "full", nil, atkPokeFrom(func(i int) string { return atkIP(74, i%200) }))
}

// BenchmarkRejectConnectClose: the attacker connects and closes at once,
// from many addresses; each connection gets a setup, which ends at its
// first read.
func BenchmarkRejectConnectClose(b *testing.B) {
	atkBench(b, "open", nil, func(i int, n *enode.Node) error {
		fd, err := atkDialTCP(atkIP(82, i%200), n)
		if err != nil {
			return err
		}
		return fd.Close()
	})
}

// BenchmarkRejectReplayedAuth: a captured auth packet sent again, refused
// by the replay filter before any cryptography.
func BenchmarkRejectReplayedAuth(b *testing.B) {
	var auth []byte
	atkBench(b, "open", func(b *testing.B, n *enode.Node) { auth = atkCaptureAuthB(b, n) },
		func(i int, n *enode.Node) error { return atkReplay(atkIP(75, i%200), n, auth, false) })
}

// BenchmarkRejectReplayNoFilter is the same replay against a server
// without the filter: it answers each with an ack (a full responder
// handshake) and fails when the attacker leaves.
func BenchmarkRejectReplayNoFilter(b *testing.B) {
	var auth []byte
	atkBench(b, "nofilter", func(b *testing.B, n *enode.Node) { auth = atkCaptureAuthB(b, n) },
		func(i int, n *enode.Node) error { return atkReplay(atkIP(76, i%200), n, auth, true) })
}

// BenchmarkRejectBadMAC: after the encryption handshake, a Hello frame with
// a bad header MAC; the server answers Disconnect(DiscProtocolError).
func BenchmarkRejectBadMAC(b *testing.B) {
	atkBench(b, "open", nil, atkAfterHandshake(77, DiscProtocolError, func(p *atkPeer) error {
		h := appendHello(nil, &hello{Version: baseVersion, Name: "attacker", Caps: []Cap{atkCap}, ID: p.key.Public()[:]})
		p.fd.onNextWrite(atkFlip(20))
		_, err := p.rc.WriteMsg(helloMsg, h)
		return err
	}))
}

// BenchmarkRejectGarbageHello: after the encryption handshake, a Hello that
// does not decode.
func BenchmarkRejectGarbageHello(b *testing.B) {
	garbage := append([]byte{0xf8, 200}, make([]byte, 200)...) // a list of 200 zero bytes: no Hello
	atkBench(b, "open", nil, atkAfterHandshake(78, DiscProtocolError, func(p *atkPeer) error {
		_, err := p.rc.WriteMsg(helloMsg, garbage)
		return err
	}))
}

// BenchmarkRejectOversizedHeader: after the encryption handshake, a frame
// header announcing 2^24−1 bytes in place of the Hello (limit 2048).
func BenchmarkRejectOversizedHeader(b *testing.B) {
	big := atkBigPayload()
	atkBench(b, "open", nil, atkAfterHandshake(79, DiscProtocolError, func(p *atkPeer) error {
		p.fd.onNextWrite(atkOnlyHeader)
		if _, err := p.rc.WriteMsg(helloMsg, big); !errors.Is(err, errAtkCut) {
			return fmt.Errorf("write: %v", err)
		}
		return nil
	}))
}

// BenchmarkRejectSnappyBomb: a peer (handshake, Hello, added) sends 390 KiB
// of snappy data that decodes to 8 MiB, over a MaxMessageSize of 1 MiB, and
// is dropped with DiscProtocolError. It includes the whole peer setup.
func BenchmarkRejectSnappyBomb(b *testing.B) {
	bomb := snappy.Encode(nil, make([]byte, 8<<20))
	atkBench(b, "open", nil, atkAfterHandshake(80, DiscProtocolError, func(p *atkPeer) error {
		if err := p.hello(baseVersion); err != nil {
			return err
		}
		p.rc.SetSnappy(false)
		_, err := p.rc.WriteMsg(baseProtoLen, bomb)
		return err
	}))
}

// BenchmarkRejectTooManyPeers: the refusal a full server makes after the
// encryption handshake, at checkpoint 1, with Disconnect(DiscTooManyPeers)
// — the path of a courtesy refusal. To get there every time the attacker
// comes from the IP of a trusted node, which skips the listener's slot
// check; its key is not trusted.
func BenchmarkRejectTooManyPeers(b *testing.B) {
	atkBench(b, "full", nil, func(i int, n *enode.Node) error {
		p, err := atkHandshake("127.0.0.7", n)
		if err != nil {
			return err
		}
		defer p.close()
		if got, err := p.untilDisconnect(); err != nil || got != DiscTooManyPeers {
			return fmt.Errorf("got %v, %v; want Disconnect(%v)", got, err, DiscTooManyPeers)
		}
		return nil
	})
}

// BenchmarkRejectFullSetup is an accepted connection for scale: TCP, the
// encryption handshake, Hello both ways, the peer added; then the attacker
// closes and the peer is dropped.
func BenchmarkRejectFullSetup(b *testing.B) {
	atkBench(b, "open", nil, func(i int, n *enode.Node) error {
		p, err := atkHandshake(atkIP(81, i%200), n)
		if err != nil {
			return err
		}
		defer p.close()
		return p.hello(baseVersion)
	})
}

// atkBench starts the target variant in a child process, runs prep, then
// op b.N times, and reports the CPU per op of the target and of both ends.
func atkBench(b *testing.B, variant string, prep func(*testing.B, *enode.Node), op func(i int, n *enode.Node) error) {
	target := atkStartTarget(b, variant)
	if prep != nil {
		prep(b, target.node)
	}
	srv0, all0 := target.cpu(b), processCPU()
	b.ResetTimer()
	for i := range b.N {
		if err := op(i, target.node); err != nil {
			b.Fatalf("op %d: %v", i, err)
		}
	}
	b.StopTimer()
	time.Sleep(100 * time.Millisecond) // let the target finish the last ones
	srv := target.cpu(b) - srv0
	all := processCPU() - all0 + srv
	b.ReportMetric(float64(srv)/1e3/float64(b.N), "srv-cpu-µs/op")
	b.ReportMetric(float64(all)/1e3/float64(b.N), "cpu-µs/op")
}

// atkPokeFrom returns an op that connects from ip(i), sends a 2-byte size
// prefix of 65535 (too large for an auth packet) and reads until the
// target closes, which it must do without sending anything.
func atkPokeFrom(ip func(i int) string) func(int, *enode.Node) error {
	return func(i int, n *enode.Node) error {
		fd, err := atkDialTCP(ip(i), n)
		if err != nil {
			return err
		}
		defer fd.Close()
		fd.Write([]byte{0xff, 0xff}) // the target may have closed already
		got, err := atkReadAll(fd, 5*time.Second)
		if err != nil {
			return err
		}
		if got != 0 {
			return fmt.Errorf("received %d bytes", got)
		}
		return nil
	}
}

// atkHold opens a connection from ip that sends nothing and stays open
// until the benchmark ends, holding a pending handshake.
func atkHold(b *testing.B, ip string, n *enode.Node) {
	fd, err := atkDialTCP(ip, n)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { fd.Close() })
	time.Sleep(time.Millisecond) // let the listener count it
}

// atkReplay sends auth from ip. With wantAck it reads the first byte of
// the ack and leaves; otherwise the target must close without a byte.
func atkReplay(ip string, n *enode.Node, auth []byte, wantAck bool) error {
	fd, err := atkDialTCP(ip, n)
	if err != nil {
		return err
	}
	defer fd.Close()
	if _, err := fd.Write(auth); err != nil {
		return err
	}
	if wantAck {
		fd.SetReadDeadline(time.Now().Add(5 * time.Second))
		var buf [1]byte
		_, err := fd.Read(buf[:])
		return err
	}
	got, err := atkReadAll(fd, 5*time.Second)
	if err == nil && got != 0 {
		err = fmt.Errorf("received %d bytes", got)
	}
	return err
}

// atkAfterHandshake returns an op that runs the encryption handshake from
// an address of its own, then attack, and expects Disconnect(want).
func atkAfterHandshake(ipBase int, want DiscReason, attack func(p *atkPeer) error) func(int, *enode.Node) error {
	return func(i int, n *enode.Node) error {
		p, err := atkHandshake(atkIP(ipBase, i), n) // a new IP each time: the policy bans the IP of a breach
		if err != nil {
			return err
		}
		defer p.close()
		if err := attack(p); err != nil {
			return err
		}
		if got, err := p.untilDisconnect(); err != nil || got != want {
			return fmt.Errorf("got %v, %v; want Disconnect(%v)", got, err, want)
		}
		return nil
	}
}

// atkCaptureAuthB is atkCaptureAuth for a benchmark.
func atkCaptureAuthB(b *testing.B, n *enode.Node) []byte {
	fd, err := atkDialTCP("127.0.0.5", n)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { fd.Close() })
	var auth []byte
	c := &atkConn{Conn: fd}
	c.onNextWrite(func(p []byte) ([]byte, error) { auth = append([]byte(nil), p...); return p, nil })
	p, err := atkHandshakeOn(c, n)
	if err != nil {
		b.Fatal(err)
	}
	if err := p.hello(baseVersion); err != nil {
		b.Fatal(err)
	}
	return auth
}

// atkTarget is a target server in a child process.
type atkTarget struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
	node  *enode.Node
}

// atkStartTarget starts TestHelperAttackTarget with the variant.
func atkStartTarget(b *testing.B, variant string) *atkTarget {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAttackTarget$")
	cmd.Env = append(os.Environ(), "P2P_ATK_TARGET="+variant)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	t := &atkTarget{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	b.Cleanup(func() {
		stdin.Close() // the child stops when its stdin closes
		io.Copy(io.Discard, stdout)
		cmd.Wait()
	})
	url := t.line(b, "enode://")
	if t.node, err = enode.ParseV4(url); err != nil {
		b.Fatal(err)
	}
	return t
}

// line returns the next output line of the child that starts with prefix.
func (t *atkTarget) line(b *testing.B, prefix string) string {
	for t.out.Scan() {
		if s := t.out.Text(); strings.HasPrefix(s, prefix) {
			return s
		}
	}
	b.Fatalf("child ended: %v", t.out.Err())
	return ""
}

// cpu returns the child's user and system CPU time in ns.
func (t *atkTarget) cpu(b *testing.B) int64 {
	fmt.Fprintln(t.stdin, "cpu")
	var ns int64
	if _, err := fmt.Sscanf(t.line(b, "cpu "), "cpu %d", &ns); err != nil {
		b.Fatal(err)
	}
	return ns
}

// TestHelperAttackTarget is the child process of the Reject benchmarks: it
// runs the target named by P2P_ATK_TARGET on 127.0.0.1, prints its enode
// URL, answers "cpu" on stdin with its CPU time, and stops when stdin
// closes. Variants: "open" (MaxPeers 1000, MaxMessageSize 1 MiB),
// "nofilter" (open without the replay filter), "netrestrict" (open with
// NetRestrict 10.0.0.0/8), "throttle" (open, source addresses seen as
// 11.x.y.z), "full" (MaxPeers 0, one trusted node at 127.0.0.7) and
// "bare" (a Go listener that accepts and closes). Held connections keep
// their slots: the setup deadline is a minute.
func TestHelperAttackTarget(t *testing.T) {
	variant := os.Getenv("P2P_ATK_TARGET")
	if variant == "" {
		t.Skip("child process of the Reject benchmarks")
	}
	key := newTestKey(t)
	var addr netip.AddrPort
	if variant == "bare" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				fd, err := l.Accept()
				if err != nil {
					return
				}
				fd.Close()
			}
		}()
		addr = l.Addr().(*net.TCPAddr).AddrPort()
	} else {
		cfg := Config{
			PrivateKey:      key,
			ListenAddr:      "127.0.0.1:0",
			MaxPeers:        1000,
			MaxPendingPeers: 200,
			MaxMessageSize:  1 << 20,
			NoDial:          true,
			NoDiscovery:     true,
			Protocols:       []Protocol{atkProto},
			Logger:          slog.New(slog.DiscardHandler),
			handshakeTO:     time.Minute,
		}
		switch variant {
		case "open":
		case "nofilter":
			cfg.authFilter = func([]byte) error { return nil }
		case "netrestrict":
			cfg.NetRestrict = new(netutil.Netlist)
			cfg.NetRestrict.Add("10.0.0.0/8")
		case "throttle":
			cfg.listenFunc = func(network, addr string) (net.Listener, error) {
				l, err := net.Listen(network, addr)
				return atkPublicListener{l}, err
			}
		case "full":
			cfg.MaxPeers = 0
			cfg.TrustedNodes = []*enode.Node{enode.NewV4(newTestKey(t).Public(), mustAddr("127.0.0.7"), 30303, 30303)}
		default:
			t.Fatalf("unknown variant %q", variant)
		}
		srv := &Server{Config: cfg}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		defer srv.Stop()
		addr = srv.listener.Addr().(*net.TCPAddr).AddrPort()
	}
	fmt.Println(enode.NewV4(key.Public(), addr.Addr(), int(addr.Port()), int(addr.Port())).URLv4())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() == "cpu" {
			fmt.Printf("cpu %d\n", processCPU())
		}
	}
}

// atkPublicListener presents the source address 127.a.b.c of accepted
// connections as 11.a.b.c, a public address, so that the rules for
// non-LAN addresses apply over loopback.
type atkPublicListener struct{ net.Listener }

func (l atkPublicListener) Accept() (net.Conn, error) {
	fd, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	ap := fd.RemoteAddr().(*net.TCPAddr).AddrPort()
	a := ap.Addr().As4()
	a[0] = 11
	remote := net.TCPAddrFromAddrPort(netip.AddrPortFrom(netip.AddrFrom4(a), ap.Port()))
	return &addrConn{Conn: fd, local: fd.LocalAddr(), remote: remote}, nil
}
