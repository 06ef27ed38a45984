package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/devp2p-go/devp2p/cmd/devp2pd/internal/testproto"
	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/netutil"
	"github.com/devp2p-go/devp2p/nodedb"
	"github.com/devp2p-go/devp2p/p2p"
)

// settings are the node flags, after the config file was applied.
type settings struct {
	src *configSource

	dataDir, identity, nodeKey, nodeKeyHex string
	testProto                              bool

	port, maxPeers, maxPendPeers         int
	bootnodes, staticNodes, trustedNodes string
	nat, netRestrict                     string
	noDiscover                           bool

	maxInbound, maxOutbound              int
	pendingPerIP, pendingPerSubnet       int
	inboundPerSubnet, outboundPerSubnet  int
	subnetV4, subnetV6                   int
	subnetExempt                         string
	trustedOnly, evict                   bool
	anchors, banThreshold, dialThreshold int
	banTime                              time.Duration
	autoBans                             bool

	http                 bool
	httpAddr, httpVHosts string
	httpPort             int
	ws                   bool
	wsAddr, wsOrigins    string
	wsPort               int

	metrics, pprof bool
	metricsAddr    string
	metricsPort    int

	verbosity int
	logJSON   bool
}

// readSettings applies the config file named by --config, if any, and
// reads the node flags.
func readSettings(ctx *cli.Context) (*settings, error) {
	var src *configSource
	if path := ctx.String(configFlag.Name); path != "" {
		var err error
		if src, err = applyConfigFile(ctx, path); err != nil {
			return nil, err
		}
	}
	s := &settings{
		src:          src,
		dataDir:      ctx.String(dataDirFlag.Name),
		identity:     ctx.String(identityFlag.Name),
		nodeKey:      ctx.String(nodeKeyFlag.Name),
		nodeKeyHex:   ctx.String(nodeKeyHexFlag.Name),
		testProto:    ctx.Bool(testProtoFlag.Name),
		port:         ctx.Int(portFlag.Name),
		maxPeers:     ctx.Int(maxPeersFlag.Name),
		maxPendPeers: ctx.Int(maxPendPeersFlag.Name),
		bootnodes:    ctx.String(bootnodesFlag.Name),
		staticNodes:  ctx.String(staticNodesFlag.Name),
		trustedNodes: ctx.String(trustedNodesFlag.Name),
		nat:          ctx.String(natFlag.Name),
		netRestrict:  ctx.String(netRestrictFlag.Name),
		noDiscover:   ctx.Bool(noDiscoverFlag.Name),

		maxInbound:        ctx.Int(maxInboundFlag.Name),
		maxOutbound:       ctx.Int(maxOutboundFlag.Name),
		pendingPerIP:      ctx.Int(pendingPerIPFlag.Name),
		pendingPerSubnet:  ctx.Int(pendingPerSubnetFlag.Name),
		inboundPerSubnet:  ctx.Int(inboundPerSubnetFlag.Name),
		outboundPerSubnet: ctx.Int(outboundPerSubnetFlag.Name),
		subnetV4:          ctx.Int(subnetV4Flag.Name),
		subnetV6:          ctx.Int(subnetV6Flag.Name),
		subnetExempt:      ctx.String(subnetExemptFlag.Name),
		trustedOnly:       ctx.Bool(trustedOnlyFlag.Name),
		evict:             ctx.Bool(evictFlag.Name),
		anchors:           ctx.Int(anchorsFlag.Name),
		autoBans:          ctx.Bool(autoBansFlag.Name),
		banThreshold:      ctx.Int(banThresholdFlag.Name),
		banTime:           ctx.Duration(banTimeFlag.Name),
		dialThreshold:     ctx.Int(dialThresholdFlag.Name),

		http:        ctx.Bool(httpFlag.Name),
		httpAddr:    ctx.String(httpAddrFlag.Name),
		httpPort:    ctx.Int(httpPortFlag.Name),
		httpVHosts:  ctx.String(httpVHostsFlag.Name),
		ws:          ctx.Bool(wsFlag.Name),
		wsAddr:      ctx.String(wsAddrFlag.Name),
		wsPort:      ctx.Int(wsPortFlag.Name),
		wsOrigins:   ctx.String(wsOriginsFlag.Name),
		metrics:     ctx.Bool(metricsFlag.Name),
		metricsAddr: ctx.String(metricsAddrFlag.Name),
		metricsPort: ctx.Int(metricsPortFlag.Name),
		pprof:       ctx.Bool(pprofFlag.Name),
		verbosity:   ctx.Int(verbosityFlag.Name),
		logJSON:     ctx.Bool(logJSONFlag.Name),
	}
	return s, s.check()
}

