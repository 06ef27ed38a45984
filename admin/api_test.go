package admin

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/p2p"
)

// TestMain checks that servers, handlers and subscriptions leave no
// goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestAPINotStarted(t *testing.T) {
	api := NewAPI(&p2p.Server{})
	url := "enode://" + strings.Repeat("ab", 64) + "@127.0.0.1:30303"
	check := func(name string, err error) {
		t.Helper()
		if !errors.Is(err, ErrNodeStopped) {
			t.Errorf("%s: err = %v, want %v", name, err, ErrNodeStopped)
		}
	}
	_, err := api.NodeInfo()
	check("NodeInfo", err)
	_, err = api.Peers()
	check("Peers", err)
	_, err = api.AddPeer(url)
	check("AddPeer", err)
	_, err = api.RemovePeer(url)
	check("RemovePeer", err)
	_, err = api.AddTrustedPeer(url)
	check("AddTrustedPeer", err)
	_, err = api.RemoveTrustedPeer(url)
	check("RemoveTrustedPeer", err)
	_, err = api.PeerCount()
	check("PeerCount", err)
	_, err = api.SubscribePeerEvents(make(chan *p2p.PeerEvent))
	check("SubscribePeerEvents", err)
	if api.Listening() {
		t.Error("Listening() = true before Start")
	}
	if ErrNodeStopped.Error() != "node not started" {
		t.Errorf("ErrNodeStopped = %q, want go-ethereum's message", ErrNodeStopped)
	}
}

func TestAPIInvalidEnode(t *testing.T) {
	api := NewAPI(startServer(t))
	for _, url := range []string{"", "enode://zz@1.2.3.4:30303", "http://example.com", "enr:-xyz"} {
		for name, f := range map[string]func(string) (bool, error){
			"AddPeer": api.AddPeer, "RemovePeer": api.RemovePeer,
			"AddTrustedPeer": api.AddTrustedPeer, "RemoveTrustedPeer": api.RemoveTrustedPeer,
		} {
			ok, err := f(url)
			if ok || err == nil || !strings.HasPrefix(err.Error(), "invalid enode: ") {
				t.Errorf("%s(%q) = %v, %v; want error \"invalid enode: ...\"", name, url, ok, err)
			}
		}
	}
}

func TestAPIAddRemovePeer(t *testing.T) {
	srv1, srv2 := startServer(t), startServer(t)
	api1, api2 := NewAPI(srv1), NewAPI(srv2)

	if ok, err := api1.AddPeer(srv2.Self().URLv4()); !ok || err != nil {
		t.Fatalf("AddPeer = %v, %v", ok, err)
	}
	waitFor(t, "peers connected", func() bool {
		n1, _ := api1.PeerCount()
		n2, _ := api2.PeerCount()
		return n1 == 1 && n2 == 1
	})
	peers1, err := api1.Peers()
	if err != nil || len(peers1) != 1 {
		t.Fatalf("Peers = %v, %v", peers1, err)
	}
	p := peers1[0]
	if p.ID != srv2.Self().ID().String() || !p.Network.Static || p.Network.Inbound || p.Network.Trusted {
		t.Errorf("dialing side sees %+v", p)
	}
	peers2, _ := api2.Peers()
	if len(peers2) != 1 || peers2[0].ID != srv1.Self().ID().String() || !peers2[0].Network.Inbound {
		t.Errorf("listening side sees %+v", peers2)
	}

	// Trust is visible at once on a live connection.
	if ok, err := api2.AddTrustedPeer(srv1.Self().URLv4()); !ok || err != nil {
		t.Fatalf("AddTrustedPeer = %v, %v", ok, err)
	}
	if peers2, _ = api2.Peers(); len(peers2) != 1 || !peers2[0].Network.Trusted {
		t.Errorf("after AddTrustedPeer: %+v", peers2)
	}
	if ok, err := api2.RemoveTrustedPeer(srv1.Self().URLv4()); !ok || err != nil {
		t.Fatalf("RemoveTrustedPeer = %v, %v", ok, err)
	}
	if peers2, _ = api2.Peers(); len(peers2) != 1 || peers2[0].Network.Trusted {
		t.Errorf("after RemoveTrustedPeer: %+v", peers2)
	}

	// RemovePeer returns when the peer is gone.
	if ok, err := api1.RemovePeer(srv2.Self().URLv4()); !ok || err != nil {
		t.Fatalf("RemovePeer = %v, %v", ok, err)
	}
	if n, _ := api1.PeerCount(); n != 0 {
		t.Errorf("PeerCount after RemovePeer = %d", n)
	}
}

