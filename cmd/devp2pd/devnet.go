package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/devp2p-go/devp2p/cmd/devp2pd/internal/testproto"
	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/p2p"
)

var (
	devnetNodesFlag = &cli.IntFlag{
		Name:    "nodes",
		Aliases: []string{"n"},
		Usage:   "Number of nodes (2 to 200)",
		Value:   5,
	}
	devnetDurationFlag = &cli.DurationFlag{
		Name:  "duration",
		Usage: "Stop after this long (0: run until Ctrl-C)",
	}
	devnetIntervalFlag = &cli.DurationFlag{
		Name:  "interval",
		Usage: "Time between echo rounds and table refreshes",
		Value: time.Second,
	}
)

func devnetCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "devnet",
		Usage: "Run N nodes on loopback in this process and show their peers, live",
		Description: "Every node runs test/1 and listens on 127.0.0.1 with a free port (TCP and UDP). Node 0\n" +
			"is the bootnode of the others: they find each other through discovery v4 and dial the\n" +
			"nodes they find, so the table shows peers arriving over the first seconds.\n" +
			"Each round, every node echoes every peer once through the whole stack; the table shows\n" +
			"peers per node, the mean echo round trip and the messages each node received and sent.\n" +
			"On a terminal the table is redrawn in place. Ctrl-C stops the nodes cleanly.\n" +
			"Logs are off unless --verbosity is given before 'devnet'.",
		Flags:  []cli.Flag{devnetNodesFlag, devnetDurationFlag, devnetIntervalFlag},
		Action: func(ctx *cli.Context) error { return runDevnet(ctx, e) },
	}
}

// devnetNode is one node of a devnet.
type devnetNode struct {
	srv  *p2p.Server
	echo *testproto.Protocol

	mu      sync.Mutex // guards following
	lastRTT time.Duration
	echoErr string
}

func runDevnet(cctx *cli.Context, e *env) error {
	n := cctx.Int(devnetNodesFlag.Name)
	if n < 2 || n > 200 {
		return fmt.Errorf("devnet: invalid --nodes %d (2 to 200)", n)
	}
	interval := cctx.Duration(devnetIntervalFlag.Name)
	if interval < 10*time.Millisecond {
		return fmt.Errorf("devnet: invalid --interval %v (at least 10ms)", interval)
	}
	log := newLogger(io.Discard, 0, false)
	if root := cctx.Lineage(); cctx.IsSet(verbosityFlag.Name) || root[len(root)-1].IsSet(verbosityFlag.Name) {
		log = newLogger(e.stderr, cctx.Int(verbosityFlag.Name), false)
	}
	ctx, cancel := signalContext(e.signals)
	defer cancel()
	if d := cctx.Duration(devnetDurationFlag.Name); d > 0 {
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}

	nodes, err := startDevnet(n, log)
	defer func() {
		var wg sync.WaitGroup
		for _, nd := range nodes {
			wg.Go(nd.srv.Stop)
		}
		wg.Wait()
	}()
	if err != nil {
		return fmt.Errorf("devnet: %w", err)
	}

	tbl := &devnetTable{w: e.stdout, live: isTerminal(e.stdout), start: time.Now(), interval: interval}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	tbl.draw(nodes)
	for {
		select {
		case <-tick.C:
			echoRound(ctx, nodes, interval)
			tbl.draw(nodes)
		case <-ctx.Done():
			tbl.final = true
			tbl.draw(nodes)
			fmt.Fprintln(e.stdout, "Stopping the nodes.")
			return nil
		}
	}
}

