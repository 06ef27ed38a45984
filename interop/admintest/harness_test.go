package admintest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	gethcrypto "github.com/ethereum/go-ethereum/crypto"
	gethlog "github.com/ethereum/go-ethereum/log"
	gethp2p "github.com/ethereum/go-ethereum/p2p"
	gethenode "github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/devp2p-go/devp2p/admin"
	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/p2p"
)

// The protocol both kinds of node run, so that they become peers.
const (
	protoName    = "test"
	protoVersion = 1
	protoLength  = 2

	// waitTimeout bounds every wait for something that happens at once.
	waitTimeout = 15 * time.Second
)

// ourNode is our p2p.Server with the admin API served over HTTP and
// WebSocket on one loopback listener, as devp2pd serves it.
type ourNode struct {
	srv     *p2p.Server
	httpURL string
	wsURL   string
}

// startOurs starts our server and its admin endpoint; the test stops both.
func startOurs(t *testing.T) *ourNode {
	t.Helper()
	key, err := crypto.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	discard := slog.New(slog.DiscardHandler)
	srv := &p2p.Server{Config: p2p.Config{
		PrivateKey:  key,
		Name:        "devp2p-admintest",
		ListenAddr:  "127.0.0.1:0",
		MaxPeers:    10,
		NoDiscovery: true,
		Protocols: []p2p.Protocol{{
			Name:    protoName,
			Version: protoVersion,
			Length:  protoLength,
			Run: func(_ *p2p.Peer, rw p2p.MsgReadWriter) error {
				for {
					msg, err := rw.ReadMsg()
					if err != nil {
						return err
					}
					msg.Discard()
				}
			},
			NodeInfo: func() any { return map[string]any{"version": protoVersion} },
			PeerInfo: func(id enode.ID) any { return map[string]any{"peer": id.String()} },
		}},
		Logger: discard,
	}}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	h := admin.NewHandler(admin.NewAPI(srv), admin.HandlerConfig{HTTP: true, WS: true, Logger: discard})
	hs := httptest.NewServer(h)
	t.Cleanup(func() { h.Close(); hs.Close() }) // before srv.Stop
	return &ourNode{
		srv:     srv,
		httpURL: hs.URL + "/",
		wsURL:   "ws://" + strings.TrimPrefix(hs.URL, "http://") + "/",
	}
}

func (n *ourNode) enode() string { return n.srv.Self().URLv4() }

// gethNode is go-ethereum's p2p.Server with go-ethereum's admin API
// served by go-ethereum's rpc.Server over HTTP and WebSocket: the
// reference for results and errors, and a peer. The API is refAdmin, a
// copy of go-ethereum's node.adminAPI (package node itself would pull in
// go-ethereum's databases).
type gethNode struct {
	srv     *gethp2p.Server
	httpURL string
	wsURL   string
}

// startGeth starts a go-ethereum server and its admin endpoint; the test
// stops both.
func startGeth(t *testing.T) *gethNode {
	t.Helper()
	key, err := gethcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	srv := &gethp2p.Server{Config: gethp2p.Config{
		PrivateKey:  key,
		Name:        "geth-admintest",
		MaxPeers:    10,
		ListenAddr:  "127.0.0.1:0",
		NoDiscovery: true,
		Protocols: []gethp2p.Protocol{{
			Name:    protoName,
			Version: protoVersion,
			Length:  protoLength,
			Run: func(_ *gethp2p.Peer, rw gethp2p.MsgReadWriter) error {
				for {
					msg, err := rw.ReadMsg()
					if err != nil {
						return err
					}
					msg.Discard()
				}
			},
		}},
		Logger: gethlog.NewLogger(slog.DiscardHandler),
	}}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	rpcSrv := rpc.NewServer()
	if err := rpcSrv.RegisterName("admin", &refAdmin{srv}); err != nil {
		t.Fatal(err)
	}
	// go-ethereum serves HTTP and WebSocket on one port this way too.
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			rpcSrv.WebsocketHandler([]string{"*"}).ServeHTTP(w, r)
			return
		}
		rpcSrv.ServeHTTP(w, r)
	})
	hs := httptest.NewServer(h)
	t.Cleanup(func() { rpcSrv.Stop(); hs.Close() }) // before srv.Stop
	return &gethNode{
		srv:     srv,
		httpURL: hs.URL + "/",
		wsURL:   "ws://" + strings.TrimPrefix(hs.URL, "http://") + "/",
	}
}

func (g *gethNode) enode() string    { return g.srv.Self().URLv4() }
func (g *gethNode) id() gethenode.ID { return g.srv.Self().ID() }

// refAdmin is go-ethereum's admin API (node/api.go, v1.17.10: adminAPI)
// with the node replaced by its p2p server; the method bodies are
// go-ethereum's.
type refAdmin struct {
	server *gethp2p.Server
}