// bad returns an error naming the setting and its value.
func (s *settings) bad(name string, value any, err error) error {
	if err == nil {
		return fmt.Errorf("invalid %s value %v", s.src.describe(name), value)
	}
	return fmt.Errorf("invalid %s value %v: %w", s.src.describe(name), value, err)
}

// check validates what can be validated without side effects.
func (s *settings) check() error {
	for _, p := range []struct {
		name string
		v    int
	}{{portFlag.Name, s.port}, {httpPortFlag.Name, s.httpPort}, {wsPortFlag.Name, s.wsPort}, {metricsPortFlag.Name, s.metricsPort}} {
		if p.v < 0 || p.v > 65535 {
			return s.bad(p.name, p.v, errors.New("not a port number (0-65535)"))
		}
	}
	for _, n := range []struct {
		name string
		v    int
	}{{maxPeersFlag.Name, s.maxPeers}, {maxPendPeersFlag.Name, s.maxPendPeers},
		{maxInboundFlag.Name, s.maxInbound}, {maxOutboundFlag.Name, s.maxOutbound},
		{anchorsFlag.Name, s.anchors}} {
		if n.v < 0 {
			return s.bad(n.name, n.v, errors.New("must not be negative"))
		}
	}
	if _, err := s.limits(); err != nil {
		return err
	}
	if _, err := s.policy(); err != nil {
		return err
	}
	if s.verbosity < 0 || s.verbosity > 5 {
		return s.bad(verbosityFlag.Name, s.verbosity, errors.New("want 0 to 5"))
	}
	if s.nodeKey != "" && s.nodeKeyHex != "" {
		return fmt.Errorf("%s and %s are mutually exclusive", s.src.describe(nodeKeyFlag.Name), s.src.describe(nodeKeyHexFlag.Name))
	}
	if _, err := parseNAT(s.nat); err != nil {
		return s.bad(natFlag.Name, fmt.Sprintf("%q", s.nat), err)
	}
	return nil
}

// nodeDBFile is the node database in the data directory (bbolt): what
// discovery learned, the record's sequence number and the peer store.
const nodeDBFile = "nodes.db"

// clientName is the name announced in Hello, in go-ethereum's format:
// devp2pd[/identity]/v<version>/<os>-<arch>/<go version>.
func clientName(identity string) string {
	parts := []string{"devp2pd"}
	if identity != "" {
		parts = append(parts, identity)
	}
	parts = append(parts, "v"+version, runtime.GOOS+"-"+runtime.GOARCH, runtime.Version())
	return strings.Join(parts, "/")
}

