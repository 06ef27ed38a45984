package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/devp2p-go/devp2p/admin"
	"github.com/devp2p-go/devp2p/p2p"
)

// defaultRPCURL is the admin endpoint of a node started with --http and
// the default --http.addr and --http.port.
var defaultRPCURL = "http://" + net.JoinHostPort(defaultHTTPHost, strconv.Itoa(defaultHTTPPort)) + "/"

var (
	rpcURLFlag = &cli.StringFlag{
		Name:  "rpc",
		Usage: "Admin JSON-RPC endpoint of the node (it must run with --http)",
		Value: defaultRPCURL,
	}
	rpcTimeoutFlag = &cli.DurationFlag{
		Name:  "timeout",
		Usage: "Give up on a request after this long",
		Value: 10 * time.Second,
	}
	diagJSONFlag = &cli.BoolFlag{
		Name:  "json",
		Usage: "Print the answer of admin_diagnostics as JSON instead of the report",
	}
	diagIntervalFlag = &cli.DurationFlag{
		Name:  "interval",
		Usage: "Take two snapshots this far apart and judge the counters by what changed in between (0: one snapshot, counters since the start)",
	}
	banTTLFlag = &cli.DurationFlag{
		Name:  "ttl",
		Usage: "How long the ban lasts (1s to 87600h)",
		Value: admin.DefaultBanTTL,
	}
	banReasonFlag = &cli.StringFlag{
		Name:  "reason",
		Usage: "Why, shown by 'devp2pd bans'",
		Value: "admin",
	}
)

func diagCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "diag",
		Usage: "Ask a running node why it has the peers it has (admin_diagnostics) and print a report",
		Description: "diag calls admin_diagnostics on the node's admin endpoint (start the node with --http) and\n" +
			"prints the findings first (what is wrong and what to do), then the slots, reachability,\n" +
			"discovery, NAT, dials, handshake failures and bans. docs/diagnostics.md explains every\n" +
			"finding. With --interval it takes two snapshots and judges the dial and handshake\n" +
			"counters by what changed in between.",
		Flags:  []cli.Flag{rpcURLFlag, rpcTimeoutFlag, diagJSONFlag, diagIntervalFlag},
		Action: func(ctx *cli.Context) error { return runDiag(ctx, e) },
	}
}

func banCommands(e *env) []*cli.Command {
	return []*cli.Command{
		{
			Name:  "ban",
			Usage: "Ban a node ID or IP address on a running node and disconnect it (admin_banPeer)",
			Description: "The target is an enode URL or enr: record (its node ID is banned, not its IP), a node ID\n" +
				"(64 hex digits) or an IP address. A banned ID is refused after the encryption handshake,\n" +
				"a banned IP before it; neither is dialed. Bans end after --ttl and are not kept across\n" +
				"restarts.",
			ArgsUsage: "<enode URL | node ID | IP address>",
			Flags:     []cli.Flag{rpcURLFlag, rpcTimeoutFlag, banTTLFlag, banReasonFlag},
			Action:    func(ctx *cli.Context) error { return runBan(ctx, e) },
		},
		{
			Name:      "unban",
			Usage:     "Lift a ban on a running node (admin_unbanPeer)",
			ArgsUsage: "<enode URL | node ID | IP address>",
			Flags:     []cli.Flag{rpcURLFlag, rpcTimeoutFlag},
			Action:    func(ctx *cli.Context) error { return runUnban(ctx, e) },
		},
		{
			Name:   "bans",
			Usage:  "List the bans in force on a running node (admin_listBans)",
			Flags:  []cli.Flag{rpcURLFlag, rpcTimeoutFlag, diagJSONFlag},
			Action: func(ctx *cli.Context) error { return runBans(ctx, e) },
		},
	}
}

