package main

import (
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"
)

// Flag categories in --help.
const (
	catNode    = "NODE"
	catNet     = "NETWORKING"
	catLimits  = "PEER LIMITS"
	catPolicy  = "PEER POLICY"
	catAPI     = "ADMIN API"
	catMetrics = "METRICS AND DEBUGGING"
	catLog     = "LOGGING"
)

// Defaults of the node flags. Where a flag means what a go-ethereum flag
// means, it has go-ethereum's name and default, except that the admin and
// metrics listeners default to 127.0.0.1 rather than "localhost", which
// may resolve to ::1 as well.
const (
	defaultPort        = 30303
	defaultMaxPeers    = 50
	defaultVerbosity   = 3
	defaultHTTPHost    = "127.0.0.1"
	defaultHTTPPort    = 8545
	defaultWSPort      = 8546
	defaultMetricsPort = 6060
	defaultNAT         = "none"
)

// Defaults of the peer limit and policy flags: those of p2p.Limits and
// p2p.Policy (docs/limits.md, docs/peer-policy.md), so that --help and
// dumpconfig show them.
const (
	defaultPendingPerIP     = 4
	defaultPendingPerSubnet = 8
	defaultSubnetV4         = 24
	defaultSubnetV6         = 48
	defaultAnchors          = 4
	defaultBanThreshold     = -500
	defaultBanTime          = time.Hour
	defaultDialThreshold    = -200
)

// Values of --limits.subnetexempt besides CIDR masks.
const (
	subnetExemptLAN  = "lan"  // the LAN ranges, alone or in a list
	subnetExemptNone = "none" // an empty list
)

// defaultDataDir is ~/.devp2pd, or ./devp2pd-data without a home directory.
func defaultDataDir() string {
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".devp2pd")
	}
	return "devp2pd-data"
}