func (api *refAdmin) AddPeer(url string) (bool, error) {
	node, err := gethenode.Parse(gethenode.ValidSchemes, url)
	if err != nil {
		return false, fmt.Errorf("invalid enode: %v", err)
	}
	api.server.AddPeer(node)
	return true, nil
}

func (api *refAdmin) RemovePeer(url string) (bool, error) {
	node, err := gethenode.Parse(gethenode.ValidSchemes, url)
	if err != nil {
		return false, fmt.Errorf("invalid enode: %v", err)
	}
	api.server.RemovePeer(node)
	return true, nil
}

func (api *refAdmin) AddTrustedPeer(url string) (bool, error) {
	node, err := gethenode.Parse(gethenode.ValidSchemes, url)
	if err != nil {
		return false, fmt.Errorf("invalid enode: %v", err)
	}
	api.server.AddTrustedPeer(node)
	return true, nil
}

func (api *refAdmin) RemoveTrustedPeer(url string) (bool, error) {
	node, err := gethenode.Parse(gethenode.ValidSchemes, url)
	if err != nil {
		return false, fmt.Errorf("invalid enode: %v", err)
	}
	api.server.RemoveTrustedPeer(node)
	return true, nil
}

func (api *refAdmin) PeerEvents(ctx context.Context) (*rpc.Subscription, error) {
	notifier, supported := rpc.NotifierFromContext(ctx)
	if !supported {
		return nil, rpc.ErrNotificationsUnsupported
	}
	rpcSub := notifier.CreateSubscription()
	go func() {
		events := make(chan *gethp2p.PeerEvent)
		sub := api.server.SubscribeEvents(events)
		defer sub.Unsubscribe()
		for {
			select {
			case event := <-events:
				notifier.Notify(rpcSub.ID, event)
			case <-sub.Err():
				return
			case <-rpcSub.Err():
				return
			}
		}
	}()
	return rpcSub, nil
}

func (api *refAdmin) Peers() ([]*gethp2p.PeerInfo, error) {
	return api.server.PeersInfo(), nil
}

func (api *refAdmin) NodeInfo() (*gethp2p.NodeInfo, error) {
	return api.server.NodeInfo(), nil
}

// transports are the two ways go-ethereum's client reaches an endpoint.
var transports = []string{"http", "ws"}

// dial connects go-ethereum's rpc client to an endpoint over transport;
// the test closes it.
func dial(t *testing.T, transport, httpURL, wsURL string) *rpc.Client {
	t.Helper()
	var (
		c   *rpc.Client
		err error
	)
	switch transport {
	case "http":
		c, err = rpc.DialHTTP(httpURL)
	case "ws":
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		c, err = rpc.DialWebsocket(ctx, wsURL, "")
	}
	if err != nil {
		t.Fatalf("dial %s: %v", transport, err)
	}
	t.Cleanup(c.Close)
	return c
}

func (n *ourNode) dial(t *testing.T, transport string) *rpc.Client {
	return dial(t, transport, n.httpURL, n.wsURL)
}

func (g *gethNode) dial(t *testing.T, transport string) *rpc.Client {
	return dial(t, transport, g.httpURL, g.wsURL)
}

// call makes a call with a timeout and fails the test on error.
func call(t *testing.T, c *rpc.Client, result any, method string, args ...any) {
	t.Helper()
	if err := callErr(c, result, method, args...); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
}

func callErr(c *rpc.Client, result any, method string, args ...any) error {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	return c.CallContext(ctx, result, method, args...)
}

// rpcErr is a JSON-RPC error as go-ethereum's client surfaces it.
type rpcErr struct {
	code int
	msg  string
}

// asRPCErr returns the code and message of a JSON-RPC error returned by
// the server; ok is false for any other error (transport, decoding).
func asRPCErr(err error) (e rpcErr, ok bool) {
	var re rpc.Error
	if !errors.As(err, &re) {
		return rpcErr{}, false
	}
	return rpcErr{re.ErrorCode(), re.Error()}, true
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// peersOf returns admin_peers decoded into go-ethereum's type.
func peersOf(t *testing.T, c *rpc.Client) []*gethp2p.PeerInfo {
	t.Helper()
	var peers []*gethp2p.PeerInfo
	call(t, c, &peers, "admin_peers")
	return peers
}

// findPeer returns the peer with id, or nil.
func findPeer(peers []*gethp2p.PeerInfo, id string) *gethp2p.PeerInfo {
	for _, p := range peers {
		if p.ID == id {
			return p
		}
	}
	return nil
}

// mustParse parses an enode URL with our parser.
func mustParse(t *testing.T, url string) *enode.Node {
	t.Helper()
	n, err := enode.Parse(enode.ValidSchemes, url)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