func runDiag(cctx *cli.Context, e *env) error {
	if cctx.NArg() > 0 {
		return fmt.Errorf("diag: unexpected argument %q (the endpoint is given with --rpc)", cctx.Args().First())
	}
	interval := cctx.Duration(diagIntervalFlag.Name)
	if interval < 0 {
		return fmt.Errorf("diag: invalid --interval %v", interval)
	}
	ctx, cancel := signalContext(e.signals)
	defer cancel()
	c, err := newRPCClient(cctx)
	if err != nil {
		return fmt.Errorf("diag: %w", err)
	}
	var raw json.RawMessage
	if err := c.call(ctx, &raw, "admin_diagnostics"); err != nil {
		return fmt.Errorf("diag: %w", err)
	}
	var prev *admin.DiagnosticsResult
	if interval > 0 {
		prev = new(admin.DiagnosticsResult)
		if err := json.Unmarshal(raw, prev); err != nil {
			return fmt.Errorf("diag: bad answer: %v", err)
		}
		fmt.Fprintf(e.stderr, "Waiting %v for the second snapshot...\n", interval)
		select {
		case <-time.After(interval):
		case <-ctx.Done():
			return errors.New("diag: interrupted")
		}
		if err := c.call(ctx, &raw, "admin_diagnostics"); err != nil {
			return fmt.Errorf("diag: %w", err)
		}
	}
	var d admin.DiagnosticsResult
	if err := json.Unmarshal(raw, &d); err != nil {
		return fmt.Errorf("diag: bad answer: %v", err)
	}
	if prev != nil {
		d.Findings = admin.Findings(&d, prev)
	}
	if cctx.Bool(diagJSONFlag.Name) {
		out := []byte(raw)
		if prev != nil {
			if out, err = json.Marshal(&d); err != nil {
				return err
			}
		}
		var buf bytes.Buffer
		json.Indent(&buf, out, "", "  ")
		buf.WriteByte('\n')
		_, err := e.stdout.Write(buf.Bytes())
		return err
	}
	printDiag(e.stdout, &d, prev)
	return nil
}

func runBan(cctx *cli.Context, e *env) error {
	args, err := trailingFlags(cctx, 1)
	if err != nil {
		return fmt.Errorf("ban: %w", err)
	}
	if len(args) != 1 {
		return errors.New("ban: want one argument, an enode URL, a node ID or an IP address")
	}
	target := args[0]
	if _, err := admin.ParseBanTarget(target); err != nil {
		return fmt.Errorf("ban: %w", err)
	}
	ttl := cctx.Duration(banTTLFlag.Name)
	if ttl < time.Second || ttl > admin.MaxBanTTL {
		return fmt.Errorf("ban: invalid --ttl %v (1s to %v)", ttl, admin.MaxBanTTL)
	}
	ctx, cancel := signalContext(e.signals)
	defer cancel()
	c, err := newRPCClient(cctx)
	if err != nil {
		return fmt.Errorf("ban: %w", err)
	}
	var ok bool
	if err := c.call(ctx, &ok, "admin_banPeer", target, int64(ttl/time.Second), cctx.String(banReasonFlag.Name)); err != nil {
		return fmt.Errorf("ban: %w", err)
	}
	fmt.Fprintf(e.stdout, "Banned %s for %v\n", target, ttl.Truncate(time.Second))
	return nil
}

func runUnban(cctx *cli.Context, e *env) error {
	args, err := trailingFlags(cctx, 1)
	if err != nil {
		return fmt.Errorf("unban: %w", err)
	}
	if len(args) != 1 {
		return errors.New("unban: want one argument, an enode URL, a node ID or an IP address")
	}
	target := args[0]
	if _, err := admin.ParseBanTarget(target); err != nil {
		return fmt.Errorf("unban: %w", err)
	}
	ctx, cancel := signalContext(e.signals)
	defer cancel()
	c, err := newRPCClient(cctx)
	if err != nil {
		return fmt.Errorf("unban: %w", err)
	}
	var lifted bool
	if err := c.call(ctx, &lifted, "admin_unbanPeer", target); err != nil {
		return fmt.Errorf("unban: %w", err)
	}
	if lifted {
		fmt.Fprintf(e.stdout, "Lifted the ban of %s\n", target)
	} else {
		fmt.Fprintf(e.stdout, "%s was not banned\n", target)
	}
	return nil
}

func runBans(cctx *cli.Context, e *env) error {
	if cctx.NArg() > 0 {
		return fmt.Errorf("bans: unexpected argument %q", cctx.Args().First())
	}
	ctx, cancel := signalContext(e.signals)
	defer cancel()
	c, err := newRPCClient(cctx)
	if err != nil {
		return fmt.Errorf("bans: %w", err)
	}
	var bans []p2p.BanInfo
	if err := c.call(ctx, &bans, "admin_listBans"); err != nil {
		return fmt.Errorf("bans: %w", err)
	}
	if cctx.Bool(diagJSONFlag.Name) {
		b, _ := json.MarshalIndent(bans, "", "  ")
		_, err := fmt.Fprintf(e.stdout, "%s\n", b)
		return err
	}
	if len(bans) == 0 {
		fmt.Fprintln(e.stdout, "No bans.")
		return nil
	}
	printBans(e.stdout, bans, len(bans))
	return nil
}

