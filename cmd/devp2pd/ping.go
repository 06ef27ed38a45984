package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/devp2p-go/devp2p/cmd/devp2pd/internal/testproto"
	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/p2p"
	"github.com/devp2p-go/devp2p/rlp"
	"github.com/devp2p-go/devp2p/rlpx"
)

var (
	pingTimeoutFlag = &cli.DurationFlag{
		Name:  "timeout",
		Usage: "Give up after this long (each of the handshake ping and the echo part)",
		Value: 10 * time.Second,
	}
	pingCountFlag = &cli.IntFlag{
		Name:    "count",
		Aliases: []string{"c"},
		Usage:   "Round trips to measure",
		Value:   3,
	}
	pingEchoFlag = &cli.BoolFlag{
		Name:  "echo",
		Usage: "Also measure test/1 Echo round trips through a full p2p server (the remote must run with --testproto)",
	}
	pingSizeFlag = &cli.IntFlag{
		Name:  "size",
		Usage: "Payload bytes of each echo",
		Value: 32,
	}
)

// Base protocol message codes (devp2p rlpx.md, "P2P Capability").
const (
	helloMsg = 0x00
	discMsg  = 0x01
	pingMsg  = 0x02
	pongMsg  = 0x03
)

func pingCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "ping",
		Usage: "Connect to a node, exchange Hello and Ping/Pong, and report its name, capabilities and round-trip time, or exactly why it failed",
		Description: "ping dials the node, runs the RLPx encryption handshake and the Hello exchange, then\n" +
			"measures Ping/Pong round trips of the base protocol and disconnects politely. With --echo\n" +
			"it then connects again through a full p2p server and measures round trips of test/1 Echo\n" +
			"messages, which pass through the whole stack on both sides.",
		ArgsUsage: "<enode URL or enr>",
		Flags:     []cli.Flag{pingTimeoutFlag, pingCountFlag, pingEchoFlag, pingSizeFlag},
		Action:    func(ctx *cli.Context) error { return runPing(ctx, e) },
	}
}

func runPing(cctx *cli.Context, e *env) error {
	if cctx.NArg() != 1 {
		return errors.New("ping: want one argument, the node's enode URL or record")
	}
	n, err := enode.Parse(enode.ValidSchemes, cctx.Args().First())
	if err != nil {
		return fmt.Errorf("ping: invalid enode: %v", err)
	}
	count, size := cctx.Int(pingCountFlag.Name), cctx.Int(pingSizeFlag.Name)
	if count < 1 {
		return fmt.Errorf("ping: invalid --count %d", count)
	}
	if size < 0 || size > 1<<20 {
		return fmt.Errorf("ping: invalid --size %d (0 to 1 MiB)", size)
	}
	ctx, cancel := signalContext(e.signals)
	defer cancel()

	fmt.Fprintf(e.stdout, "Pinging %s\n", n.URLv4())
	tctx, tcancel := context.WithTimeout(ctx, cctx.Duration(pingTimeoutFlag.Name))
	res, err := pingNode(tctx, n, count)
	tcancel()
	if res != nil {
		res.print(e.stdout)
	}
	if err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	if !cctx.Bool(pingEchoFlag.Name) {
		return nil
	}
	if !res.hasCap(testproto.Name, testproto.Version) {
		return errors.New("ping: --echo: the remote does not run test/1 (start it with --testproto)")
	}
	tctx, tcancel = context.WithTimeout(ctx, cctx.Duration(pingTimeoutFlag.Name))
	defer tcancel()
	rtts, err := echoNode(tctx, n, count, size)
	if len(rtts) > 0 {
		fmt.Fprintf(e.stdout, "Echo round trips (test/1 through the p2p stack, %d-byte payload): %s\n", size, formatRTTs(rtts))
	}
	if err != nil {
		return fmt.Errorf("ping: --echo: %w", err)
	}
	return nil
}

// signalContext returns a context canceled by the first signal.
func signalContext(sigs <-chan os.Signal) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// pingResult is what a ping learned, also when it failed part way.
type pingResult struct {
	addr      string
	connect   time.Duration // TCP
	handshake time.Duration // RLPx encryption handshake
	hello     *helloInfo
	rtts      []time.Duration // Ping/Pong
	endReason string          // why there were fewer round trips than asked
}

// helloInfo is the devp2p Hello as ping decodes it (rlpx.md, "Hello").
type helloInfo struct {
	Version uint64
	Name    string
	Caps    []struct {
		Name    string
		Version uint64
	}
	ListenPort uint64
	ID         []byte
	Rest       []rlp.RawValue `rlp:"tail"`
}

func (r *pingResult) hasCap(name string, version uint64) bool {
	if r == nil || r.hello == nil {
		return false
	}
	for _, c := range r.hello.Caps {
		if c.Name == name && c.Version == version {
			return true
		}
	}
	return false
}

