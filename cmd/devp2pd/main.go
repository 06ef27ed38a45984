// Command devp2pd runs a devp2p node: the RLPx connection pool of an
// Ethereum node, without a blockchain behind it.
//
//	devp2pd [flags]        run a node (the default)
//	devp2pd version        print the version
//
// The node key lives in the data directory and is created on first run, so
// the node ID is stable across restarts. Flags that mean what a go-ethereum
// flag means have go-ethereum's name.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/netutil"
	"github.com/devp2p-go/devp2p/p2p"
)

const version = "0.1.0-dev"

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "devp2pd:", err)
		os.Exit(1)
	}
}

type options struct {
	datadir     string
	port        int
	maxPeers    int
	maxPend     int
	bootnodes   string
	static      string
	trusted     string
	nodekey     string
	nodekeyhex  string
	netrestrict string
	nodiscover  bool
	verbosity   int
	logJSON     bool
	name        string
}

func run(args []string, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "version" {
		fmt.Println("devp2pd", version)
		return nil
	}
	fs := flag.NewFlagSet("devp2pd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	home, _ := os.UserHomeDir()
	fs.StringVar(&o.datadir, "datadir", filepath.Join(home, ".devp2pd"), "data directory (node key, node database)")
	fs.IntVar(&o.port, "port", 30303, "network listening port (TCP; UDP once discovery runs); 0 picks a free port")
	fs.IntVar(&o.maxPeers, "maxpeers", 50, "maximum number of network peers (trusted peers not counted)")
	fs.IntVar(&o.maxPend, "maxpendpeers", 0, "maximum number of inbound handshakes in progress (0 = default 50)")
	fs.StringVar(&o.bootnodes, "bootnodes", "", "comma-separated enode URLs used when the node has no peers")
	fs.StringVar(&o.static, "staticnodes", "", "comma-separated enode URLs kept connected")
	fs.StringVar(&o.trusted, "trustednodes", "", "comma-separated enode URLs allowed beyond --maxpeers")
	fs.StringVar(&o.nodekey, "nodekey", "", "node key file (default: <datadir>/nodekey, created if missing)")
	fs.StringVar(&o.nodekeyhex, "nodekeyhex", "", "node key as hex (for testing)")
	fs.StringVar(&o.netrestrict, "netrestrict", "", "restrict network communication to these CIDR masks (comma-separated)")
	fs.BoolVar(&o.nodiscover, "nodiscover", false, "disable peer discovery (discovery is not wired in yet; accepted for compatibility)")
	fs.IntVar(&o.verbosity, "verbosity", 3, "log level: 0=silent, 1=error, 2=warn, 3=info, 4=debug, 5=trace")
	fs.BoolVar(&o.logJSON, "log.json", false, "write logs as JSON")
	fs.StringVar(&o.name, "name", "devp2pd/"+version, "client name announced to peers")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unknown command %q (try --help)", fs.Arg(0))
	}
	log := newLogger(stderr, o.verbosity, o.logJSON)

	key, err := loadKey(o, log)
	if err != nil {
		return err
	}
	cfg := p2p.Config{
		PrivateKey:      key,
		Name:            o.name,
		ListenAddr:      fmt.Sprintf(":%d", o.port),
		MaxPeers:        o.maxPeers,
		MaxPendingPeers: o.maxPend,
		Logger:          log,
	}
	if cfg.BootstrapNodes, err = parseNodes("--bootnodes", o.bootnodes); err != nil {
		return err
	}
	if cfg.StaticNodes, err = parseNodes("--staticnodes", o.static); err != nil {
		return err
	}
	if cfg.TrustedNodes, err = parseNodes("--trustednodes", o.trusted); err != nil {
		return err
	}
	if o.netrestrict != "" {
		if cfg.NetRestrict, err = netutil.ParseNetlist(o.netrestrict); err != nil {
			return fmt.Errorf("--netrestrict: %w", err)
		}
	}
	srv := &p2p.Server{Config: cfg}
	if err := srv.Start(); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "enode:", srv.Self().URLv4())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	<-ctx.Done()
	stop() // a second signal now kills the process
	log.Info("Shutting down")
	srv.Stop()
	return nil
}

func loadKey(o options, log *slog.Logger) (*crypto.PrivateKey, error) {
	if o.nodekeyhex != "" {
		if o.nodekey != "" {
			return nil, errors.New("--nodekey and --nodekeyhex are mutually exclusive")
		}
		k, err := crypto.HexToPrivateKey(o.nodekeyhex)
		if err != nil {
			return nil, fmt.Errorf("--nodekeyhex: %w", err)
		}
		return k, nil
	}
	path := o.nodekey
	if path == "" {
		if err := os.MkdirAll(o.datadir, 0o700); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
		path = filepath.Join(o.datadir, "nodekey")
	}
	k, err := crypto.LoadNodeKey(path)
	if err == nil || o.nodekey != "" || !errors.Is(err, os.ErrNotExist) {
		if err != nil {
			return nil, fmt.Errorf("node key %s: %w", path, err)
		}
		return k, nil
	}
	if k, err = crypto.GenerateKey(nil); err != nil {
		return nil, err
	}
	if err := crypto.SaveNodeKey(path, k); err != nil {
		return nil, fmt.Errorf("saving node key: %w", err)
	}
	log.Info("Created new node key", "path", path)
	return k, nil
}

func parseNodes(flagName, list string) ([]*enode.Node, error) {
	var nodes []*enode.Node
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := enode.Parse(enode.ValidSchemes, s)
		if err != nil {
			return nil, fmt.Errorf("%s: invalid node %q: %w", flagName, s, err)
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

func newLogger(w io.Writer, verbosity int, json bool) *slog.Logger {
	levels := []slog.Level{slog.LevelError + 100, slog.LevelError, slog.LevelWarn, slog.LevelInfo, slog.LevelDebug, p2p.LevelTrace}
	lvl := levels[max(0, min(verbosity, len(levels)-1))]
	opts := &slog.HandlerOptions{Level: lvl}
	if json {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