// p2pConfig turns the settings into a server config. It creates the data
// directory and the node key on first run.
func (s *settings) p2pConfig(log *slog.Logger) (p2p.Config, *testproto.Protocol, error) {
	key, err := s.loadKey(log)
	if err != nil {
		return p2p.Config{}, nil, err
	}
	cfg := p2p.Config{
		PrivateKey:      key,
		Name:            clientName(s.identity),
		ListenAddr:      fmt.Sprintf(":%d", s.port),
		MaxPeers:        s.maxPeers,
		MaxInbound:      s.maxInbound,
		MaxOutbound:     s.maxOutbound,
		MaxPendingPeers: s.maxPendPeers,
		Logger:          log,
	}
	if cfg.Limits, err = s.limits(); err != nil {
		return cfg, nil, err
	}
	if cfg.Policy, err = s.policy(); err != nil {
		return cfg, nil, err
	}
	if cfg.BootstrapNodes, err = s.parseNodes(bootnodesFlag.Name, s.bootnodes); err != nil {
		return cfg, nil, err
	}
	if cfg.StaticNodes, err = s.parseNodes(staticNodesFlag.Name, s.staticNodes); err != nil {
		return cfg, nil, err
	}
	if cfg.TrustedNodes, err = s.parseNodes(trustedNodesFlag.Name, s.trustedNodes); err != nil {
		return cfg, nil, err
	}
	if strings.TrimSpace(s.netRestrict) != "" {
		if cfg.NetRestrict, err = netutil.ParseNetlist(s.netRestrict); err != nil {
			return cfg, nil, s.bad(netRestrictFlag.Name, fmt.Sprintf("%q", s.netRestrict), err)
		}
	}
	cfg.NoDiscovery = s.noDiscover
	if err := prepareDataDir(s.dataDir); err != nil {
		return cfg, nil, err
	}
	cfg.NodeDatabase = filepath.Join(s.dataDir, nodeDBFile)
	var echo *testproto.Protocol
	if s.testProto {
		echo = testproto.New()
		cfg.Protocols = append(cfg.Protocols, echo.Protocol())
	}
	return cfg, echo, nil
}

// limits returns the p2p limits of the --limits.* settings.
func (s *settings) limits() (p2p.Limits, error) {
	l := p2p.Limits{
		MaxPendingPerIP:      s.pendingPerIP,
		MaxPendingPerSubnet:  s.pendingPerSubnet,
		MaxInboundPerSubnet:  s.inboundPerSubnet,
		MaxOutboundPerSubnet: s.outboundPerSubnet,
		SubnetBitsV4:         s.subnetV4,
		SubnetBitsV6:         s.subnetV6,
		TrustedOnly:          s.trustedOnly,
		EvictInbound:         &s.evict,
	}
	for _, c := range []struct {
		name        string
		v           int
		zeroDerived bool // 0 means a cap derived from the direction's cap
	}{
		{pendingPerIPFlag.Name, s.pendingPerIP, false},
		{pendingPerSubnetFlag.Name, s.pendingPerSubnet, false},
		{inboundPerSubnetFlag.Name, s.inboundPerSubnet, true},
		{outboundPerSubnetFlag.Name, s.outboundPerSubnet, true},
	} {
		switch {
		case c.v < -1:
			return l, s.bad(c.name, c.v, errors.New("want a limit, or -1 for no limit"))
		case c.v == 0 && !c.zeroDerived:
			return l, s.bad(c.name, c.v, errors.New("want at least 1, or -1 for no limit"))
		}
	}
	if s.subnetV4 < 1 || s.subnetV4 > 32 {
		return l, s.bad(subnetV4Flag.Name, s.subnetV4, errors.New("want a prefix length of 1 to 32"))
	}
	if s.subnetV6 < 1 || s.subnetV6 > 128 {
		return l, s.bad(subnetV6Flag.Name, s.subnetV6, errors.New("want a prefix length of 1 to 128"))
	}
	exempt, err := parseSubnetExempt(s.subnetExempt)
	if err != nil {
		return l, s.bad(subnetExemptFlag.Name, fmt.Sprintf("%q", s.subnetExempt), err)
	}
	l.SubnetExempt = exempt
	return l, nil
}

// lanNetworks are the networks of netutil.IsLAN: loopback, RFC 1918 and
// RFC 4193 private, and link-local unicast.
const lanNetworks = "127.0.0.0/8, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16, " +
	"::1/128, fc00::/7, fe80::/10"

// parseSubnetExempt parses --limits.subnetexempt: "lan" alone is nil (the
// p2p default, the LAN ranges), "none" an empty list, and otherwise a comma
// separated list of CIDR masks in which "lan" stands for the LAN ranges.
func parseSubnetExempt(v string) (*netutil.Netlist, error) {
	v = strings.TrimSpace(v)
	switch strings.ToLower(v) {
	case subnetExemptLAN:
		return nil, nil
	case subnetExemptNone:
		return &netutil.Netlist{}, nil
	case "":
		return nil, errors.New("empty; use 'none' for no exempt networks or 'lan' for the LAN ranges")
	}
	var masks []string
	for item := range strings.SplitSeq(v, ",") {
		switch item = strings.TrimSpace(item); strings.ToLower(item) {
		case subnetExemptLAN:
			masks = append(masks, lanNetworks)
		case subnetExemptNone:
			return nil, errors.New("'none' cannot be part of a list")
		default:
			masks = append(masks, item)
		}
	}
	return netutil.ParseNetlist(strings.Join(masks, ","))
}