func (r *pingResult) print(w io.Writer) {
	if r.connect > 0 {
		fmt.Fprintf(w, "TCP connection to %s in %s\n", r.addr, fmtDuration(r.connect))
	}
	if r.handshake > 0 {
		fmt.Fprintf(w, "RLPx encryption handshake in %s\n", fmtDuration(r.handshake))
	}
	if h := r.hello; h != nil {
		caps := make([]string, len(h.Caps))
		for i, c := range h.Caps {
			caps[i] = c.Name + "/" + strconv.FormatUint(c.Version, 10)
		}
		fmt.Fprintf(w, "Name:         %s\n", h.Name)
		fmt.Fprintf(w, "Capabilities: %s\n", strings.Join(caps, ", "))
		fmt.Fprintf(w, "p2p version:  %d\n", h.Version)
	}
	if len(r.rtts) > 0 {
		fmt.Fprintf(w, "Ping/Pong round trips: %s\n", formatRTTs(r.rtts))
	}
	if r.endReason != "" {
		fmt.Fprintf(w, "No (more) round trips: %s\n", r.endReason)
	}
}

// pingNode connects to n over RLPx, exchanges Hello and measures count
// Ping/Pong round trips. The error says at which step it failed and, where
// one can tell, why.
func pingNode(ctx context.Context, n *enode.Node, count int) (*pingResult, error) {
	res := &pingResult{}
	if ep, ok := n.TCPEndpoint(); ok {
		res.addr = ep.String()
	} else if n.Hostname() != "" && n.TCP() != 0 {
		res.addr = net.JoinHostPort(n.Hostname(), strconv.Itoa(n.TCP()))
	} else {
		return nil, errors.New("the node has no IP address and TCP port")
	}
	deadline, _ := ctx.Deadline()
	key, err := crypto.GenerateKey(nil)
	if err != nil {
		return nil, err
	}

	start := time.Now()
	fd, err := (&net.Dialer{}).DialContext(ctx, "tcp", res.addr)
	if err != nil {
		return res, fmt.Errorf("TCP connection to %s failed: %w", res.addr, err)
	}
	res.connect = time.Since(start)
	defer fd.Close()
	stop := context.AfterFunc(ctx, func() { fd.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	fd.SetDeadline(deadline)

	c := rlpx.NewConn(fd, n.Pubkey(), &rlpx.Config{HandshakeTimeout: -1})
	start = time.Now()
	if _, err := c.Handshake(key); err != nil {
		return res, handshakeError(ctx, err)
	}
	res.handshake = time.Since(start)

	// Hello. We announce test/1 so that a devp2pd with --testproto shares
	// a protocol with us and does not refuse us as useless.
	pub := key.Public()
	hello, _ := rlp.EncodeToBytes([]any{uint64(5), clientName("ping"), []any{[]any{testproto.Name, uint64(testproto.Version)}}, uint64(0), pub[:]})
	if _, err := c.WriteMsg(helloMsg, hello); err != nil {
		return res, fmt.Errorf("sending Hello failed: %w", ioError(ctx, err))
	}
	code, data, _, err := c.ReadMsg()
	switch {
	case err != nil:
		return res, fmt.Errorf("no Hello from the remote: %w", ioError(ctx, err))
	case code == discMsg:
		return res, fmt.Errorf("the remote disconnected before Hello: %s", describeReason(decodeReason(data)))
	case code != helloMsg:
		return res, fmt.Errorf("the remote sent message code %#x instead of Hello", code)
	}
	res.hello = new(helloInfo)
	if err := rlp.DecodeBytes(data, res.hello); err != nil {
		res.hello = nil
		return res, fmt.Errorf("invalid Hello from the remote: %v", err)
	}
	if remote := n.Pubkey(); !bytes.Equal(res.hello.ID, remote[:]) {
		return res, errors.New("the remote's Hello carries a node ID other than the one it proved in the handshake")
	}
	if res.hello.Version >= 5 {
		c.SetSnappy(true)
	}

	// Ping/Pong round trips, answering the remote's pings meanwhile.
	for len(res.rtts) < count {
		start = time.Now()
		if _, err := c.WriteMsg(pingMsg, []byte{0xc0}); err != nil {
			res.endReason = ioError(ctx, err).Error()
			break
		}
		if reason := awaitPong(ctx, c); reason != "" {
			res.endReason = reason
			break
		}
		res.rtts = append(res.rtts, time.Since(start))
	}
	c.WriteMsg(discMsg, []byte{0xc1, 0x80}) // [DiscRequested]
	if len(res.rtts) == 0 && ctx.Err() != nil {
		return res, fmt.Errorf("no Pong: %s", res.endReason)
	}
	return res, nil
}

// awaitPong reads until a Pong arrives and returns "", or returns why none
// will.
func awaitPong(ctx context.Context, c *rlpx.Conn) string {
	for {
		code, data, _, err := c.ReadMsg()
		if err != nil {
			return ioError(ctx, err).Error()
		}
		switch code {
		case pongMsg:
			return ""
		case pingMsg:
			if _, err := c.WriteMsg(pongMsg, []byte{0xc0}); err != nil {
				return ioError(ctx, err).Error()
			}
		case discMsg:
			return "the remote disconnected: " + describeReason(decodeReason(data))
		}
		// Sub-protocol messages are ignored.
	}
}

// handshakeError explains a failed encryption handshake.
func handshakeError(ctx context.Context, err error) error {
	if ctx.Err() != nil || isTimeout(err) {
		return fmt.Errorf("RLPx handshake: no answer in time (%w); is it a devp2p node, at this port?", err)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("RLPx handshake: the remote closed the connection (%w). Either the public key in the "+
			"enode URL is not the node's, so it cannot decrypt our auth message, or it refused us before the "+
			"handshake: no free inbound slot, our IP throttled after a recent connection, or outside its --netrestrict", err)
	}
	return fmt.Errorf("RLPx handshake failed: %w", err)
}

// ioError says "timed out" for deadline errors.
func ioError(ctx context.Context, err error) error {
	if ctx.Err() != nil || isTimeout(err) {
		return fmt.Errorf("timed out (%w)", err)
	}
	if errors.Is(err, io.EOF) {
		return errors.New("the remote closed the connection")
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// decodeReason decodes a Disconnect payload: [reason], or a bare reason as
// some old clients send it.
func decodeReason(data []byte) p2p.DiscReason {
	var list []uint64
	if rlp.DecodeBytes(data, &list) == nil && len(list) > 0 && list[0] <= 0xff {
		return p2p.DiscReason(list[0])
	}
	var v uint64
	if rlp.DecodeBytes(data, &v) == nil && v <= 0xff {
		return p2p.DiscReason(v)
	}
	return p2p.DiscInvalid
}

// reasonHints explain what a disconnect reason means for a ping.
var reasonHints = map[p2p.DiscReason]string{
	p2p.DiscTooManyPeers:     "it has no free slot for us",
	p2p.DiscAlreadyConnected: "it is already connected to a node with our ID",
	p2p.DiscUselessPeer:      "it shares no sub-protocol with us (we offer test/1); the handshake itself worked",
	p2p.DiscSelf:             "that is this node",
	p2p.DiscQuitting:         "it is shutting down",
}

func describeReason(r p2p.DiscReason) string {
	if hint := reasonHints[r]; hint != "" {
		return fmt.Sprintf("%v (%s)", r, hint)
	}
	return r.String()
}

// echoNode connects to n through a p2p server running test/1 and measures
// count echo round trips with payloads of size bytes.
func echoNode(ctx context.Context, n *enode.Node, count, size int) ([]time.Duration, error) {
	key, err := crypto.GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	tp := testproto.New()
	srv := &p2p.Server{Config: p2p.Config{
		PrivateKey:  key,
		Name:        clientName("ping"),
		MaxPeers:    1,
		NoDiscovery: true, // one dial, no table
		Protocols:   []p2p.Protocol{tp.Protocol()},
		Logger:      newLogger(io.Discard, 0, false),
	}}
	if err := srv.Start(); err != nil {
		return nil, err
	}
	defer srv.Stop()
	events := make(chan *p2p.PeerEvent, 16)
	sub := srv.SubscribeEvents(events)
	defer sub.Unsubscribe()
	srv.AddPeer(n)
	for connected := false; !connected; {
		select {
		case ev := <-events:
			if ev.Peer != n.ID() {
				continue
			}
			if ev.Type == p2p.PeerEventTypeDrop {
				return nil, fmt.Errorf("the connection through the p2p stack ended: %s", ev.Error)
			}
			connected = ev.Type == p2p.PeerEventTypeAdd
		case <-ctx.Done():
			return nil, errors.New("could not connect through the p2p stack in time")
		}
	}
	payload := bytes.Repeat([]byte{0xab}, size)
	var rtts []time.Duration
	for len(rtts) < count {
		rtt, err := tp.Echo(ctx, n.ID(), payload)
		if errors.Is(err, testproto.ErrNoPeer) {
			// The protocol starts just after the add event.
			select {
			case <-time.After(5 * time.Millisecond):
				continue
			case <-ctx.Done():
				return rtts, ctx.Err()
			}
		}
		if err != nil {
			return rtts, err
		}
		rtts = append(rtts, rtt)
	}
	return rtts, nil
}

// formatRTTs lists round-trip times with their minimum, mean and maximum.
func formatRTTs(rtts []time.Duration) string {
	parts := make([]string, len(rtts))
	lo, hi, sum := rtts[0], rtts[0], time.Duration(0)
	for i, d := range rtts {
		parts[i] = fmtDuration(d)
		lo, hi, sum = min(lo, d), max(hi, d), sum+d
	}
	return fmt.Sprintf("%s (min %s, avg %s, max %s)", strings.Join(parts, ", "),
		fmtDuration(lo), fmtDuration(sum/time.Duration(len(rtts))), fmtDuration(hi))
}

// fmtDuration prints a duration in milliseconds with two decimals.
func fmtDuration(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}