// trailingFlags applies the flags given after the first n arguments, which
// urfave/cli v2 leaves among the arguments ("ban <target> --ttl 2h"), and
// returns the arguments without them. Only flags that take a value are
// handled.
func trailingFlags(cctx *cli.Context, n int) ([]string, error) {
	args := cctx.Args().Slice()
	if len(args) <= n {
		return args, nil
	}
	for i := n; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			return nil, fmt.Errorf("unexpected argument %q", a)
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !hasVal {
			if i+1 == len(args) {
				return nil, fmt.Errorf("flag needs an argument: %s", a)
			}
			i++
			val = args[i]
		}
		if err := cctx.Set(name, val); err != nil {
			return nil, fmt.Errorf("flag %s: %v", a, err)
		}
	}
	return args[:n], nil
}

// rpcClient calls the admin JSON-RPC API over HTTP.
type rpcClient struct {
	url  string
	http *http.Client
}

func newRPCClient(cctx *cli.Context) (*rpcClient, error) {
	raw := cctx.String(rpcURLFlag.Name)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid --rpc %q: want an http:// URL such as %s", raw, defaultRPCURL)
	}
	timeout := cctx.Duration(rpcTimeoutFlag.Name)
	if timeout <= 0 {
		return nil, fmt.Errorf("invalid --timeout %v", timeout)
	}
	return &rpcClient{url: raw, http: &http.Client{Timeout: timeout}}, nil
}

// rpcError is an error answer of the node.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *rpcError) Error() string { return e.Message }