// policy returns the p2p peer policy of the --policy.* settings.
func (s *settings) policy() (p2p.Policy, error) {
	p := p2p.Policy{
		BanThreshold:     s.banThreshold,
		ReputationBanTTL: s.banTime,
		DialThreshold:    s.dialThreshold,
		MaxAnchors:       s.anchors,
		NoAutoBans:       !s.autoBans,
	}
	if s.anchors == 0 {
		p.MaxAnchors = -1 // none; zero is p2p's default
	}
	for _, t := range []struct {
		name string
		v    int
	}{{banThresholdFlag.Name, s.banThreshold}, {dialThresholdFlag.Name, s.dialThreshold}} {
		if t.v < nodedb.MinScore || t.v > -1 {
			return p, s.bad(t.name, t.v, fmt.Errorf("want a reputation of %d to -1", nodedb.MinScore))
		}
	}
	if s.banTime <= 0 {
		return p, s.bad(banTimeFlag.Name, s.banTime, errors.New("want a positive duration such as 1h or 30m"))
	}
	return p, nil
}

// parseNodes parses a comma separated list of enode URLs or ENRs.
func (s *settings) parseNodes(name, list string) ([]*enode.Node, error) {
	var nodes []*enode.Node
	for _, item := range strings.Split(list, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		n, err := enode.Parse(enode.ValidSchemes, item)
		if err != nil {
			return nil, s.bad(name, fmt.Sprintf("%q", item), fmt.Errorf("invalid enode: %v", err))
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// loadKey returns the node key: from --nodekeyhex, from --nodekey, or from
// <datadir>/nodekey, which is created on first run.
func (s *settings) loadKey(log *slog.Logger) (*crypto.PrivateKey, error) {
	if s.nodeKeyHex != "" {
		k, err := crypto.HexToPrivateKey(s.nodeKeyHex)
		if err != nil {
			return nil, s.bad(nodeKeyHexFlag.Name, "(hidden)", err)
		}
		return k, nil
	}
	if s.nodeKey != "" {
		k, err := crypto.LoadNodeKey(s.nodeKey)
		if err != nil {
			return nil, fmt.Errorf("node key from %s: %w", s.src.describe(nodeKeyFlag.Name), err)
		}
		return k, nil
	}
	if err := prepareDataDir(s.dataDir); err != nil {
		return nil, err
	}
	path := filepath.Join(s.dataDir, "nodekey")
	k, err := crypto.LoadNodeKey(path)
	switch {
	case err == nil:
		return k, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("node key %s: %w", path, err)
	}
	if k, err = crypto.GenerateKey(nil); err != nil {
		return nil, err
	}
	if err := crypto.SaveNodeKey(path, k); err != nil {
		return nil, fmt.Errorf("saving node key: %w", err)
	}
	log.Info("Created new node key", "path", path, "id", enode.PubkeyToIDV4(k.Public()))
	return k, nil
}

// prepareDataDir creates the data directory (mode 0700) if needed and
// checks that it is writable, so that a bad one fails at start with a
// clear error.
func prepareDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	f, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("data directory %s is not writable: %w", dir, err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// newLogger returns the daemon's logger: text (or JSON) on w, at the level
// of a go-ethereum style verbosity.
func newLogger(w interface{ Write([]byte) (int, error) }, verbosity int, json bool) *slog.Logger {
	levels := []slog.Level{slog.LevelError + 100, slog.LevelError, slog.LevelWarn, slog.LevelInfo, slog.LevelDebug, p2p.LevelTrace}
	opts := &slog.HandlerOptions{Level: levels[max(0, min(verbosity, len(levels)-1))]}
	if json {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