// startDevnet starts n nodes on loopback with discovery. Node 0 starts
// first and is the bootnode of the others, which find each other (and
// node 0) through discovery and dial what they find; no peer is added by
// hand.
func startDevnet(n int, log *slog.Logger) ([]*devnetNode, error) {
	nodes := make([]*devnetNode, 0, n)
	var boot []*enode.Node
	for i := range n {
		key, err := crypto.GenerateKey(nil)
		if err != nil {
			return nodes, err
		}
		tp := testproto.New()
		srv := &p2p.Server{Config: p2p.Config{
			PrivateKey:     key,
			Name:           clientName(fmt.Sprintf("devnet-%d", i)),
			ListenAddr:     "127.0.0.1:0", // discovery on the same port, UDP
			MaxPeers:       max(8, min(n-1, 50)),
			Protocols:      []p2p.Protocol{tp.Protocol()},
			BootstrapNodes: boot,
			Logger:         log.With("node", i),
		}}
		if err := srv.Start(); err != nil {
			return nodes, err
		}
		nodes = append(nodes, &devnetNode{srv: srv, echo: tp})
		if i == 0 {
			boot = []*enode.Node{srv.Self()}
		}
	}
	return nodes, nil
}

// echoRound makes every node echo every peer once and records the mean
// round trip per node.
func echoRound(ctx context.Context, nodes []*devnetNode, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, nd := range nodes {
		wg.Go(func() {
			var sum time.Duration
			var ok int
			var lastErr error
			for _, id := range nd.echo.Peers() {
				rtt, err := nd.echo.Echo(ctx, id, []byte("devnet"))
				if err != nil {
					lastErr = err
					continue
				}
				sum += rtt
				ok++
			}
			nd.mu.Lock()
			defer nd.mu.Unlock()
			nd.lastRTT, nd.echoErr = 0, ""
			if ok > 0 {
				nd.lastRTT = sum / time.Duration(ok)
			}
			if lastErr != nil && !errors.Is(lastErr, context.Canceled) {
				nd.echoErr = lastErr.Error()
			}
		})
	}
	wg.Wait()
}

// devnetTable draws the node table.
type devnetTable struct {
	w        io.Writer
	live     bool // redraw in place (a terminal)
	start    time.Time
	interval time.Duration
	lines    int  // lines drawn last time
	final    bool // the last drawing
}

func (t *devnetTable) draw(nodes []*devnetNode) {
	var b strings.Builder
	up := time.Since(t.start).Truncate(time.Second)
	fmt.Fprintf(&b, "devnet: %d nodes on 127.0.0.1, up %v, echo round every %v", len(nodes), up, t.interval)
	if !t.final {
		b.WriteString(" (Ctrl-C to quit)")
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "%-5s %-16s %-6s %5s %4s %4s %12s %17s\n", "NODE", "ID", "PORT", "PEERS", "IN", "OUT", "ECHO RTT", "MSGS IN/OUT")
	total := 0
	for i, nd := range nodes {
		var in, out int
		var stats p2p.PeerStats
		for _, p := range nd.srv.Peers() {
			if p.Inbound() {
				in++
			} else {
				out++
			}
			s := p.Stats()
			stats.MsgsIn += s.MsgsIn
			stats.MsgsOut += s.MsgsOut
		}
		total += in + out
		nd.mu.Lock()
		rtt := "-"
		if nd.lastRTT > 0 {
			rtt = fmtDuration(nd.lastRTT)
		}
		nd.mu.Unlock()
		self := nd.srv.Self()
		fmt.Fprintf(&b, "%-5d %-16s %-6d %5d %4d %4d %12s %17s\n", i, self.ID().TerminalString(), self.TCP(),
			in+out, in, out, rtt, fmt.Sprintf("%d/%d", stats.MsgsIn, stats.MsgsOut))
	}
	fmt.Fprintf(&b, "%d connections\n", total/2)
	text := b.String()
	if t.live {
		if t.lines > 0 {
			fmt.Fprintf(t.w, "\033[%dA", t.lines) // back to the top of the last table
		}
		text = strings.ReplaceAll(text, "\n", "\033[K\n") // clear leftovers of longer lines
	} else if t.lines > 0 {
		text = "\n" + text
	}
	io.WriteString(t.w, text)
	t.lines = strings.Count(b.String(), "\n")
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