func TestAPINodeInfo(t *testing.T) {
	srv := startServer(t)
	api := NewAPI(srv)
	info, err := api.NodeInfo()
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != srv.Self().ID().String() || info.Enode != srv.Self().URLv4() || info.Ports.Listener == 0 {
		t.Errorf("NodeInfo = %+v", info)
	}
	if !api.Listening() {
		t.Error("Listening() = false with a listener")
	}
	// The JSON shape is go-ethereum's.
	b, _ := json.Marshal(info)
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, key := range []string{"id", "name", "enode", "enr", "ip", "ports", "listenAddr", "protocols"} {
		if _, ok := m[key]; !ok {
			t.Errorf("NodeInfo JSON lacks %q: %s", key, b)
		}
	}
}

func TestAPINATStatus(t *testing.T) {
	if _, err := NewAPI(&p2p.Server{}).NATStatus(); !errors.Is(err, ErrNodeStopped) {
		t.Errorf("NATStatus before Start: err = %v", err)
	}
	api := NewAPI(startServer(t))
	info, err := api.NATStatus()
	if err != nil || info.Mechanism != "none" || info.Mappings == nil {
		t.Errorf("NATStatus without a source = %+v, %v", info, err)
	}
	api.SetNATStatus(func() *NATInfo {
		return &NATInfo{Spec: "pmp:192.168.1.1", Mechanism: "NAT-PMP(192.168.1.1)", ExternalIP: "203.0.113.7",
			Mappings: []NATMapping{{Protocol: "tcp", InternalPort: 30303, External: "203.0.113.7:30303", Mapped: true, ExpiresInSeconds: 600}}}
	})
	info, err = api.NATStatus()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(info)
	want := `{"spec":"pmp:192.168.1.1","mechanism":"NAT-PMP(192.168.1.1)","externalIP":"203.0.113.7","mappings":[` +
		`{"protocol":"tcp","internalPort":30303,"external":"203.0.113.7:30303","mapped":true,"expiresInSeconds":600,"nextAttemptInSeconds":0,"failures":0}]}`
	if string(b) != want {
		t.Errorf("NATStatus JSON\n%s\nwant\n%s", b, want)
	}
}

func TestQuantity(t *testing.T) {
	for _, tc := range []struct {
		q    Quantity
		text string
	}{{0, "0x0"}, {1, "0x1"}, {255, "0xff"}, {4096, "0x1000"}} {
		b, _ := json.Marshal(tc.q)
		if string(b) != `"`+tc.text+`"` {
			t.Errorf("Marshal(%d) = %s, want %q", tc.q, b, tc.text)
		}
		var q Quantity
		if err := json.Unmarshal(b, &q); err != nil || q != tc.q {
			t.Errorf("Unmarshal(%s) = %d, %v", b, q, err)
		}
	}
	for _, bad := range []string{`"0x"`, `"0x01"`, `"12"`, `"0xg"`} {
		var q Quantity
		if err := json.Unmarshal([]byte(bad), &q); err == nil {
			t.Errorf("Unmarshal(%s) accepted", bad)
		}
	}
}

// Code below here is the framework for the tests above.

// startServer starts a p2p.Server on 127.0.0.1 with a free port; the test
// stops it.
func startServer(t testing.TB) *p2p.Server {
	t.Helper()
	key, err := crypto.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := &p2p.Server{Config: p2p.Config{
		PrivateKey: key,
		Name:       "admin-test",
		ListenAddr: "127.0.0.1:0",
		MaxPeers:   10,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

// waitFor polls cond for up to 10 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