// call makes one JSON-RPC call and decodes its result into result.
func (c *rpcClient) call(ctx context.Context, result any, method string, params ...any) error {
	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return errors.New("interrupted")
		}
		return fmt.Errorf("cannot reach the node's admin endpoint (is it running with --http? see --rpc): %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("reading the answer of %s: %w", method, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %s: %s", c.url, resp.Status, strings.TrimSpace(string(b)))
	}
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  *rpcError       `json:"error"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%s: not a JSON-RPC answer: %v", c.url, err)
	}
	if r.Error != nil {
		if r.Error.Code == -32601 {
			return fmt.Errorf("%s (is the node a devp2pd of this version?)", r.Error.Message)
		}
		return r.Error
	}
	if err := json.Unmarshal(r.Result, result); err != nil {
		return fmt.Errorf("bad result of %s: %v", method, err)
	}
	return nil
}

// printDiag writes the report of admin_diagnostics: findings first.
func printDiag(w io.Writer, d *admin.DiagnosticsResult, prev *admin.DiagnosticsResult) {
	if d.Enode != "" {
		fmt.Fprintf(w, "Node %s\n", d.Enode)
	}
	up := "unknown"
	if d.UptimeSeconds >= 0 {
		up = fmtAgo(d.UptimeSeconds)
	}
	fmt.Fprintf(w, "Snapshot %s, up %s", d.Time.Format(time.RFC3339), up)
	if prev != nil {
		fmt.Fprintf(w, "; counters judged over the last %s", fmtAgo(int64(d.Time.Sub(prev.Time).Seconds())))
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "\nFindings:")
	for _, f := range d.Findings {
		fmt.Fprintf(w, "  %-8s %s  [%s]\n", strings.ToUpper(string(f.Severity)), f.Message, f.Code)
	}
	if !d.Running {
		return
	}

	s := &d.Slots
	fmt.Fprintf(w, "\nPeers: %d of %d (%d inbound, %d outbound)\n", s.Peers, s.MaxPeers, s.Inbound.Used, s.Outbound.Used)
	row := func(name string, capacity, used, free int) {
		fmt.Fprintf(w, "  %-18s %5d %5d %5d\n", name, capacity, used, free)
	}
	fmt.Fprintf(w, "  %-18s %5s %5s %5s\n", "slots", "cap", "used", "free")
	row("inbound", s.Inbound.Cap, s.Inbound.Used, s.Inbound.Free)
	row("outbound (target)", s.Outbound.Cap, s.Outbound.Used, s.Outbound.Free)
	row("total", s.MaxPeers, s.Peers, max(s.MaxPeers-s.Peers, 0))
	fmt.Fprintf(w, "  static: %d configured, %d connected; trusted: %d configured, %d connected\n",
		s.Static.Configured, s.Static.Connected, s.Trusted.Configured, s.Trusted.Connected)
	fmt.Fprintf(w, "  handshakes in progress: %d inbound (max %d), %d outbound\n", s.PendingInbound, d.Config.MaxPendingPeers, s.PendingOutbound)

	fmt.Fprintln(w, "\nReachability:")
	if d.Inbound.ListenAddr == "" {
		fmt.Fprintln(w, "  not listening")
	} else {
		fmt.Fprintf(w, "  listening on %s; the node record says %s\n", d.Inbound.ListenAddr, orNone(d.RecordIP))
		fmt.Fprintf(w, "  last inbound connection: %s; last inbound peer: %s\n", agoOrNever(d.Inbound.SecondsSinceConn), agoOrNever(d.Inbound.SecondsSincePeer))
	}
	if len(d.Inbound.Rejections) > 0 {
		fmt.Fprintf(w, "  refused by the listener: %s\n", formatCounts(d.Inbound.Rejections))
	}
	if n := d.NAT; n != nil {
		fmt.Fprintf(w, "  NAT: %s (%s)", n.Spec, n.Mechanism)
		if n.ExternalIP != "" {
			fmt.Fprintf(w, ", external IP %s", n.ExternalIP)
		}
		fmt.Fprintln(w)
		for _, m := range n.Mappings {
			state := "not mapped"
			if m.Mapped {
				state = fmt.Sprintf("mapped to %s, %s left", m.External, fmtAgo(m.ExpiresInSeconds))
			}
			if m.LastError != "" {
				state += fmt.Sprintf(" (%d failures, last: %s)", m.Failures, m.LastError)
			}
			fmt.Fprintf(w, "    %s %d: %s\n", m.Protocol, m.InternalPort, state)
		}
	}

	fmt.Fprintln(w, "\nDiscovery:")
	switch {
	case !d.Discovery.Enabled:
		fmt.Fprintln(w, "  off")
	default:
		fmt.Fprintf(w, "  table: %d nodes (%d validated); bootnodes: %d; packets received: %d; request timeouts: %d\n",
			d.Discovery.TableNodes, d.Discovery.Validated, d.Config.Bootnodes, d.Discovery.PacketsIn, d.Discovery.Timeouts)
	}

	dl := &d.Dials
	fmt.Fprintln(w, "\nDials (since the start):")
	fmt.Fprintf(w, "  attempts: %d; became peers: %d; failed: %d; in flight: %d\n", dl.Attempts, dl.Successes, dl.Failures, dl.Dialing)
	if len(dl.FailuresByClass) > 0 {
		fmt.Fprintf(w, "  failures by class: %s\n", formatCounts(dl.FailuresByClass))
	}
	fmt.Fprintf(w, "  backed off now: %d nodes; candidates skipped as backed off: %d", dl.BackedOff, dl.SkippedBackoff)
	if len(dl.BackedOffByReason) > 0 {
		fmt.Fprintf(w, " (backed off by reason: %s)", formatCounts(dl.BackedOffByReason))
	}
	fmt.Fprintln(w)

	if len(d.HandshakeFailures) > 0 {
		fmt.Fprintln(w, "\nFailed connection setups (since the start, both directions):")
		for _, phase := range sortedKeys(d.HandshakeFailures) {
			fmt.Fprintf(w, "  %-12s %s\n", phase, formatCounts(d.HandshakeFailures[phase]))
		}
	}

	fmt.Fprintf(w, "\nBans: node IDs %d, IP addresses %d\n", d.Bans.IDs, d.Bans.IPs)
	if len(d.Bans.List) > 0 {
		printBans(w, d.Bans.List, d.Bans.IDs+d.Bans.IPs)
	}
}

func printBans(w io.Writer, bans []p2p.BanInfo, total int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  banned\tleft\tuntil\tby\treason")
	for _, b := range bans {
		what := b.IP
		if b.ID != "" {
			what = b.ID
		}
		by := "admin"
		if b.Auto {
			by = "policy"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", what, fmtAgo(b.ExpiresInSeconds), b.Until.Format(time.RFC3339), by, b.Reason)
	}
	tw.Flush()
	if total > len(bans) {
		fmt.Fprintf(w, "  ... and %d more (devp2pd bans lists all)\n", total-len(bans))
	}
}

// fmtAgo formats seconds: "45 s", "12 min", "3 h 5 min", "2 d 3 h".
func fmtAgo(sec int64) string {
	switch {
	case sec < 60:
		return fmt.Sprintf("%d s", sec)
	case sec < 3600:
		return fmt.Sprintf("%d min", sec/60)
	case sec < 86400:
		if m := sec % 3600 / 60; m > 0 {
			return fmt.Sprintf("%d h %d min", sec/3600, m)
		}
		return fmt.Sprintf("%d h", sec/3600)
	}
	return fmt.Sprintf("%d d %d h", sec/86400, sec%86400/3600)
}

func agoOrNever(sec int64) string {
	if sec < 0 {
		return "never"
	}
	return fmtAgo(sec) + " ago"
}

func orNone(s string) string {
	if s == "" {
		return "(no IP)"
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func formatCounts[N int | uint64](m map[string]N) string {
	keys := sortedKeys(m)
	slices.SortStableFunc(keys, func(a, b string) int {
		switch {
		case m[a] > m[b]:
			return -1
		case m[a] < m[b]:
			return 1
		}
		return 0
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