var (
	configFlag = &cli.StringFlag{
		Name:     "config",
		Usage:    "TOML configuration file; its keys are the flag names (see the README); flags given on the command line win",
		Category: catNode,
	}
	dataDirFlag = &cli.StringFlag{
		Name:     "datadir",
		Usage:    "Data directory, created on first run; holds the node key (so the node ID stays the same across restarts) and the node database (nodes.db: discovery's nodes and the peer store)",
		Value:    defaultDataDir(),
		Category: catNode,
	}
	identityFlag = &cli.StringFlag{
		Name:     "identity",
		Usage:    "Custom node name, added to the client name announced to peers (devp2pd/<identity>/v…)",
		Category: catNode,
	}
	nodeKeyFlag = &cli.StringFlag{
		Name:     "nodekey",
		Usage:    "P2P node key file (default: <datadir>/nodekey, created if missing)",
		Category: catNode,
	}
	nodeKeyHexFlag = &cli.StringFlag{
		Name:     "nodekeyhex",
		Usage:    "P2P node key as hex (for testing)",
		Category: catNode,
	}
	testProtoFlag = &cli.BoolFlag{
		Name:     "testproto",
		Usage:    "Run the diagnostic sub-protocol test/1, which echoes messages (used by 'devp2pd ping --echo')",
		Category: catNode,
	}

	portFlag = &cli.IntFlag{
		Name:     "port",
		Usage:    "Network listening port, TCP and UDP (discovery); 0 picks a free port",
		Value:    defaultPort,
		Category: catNet,
	}
	maxPeersFlag = &cli.IntFlag{
		Name:     "maxpeers",
		Usage:    "Maximum number of network peers (network disabled if set to 0; trusted peers not counted)",
		Value:    defaultMaxPeers,
		Category: catNet,
	}
	maxPendPeersFlag = &cli.IntFlag{
		Name:     "maxpendpeers",
		Usage:    "Maximum number of pending connection attempts (defaults used if set to 0)",
		Category: catNet,
	}
	bootnodesFlag = &cli.StringFlag{
		Name:     "bootnodes",
		Usage:    "Comma separated enode URLs for P2P discovery bootstrap (those with a TCP port are also dialed while the node has no peers)",
		Category: catNet,
	}
	staticNodesFlag = &cli.StringFlag{
		Name:     "staticnodes",
		Usage:    "Comma separated enode URLs to keep connected (like admin_addPeer)",
		Category: catNet,
	}
	trustedNodesFlag = &cli.StringFlag{
		Name:     "trustednodes",
		Usage:    "Comma separated enode URLs allowed to connect beyond --maxpeers (like admin_addTrustedPeer)",
		Category: catNet,
	}
	natFlag = &cli.StringFlag{
		Name:     "nat",
		Usage:    "NAT port mapping mechanism (none|extip:<IP>|upnp|pmp[:<gateway IP>]|any): the external address goes into the node record; upnp, pmp and any keep the port mapped on the gateway while the node runs",
		Value:    defaultNAT,
		Category: catNet,
	}
	noDiscoverFlag = &cli.BoolFlag{
		Name:     "nodiscover",
		Usage:    "Disables the peer discovery mechanism (manual peer addition; peers of earlier runs are still dialed first)",
		Category: catNet,
	}
	netRestrictFlag = &cli.StringFlag{
		Name:     "netrestrict",
		Usage:    "Restricts network communication to the given IP networks (CIDR masks, comma separated)",
		Category: catNet,
	}

	maxInboundFlag = &cli.IntFlag{
		Name:     "maxinbound",
		Usage:    "Maximum number of inbound peers, capped by --maxpeers (0: --maxpeers minus the outbound cap)",
		Category: catLimits,
	}
	maxOutboundFlag = &cli.IntFlag{
		Name:     "maxoutbound",
		Usage:    "Maximum number of dialed peers, static ones not counted, capped by --maxpeers (0: --maxpeers/3, at least 1)",
		Category: catLimits,
	}
	pendingPerIPFlag = &cli.IntFlag{
		Name:     "limits.pendingperip",
		Usage:    "Maximum inbound handshakes in flight from one IP address, trusted nodes' too (-1: no limit)",
		Value:    defaultPendingPerIP,
		Category: catLimits,
	}
	pendingPerSubnetFlag = &cli.IntFlag{
		Name:     "limits.pendingpersubnet",
		Usage:    "Maximum inbound handshakes in flight from one subnet (see --limits.subnetv4/v6; -1: no limit)",
		Value:    defaultPendingPerSubnet,
		Category: catLimits,
	}
	inboundPerSubnetFlag = &cli.IntFlag{
		Name:     "limits.inboundpersubnet",
		Usage:    "Maximum inbound peers from one subnet, trusted ones not counted (0: a quarter of the inbound cap, at least 2; -1: no limit)",
		Category: catLimits,
	}
	outboundPerSubnetFlag = &cli.IntFlag{
		Name:     "limits.outboundpersubnet",
		Usage:    "Maximum dialed peers in one subnet, static and trusted ones not counted (0: a quarter of the outbound cap, at least 2; -1: no limit)",
		Category: catLimits,
	}
	subnetV4Flag = &cli.IntFlag{
		Name:     "limits.subnetv4",
		Usage:    "Prefix length (1-32) that groups IPv4 addresses into subnets for the per-subnet limits and eviction",
		Value:    defaultSubnetV4,
		Category: catLimits,
	}
	subnetV6Flag = &cli.IntFlag{
		Name:     "limits.subnetv6",
		Usage:    "Prefix length (1-128) that groups IPv6 addresses into subnets for the per-subnet limits and eviction",
		Value:    defaultSubnetV6,
		Category: catLimits,
	}
	subnetExemptFlag = &cli.StringFlag{
		Name:     "limits.subnetexempt",
		Usage:    "Networks exempt from the per-subnet limits: comma separated CIDR masks, 'lan' for the LAN ranges (loopback, RFC 1918, RFC 4193, link-local), alone or in the list, or 'none'",
		Value:    subnetExemptLAN,
		Category: catLimits,
	}
	trustedOnlyFlag = &cli.BoolFlag{
		Name:     "limits.trustedonly",
		Usage:    "Connect to trusted nodes only (--trustednodes), inbound and dialed; others are closed before the encryption handshake where their IP tells",
		Category: catLimits,
	}
	evictFlag = &cli.BoolFlag{
		Name:     "limits.evict",
		Usage:    "When inbound is full, let a peer from a subnet not yet among the inbound peers replace the weakest unprotected one (--limits.evict=false: refuse it)",
		Value:    true,
		Category: catLimits,
	}

	anchorsFlag = &cli.IntFlag{
		Name:     "policy.anchors",
		Usage:    "Number of long-connected dialed peers remembered as anchors and dialed first after a restart (0: none)",
		Value:    defaultAnchors,
		Category: catPolicy,
	}
	autoBansFlag = &cli.BoolFlag{
		Name:     "policy.autobans",
		Usage:    "Ban nodes automatically for protocol breaches, replayed handshakes and a reputation at the ban threshold (--policy.autobans=false: manual bans only; reputation is still kept)",
		Value:    true,
		Category: catPolicy,
	}
	banThresholdFlag = &cli.IntFlag{
		Name:     "policy.banthreshold",
		Usage:    "Reputation (-1000 to -1) at or below which a node is banned by ID for --policy.bantime",
		Value:    defaultBanThreshold,
		Category: catPolicy,
	}
	banTimeFlag = &cli.DurationFlag{
		Name:     "policy.bantime",
		Usage:    "Length of a ban for low reputation",
		Value:    defaultBanTime,
		Category: catPolicy,
	}
	dialThresholdFlag = &cli.IntFlag{
		Name:     "policy.dialthreshold",
		Usage:    "Least reputation (-1000 to -1) of a node dialed to fill an outbound slot; 10 s connected earns a point back",
		Value:    defaultDialThreshold,
		Category: catPolicy,
	}

	httpFlag = &cli.BoolFlag{
		Name:     "http",
		Usage:    "Enable the admin JSON-RPC server over HTTP (admin_*, net_peerCount, net_listening)",
		Category: catAPI,
	}
	httpAddrFlag = &cli.StringFlag{
		Name:     "http.addr",
		Usage:    "HTTP-RPC server listening interface; anything but loopback lets others control the node",
		Value:    defaultHTTPHost,
		Category: catAPI,
	}
	httpPortFlag = &cli.IntFlag{
		Name:     "http.port",
		Usage:    "HTTP-RPC server listening port (0 picks a free port)",
		Value:    defaultHTTPPort,
		Category: catAPI,
	}
	httpVHostsFlag = &cli.StringFlag{
		Name:     "http.vhosts",
		Usage:    "Comma separated list of virtual hostnames from which to accept requests (server enforced); '*' accepts any; IP addresses are always accepted",
		Value:    "localhost",
		Category: catAPI,
	}
	wsFlag = &cli.BoolFlag{
		Name:     "ws",
		Usage:    "Enable the admin JSON-RPC server over WebSocket (with the admin_peerEvents subscription)",
		Category: catAPI,
	}
	wsAddrFlag = &cli.StringFlag{
		Name:     "ws.addr",
		Usage:    "WS-RPC server listening interface; anything but loopback lets others control the node",
		Value:    defaultHTTPHost,
		Category: catAPI,
	}
	wsPortFlag = &cli.IntFlag{
		Name:     "ws.port",
		Usage:    "WS-RPC server listening port (the same address and port as --http.* share one listener)",
		Value:    defaultWSPort,
		Category: catAPI,
	}
	wsOriginsFlag = &cli.StringFlag{
		Name:     "ws.origins",
		Usage:    "Origins from which to accept websockets requests (comma separated host patterns; '*' accepts any); clients that send no Origin are always accepted",
		Category: catAPI,
	}

	metricsFlag = &cli.BoolFlag{
		Name:     "metrics",
		Usage:    "Enable the debug listener with Prometheus metrics at /metrics (and /debug/metrics/prometheus)",
		Category: catMetrics,
	}
	metricsAddrFlag = &cli.StringFlag{
		Name:     "metrics.addr",
		Usage:    "Debug listener interface (metrics and pprof)",
		Value:    defaultHTTPHost,
		Category: catMetrics,
	}
	metricsPortFlag = &cli.IntFlag{
		Name:     "metrics.port",
		Usage:    "Debug listener port (0 picks a free port)",
		Value:    defaultMetricsPort,
		Category: catMetrics,
	}
	pprofFlag = &cli.BoolFlag{
		Name:     "pprof",
		Usage:    "Serve Go profiles at /debug/pprof/ on the debug listener (starts it without --metrics)",
		Category: catMetrics,
	}

	verbosityFlag = &cli.IntFlag{
		Name:     "verbosity",
		Usage:    "Logging verbosity: 0=silent, 1=error, 2=warn, 3=info, 4=debug, 5=detail",
		Value:    defaultVerbosity,
		Category: catLog,
	}
	logJSONFlag = &cli.BoolFlag{
		Name:     "log.json",
		Usage:    "Format logs with JSON",
		Category: catLog,
	}
)

// nodeFlags are the flags of the node command (the default one), in help
// order. The config file accepts the same names except config itself.
var nodeFlags = []cli.Flag{
	configFlag, dataDirFlag, identityFlag, nodeKeyFlag, nodeKeyHexFlag, testProtoFlag,
	portFlag, maxPeersFlag, maxPendPeersFlag, bootnodesFlag, staticNodesFlag, trustedNodesFlag,
	natFlag, noDiscoverFlag, netRestrictFlag,
	maxInboundFlag, maxOutboundFlag, pendingPerIPFlag, pendingPerSubnetFlag, inboundPerSubnetFlag,
	outboundPerSubnetFlag, subnetV4Flag, subnetV6Flag, subnetExemptFlag, trustedOnlyFlag, evictFlag,
	anchorsFlag, autoBansFlag, banThresholdFlag, banTimeFlag, dialThresholdFlag,
	httpFlag, httpAddrFlag, httpPortFlag, httpVHostsFlag,
	wsFlag, wsAddrFlag, wsPortFlag, wsOriginsFlag,
	metricsFlag, metricsAddrFlag, metricsPortFlag, pprofFlag,
	verbosityFlag, logJSONFlag,
}
