package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/devp2p-go/devp2p/admin"
	"github.com/devp2p-go/devp2p/cmd/devp2pd/internal/testproto"
	"github.com/devp2p-go/devp2p/metrics"
	"github.com/devp2p-go/devp2p/p2p"
)

// shutdownTimeout bounds the wait for HTTP requests in flight at stop.
const shutdownTimeout = 5 * time.Second

// daemon is a running node: the p2p server, the admin JSON-RPC endpoints
// and the debug listener.
type daemon struct {
	log       *slog.Logger
	srv       *p2p.Server
	echo      *testproto.Protocol // nil without --testproto
	collector *metrics.Collector  // nil without --metrics
	nat       *natService
	endpoints []*endpoint

	beforeStop func() // tests only: delays the shutdown
}

// endpoint is one HTTP listener.
type endpoint struct {
	name string // for logs: "http", "ws", "http+ws", "debug"
	url  string
	srv  *http.Server
	rpc  *admin.Handler // nil for the debug listener
}

// startDaemon starts the node described by s. stdout gets the enode URL.
func startDaemon(s *settings, log *slog.Logger, stdout io.Writer) (*daemon, error) {
	cfg, echo, err := s.p2pConfig(log)
	if err != nil {
		return nil, err
	}
	natIface, _ := parseNAT(s.nat) // checked in readSettings
	d := &daemon{log: log, srv: &p2p.Server{Config: cfg}, echo: echo}
	if err := d.srv.Start(); err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			err = fmt.Errorf("%w (is another node running? choose another --port)", err)
		}
		return nil, fmt.Errorf("starting p2p networking: %w", err)
	}
	// Discovery listens on the TCP port's number for UDP; that port is
	// mapped too while it runs (not with --nodiscover), as go-ethereum does.
	disc := d.srv.DiscoveryV4() != nil
	if d.nat, err = startNAT(s.nat, natIface, d.srv.LocalNode(), d.srv.Self().TCP(), disc, log); err != nil {
		d.srv.Stop()
		return nil, err
	}
	if err := d.startEndpoints(s); err != nil {
		d.stop()
		return nil, err
	}
	self := d.srv.Self()
	log.Info("Node started", "enode", self.URLv4(), "id", self.ID(), "name", cfg.Name)
	fmt.Fprintln(stdout, self.URLv4())
	return d, nil
}

// startEndpoints opens the admin and debug listeners the settings ask for.
func (d *daemon) startEndpoints(s *settings) error {
	api := admin.NewAPI(d.srv)
	api.SetNATStatus(d.nat.status)
	httpAddr := net.JoinHostPort(s.httpAddr, strconv.Itoa(s.httpPort))
	wsAddr := net.JoinHostPort(s.wsAddr, strconv.Itoa(s.wsPort))
	shared := s.http && s.ws && httpAddr == wsAddr && s.httpPort != 0
	if s.http {
		cfg := admin.HandlerConfig{HTTP: true, WS: shared, VHosts: splitList(s.httpVHosts), Logger: d.log}
		if shared {
			cfg.WSOrigins = splitList(s.wsOrigins)
		}
		name := "http"
		if shared {
			name = "http+ws"
		}
		if err := d.listen(name, "http", httpAddr, admin.NewHandler(api, cfg)); err != nil {
			return err
		}
	}
	if s.ws && !shared {
		cfg := admin.HandlerConfig{WS: true, WSOrigins: splitList(s.wsOrigins), Logger: d.log}
		if err := d.listen("ws", "ws", wsAddr, admin.NewHandler(api, cfg)); err != nil {
			return err
		}
	}
	if s.metrics || s.pprof {
		mux := http.NewServeMux()
		if s.metrics {
			reg := prometheus.NewRegistry()
			reg.MustRegister(
				collectors.NewGoCollector(),
				collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
				collectors.NewBuildInfoCollector(),
			)
			c, err := metrics.New(d.srv, reg)
			if err != nil {
				return err
			}
			d.collector = c
			h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
			mux.Handle("/metrics", h)
			mux.Handle("/debug/metrics/prometheus", h) // go-ethereum's path
		}
		if s.pprof {
			mux.HandleFunc("/debug/pprof/", pprof.Index)
			mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
			mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
			mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
			mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		}
		addr := net.JoinHostPort(s.metricsAddr, strconv.Itoa(s.metricsPort))
		if err := d.listen("debug", "http", addr, mux); err != nil {
			return err
		}
	}
	return nil
}

// listen opens one endpoint.
func (d *daemon) listen(name, scheme, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s endpoint: %w", name, err)
	}
	ep := &endpoint{
		name: name,
		url:  scheme + "://" + ln.Addr().String() + "/",
		srv:  &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(d.log.Handler(), slog.LevelDebug)},
	}
	ep.rpc, _ = h.(*admin.Handler)
	d.endpoints = append(d.endpoints, ep)
	go ep.srv.Serve(ln)
	switch {
	case name == "debug":
		d.log.Info("Debug listener opened", "url", ep.url)
	default:
		d.log.Info("Admin JSON-RPC endpoint opened", "transport", name, "url", ep.url)
	}
	if !isLoopback(ln.Addr()) {
		d.log.Warn("Endpoint listens beyond localhost: anyone who reaches it can control this node", "transport", name, "addr", ln.Addr())
	}
	return nil
}

// url returns the URL of the named endpoint, or "".
func (d *daemon) url(name string) string {
	for _, ep := range d.endpoints {
		if ep.name == name {
			return ep.url
		}
	}
	return ""
}

// stop closes the endpoints, then stops the server, which tells every
// peer DiscQuitting, and deletes the NAT port mappings.
func (d *daemon) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	for _, ep := range d.endpoints {
		if err := ep.srv.Shutdown(ctx); err != nil {
			ep.srv.Close()
		}
		if ep.rpc != nil {
			ep.rpc.Close()
		}
	}
	d.collector.Close()
	d.srv.Stop()
	d.nat.stop()
	d.log.Info("Node stopped")
}

func isLoopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}

// splitList splits a comma separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
