package main

import (
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"
)

// Flag categories in --help.
const (
	catNode    = "NODE"
	catNet     = "NETWORKING"
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
	httpFlag, httpAddrFlag, httpPortFlag, httpVHostsFlag,
	wsFlag, wsAddrFlag, wsPortFlag, wsOriginsFlag,
	metricsFlag, metricsAddrFlag, metricsPortFlag, pprofFlag,
	verbosityFlag, logJSONFlag,
}
