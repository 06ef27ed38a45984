package admin

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/p2p"
)

func TestAPIDiagnostics(t *testing.T) {
	if _, err := NewAPI(&p2p.Server{}).Diagnostics(); !errors.Is(err, ErrNodeStopped) {
		t.Errorf("Diagnostics before Start: err = %v", err)
	}
	srv := startServer(t)
	api := NewAPI(srv)
	res, err := api.Diagnostics()
	if err != nil {
		t.Fatal(err)
	}
	if !res.Running || res.UptimeSeconds < 0 || res.UptimeSeconds > 60 || res.NAT == nil || res.NAT.Spec != "none" {
		t.Errorf("Diagnostics = %+v", res)
	}
	if res.Inbound.ListenAddr != srv.NodeInfo().ListenAddr || res.Slots.MaxPeers != 10 || !res.Discovery.Enabled {
		t.Errorf("Diagnostics = %+v", res)
	}
	// No peers, no bootnodes, listening on loopback.
	got := diagCodes(res.Findings)
	for _, code := range []string{p2p.FindingNoPeers, p2p.FindingNoBootnodes, p2p.FindingListenLoopback} {
		if !slices.Contains(got, code) {
			t.Errorf("findings %v lack %s", got, code)
		}
	}
	// The JSON has the snapshot's fields at the top level, and nat.
	b, _ := json.Marshal(res)
	var m map[string]json.RawMessage
	json.Unmarshal(b, &m)
	for _, key := range []string{"running", "uptimeSeconds", "slots", "inbound", "dials", "discovery", "bans", "findings", "nat", "handshakeFailures"} {
		if _, ok := m[key]; !ok {
			t.Errorf("JSON lacks %q: %s", key, b)
		}
	}
	var back DiagnosticsResult
	if err := json.Unmarshal(b, &back); err != nil || back.Slots != res.Slots || back.NAT.Spec != "none" || len(back.Findings) != len(res.Findings) {
		t.Errorf("JSON round trip: %+v, %v", back, err)
	}
}

// unreachable is a node up for an hour that nobody has connected to.
func unreachable(nat *NATInfo) *DiagnosticsResult {
	return &DiagnosticsResult{
		Diagnostics: p2p.Diagnostics{
			Running: true, UptimeSeconds: 3600,
			Config:    p2p.DiagConfig{MaxPeers: 50},
			Discovery: p2p.DiagDiscovery{Enabled: true, TableNodes: 100},
			Slots: p2p.DiagSlots{MaxPeers: 50, Peers: 16,
				Inbound: p2p.SlotUse{Cap: 34, Free: 34}, Outbound: p2p.SlotUse{Cap: 16, Used: 16}},
			Inbound: p2p.DiagInbound{ListenAddr: ":30303", SecondsSinceConn: -1, SecondsSincePeer: -1},
		},
		NAT: nat,
	}
}

func TestFindingsNAT(t *testing.T) {
	tests := []struct {
		name  string
		nat   *NATInfo
		codes []string
		msg   string
	}{
		{name: "none", nat: &NATInfo{Spec: "none", Mechanism: "none"},
			codes: []string{p2p.FindingNoInbound},
			msg:   "(NAT: none; try --nat upnp, --nat pmp or --nat any, or forward TCP and UDP 30303 on the router and use --nat extip:<your public IP>)."},
		{name: "no NAT info", nat: nil, codes: []string{p2p.FindingNoInbound}, msg: "forward TCP and UDP 30303 to this host."},
		{name: "extip", nat: &NATInfo{Spec: "extip:203.0.113.7", Mechanism: "ExtIP(203.0.113.7)", ExternalIP: "203.0.113.7"},
			codes: []string{p2p.FindingNoInbound}, msg: "(NAT: extip:203.0.113.7; check that the router forwards TCP and UDP 30303"},
		{name: "no gateway", nat: &NATInfo{Spec: "any", Mechanism: "any",
			Mappings: []NATMapping{{Protocol: "tcp", InternalPort: 30303, Failures: 2, LastError: "no gateway found", NextAttemptInSeconds: 60}}},
			codes: []string{p2p.FindingNoInbound, FindingNATNoGateway, FindingNATMappingFailed},
			msg:   "The NAT port mapping of TCP 30303 fails (2 attempts, last: no gateway found); next attempt in 60 s."},
		{name: "mapped but silent", nat: &NATInfo{Spec: "upnp", Mechanism: "UPnP(IGDv2 at 192.168.1.1)", ExternalIP: "100.64.0.9",
			Mappings: []NATMapping{{Protocol: "tcp", InternalPort: 30303, External: "100.64.0.9:30303", Mapped: true}}},
			codes: []string{p2p.FindingNoInbound}, msg: "maps TCP to 100.64.0.9:30303, yet nothing arrives: a second NAT (carrier-grade NAT)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := Findings(unreachable(tc.nat), nil)
			if got := diagCodes(fs); !slices.Equal(got, tc.codes) {
				t.Fatalf("codes %v, want %v", got, tc.codes)
			}
			all := ""
			for _, f := range fs {
				all += f.Message + "\n"
			}
			if !strings.Contains(all, tc.msg) {
				t.Errorf("no message contains %q:\n%s", tc.msg, all)
			}
		})
	}
	// A reachable node gets no NAT advice; a mapping failure is still told.
	d := unreachable(&NATInfo{Spec: "pmp", Mechanism: "NAT-PMP(192.168.1.1)",
		Mappings: []NATMapping{{Protocol: "udp", InternalPort: 30303, Failures: 1}}})
	d.Inbound.SecondsSinceConn, d.Inbound.SecondsSincePeer = 3, 3
	if got := diagCodes(Findings(d, nil)); !slices.Equal(got, []string{FindingNATMappingFailed, p2p.FindingOK}) {
		t.Errorf("reachable node: %v", got)
	}
}

func TestParseBanTarget(t *testing.T) {
	key, _ := crypto.GenerateKey(nil)
	pub := key.Public()
	id := enode.PubkeyToIDV4(pub)
	n := enode.NewV4(pub, netip.MustParseAddr("192.0.2.5"), 30303, 30303)
	hexKey := strings.TrimPrefix(strings.SplitN(n.URLv4(), "@", 2)[0], "enode://")
	for _, tc := range []struct {
		in   string
		want BanTarget
		err  string
	}{
		{in: n.URLv4(), want: BanTarget{ID: id}},
		{in: n.String(), want: BanTarget{ID: id}},
		{in: id.String(), want: BanTarget{ID: id}},
		{in: "0x" + id.String(), want: BanTarget{ID: id}},
		{in: " " + strings.ToUpper(id.String()) + " ", want: BanTarget{ID: id}},
		{in: hexKey, want: BanTarget{ID: id}},
		{in: "192.0.2.5", want: BanTarget{IP: netip.MustParseAddr("192.0.2.5")}},
		{in: "::ffff:192.0.2.5", want: BanTarget{IP: netip.MustParseAddr("192.0.2.5")}},
		{in: "2001:db8::1", want: BanTarget{IP: netip.MustParseAddr("2001:db8::1")}},
		{in: "", err: `invalid ban target "": want an enode URL`},
		{in: "0.0.0.0", err: "not a single host address"},
		{in: "fe80::1%eth0", err: "not a single host address"},
		{in: "192.0.2.0/24", err: "invalid ban target"},
		{in: "example.com", err: "invalid ban target"},
		{in: id.String()[:63], err: "invalid ban target"},
		{in: strings.Repeat("1b", 64), err: "invalid enode: invalid public key"},
		{in: "enode://xyz@127.0.0.1:1", err: "invalid enode: "},
		{in: "enr:-xyz", err: "invalid enode: "},
	} {
		got, err := ParseBanTarget(tc.in)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("ParseBanTarget(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseBanTarget(%q) = %v, %v; want error %q", tc.in, got, err, tc.err)
		}
	}
}

func TestAPIBans(t *testing.T) {
	stopped := NewAPI(&p2p.Server{})
	if _, err := stopped.BanPeer("192.0.2.1", time.Hour, ""); !errors.Is(err, ErrNodeStopped) {
		t.Errorf("BanPeer before Start: %v", err)
	}
	if _, err := stopped.UnbanPeer("192.0.2.1"); !errors.Is(err, ErrNodeStopped) {
		t.Errorf("UnbanPeer before Start: %v", err)
	}
	if _, err := stopped.ListBans(); !errors.Is(err, ErrNodeStopped) {
		t.Errorf("ListBans before Start: %v", err)
	}

	srv1, srv2 := startServer(t), startServer(t)
	api1, api2 := NewAPI(srv1), NewAPI(srv2)
	if bans, err := api2.ListBans(); err != nil || bans == nil || len(bans) != 0 {
		t.Fatalf("ListBans = %v, %v; want an empty list", bans, err)
	}
	api1.AddPeer(srv2.Self().URLv4())
	waitFor(t, "peers connected", func() bool { return srv1.PeerCount() == 1 && srv2.PeerCount() == 1 })

	// Banning a connected peer disconnects it, and its redials fail.
	if ok, err := api2.BanPeer(srv1.Self().URLv4(), time.Hour, "  misbehaved "); !ok || err != nil {
		t.Fatalf("BanPeer = %v, %v", ok, err)
	}
	waitFor(t, "banned peer gone", func() bool { return srv2.PeerCount() == 0 })
	if ok, err := api2.BanPeer("192.0.2.9", 90*time.Second, strings.Repeat("x", 300)); !ok || err != nil {
		t.Fatalf("BanPeer(IP) = %v, %v", ok, err)
	}
	bans, err := api2.ListBans()
	if err != nil || len(bans) != 2 {
		t.Fatalf("ListBans = %+v, %v", bans, err)
	}
	if b := bans[0]; b.ID != srv1.Self().ID().String() || b.IP != "" || b.Reason != "misbehaved" || b.ExpiresInSeconds < 3590 || b.Auto {
		t.Errorf("ID ban %+v", b)
	}
	if b := bans[1]; b.IP != "192.0.2.9" || b.ID != "" || len(b.Reason) != 200 || b.ExpiresInSeconds > 90 || b.ExpiresInSeconds < 80 {
		t.Errorf("IP ban %+v", b)
	}
	if d, _ := api2.Diagnostics(); d.Bans.IDs != 1 || d.Bans.IPs != 1 {
		t.Errorf("diagnostics bans %+v", d.Bans)
	}

	// Bad input.
	for _, tc := range []struct {
		target string
		ttl    time.Duration
		err    string
	}{
		{srv2.Self().ID().String(), time.Hour, "cannot ban the local node"},
		{"192.0.2.1", 0, "invalid ban duration 0 s: want 1 to 315360000 seconds"},
		{"192.0.2.1", 500 * time.Millisecond, "invalid ban duration 0 s"},
		{"192.0.2.1", MaxBanTTL + time.Second, "invalid ban duration 315360001 s"},
		{"nonsense", time.Hour, "invalid ban target"},
	} {
		if ok, err := api2.BanPeer(tc.target, tc.ttl, ""); ok || err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("BanPeer(%q, %v) = %v, %v; want error %q", tc.target, tc.ttl, ok, err, tc.err)
		}
	}

	// Unban. (Both sides back off from redialing after the disconnect, so
	// the peer does not come back at once.)
	if ok, err := api2.UnbanPeer(srv1.Self().ID().String()); !ok || err != nil {
		t.Fatalf("UnbanPeer = %v, %v", ok, err)
	}
	if ok, err := api2.UnbanPeer(srv1.Self().ID().String()); ok || err != nil {
		t.Errorf("second UnbanPeer = %v, %v; want false", ok, err)
	}
	if _, err := api2.UnbanPeer("x"); err == nil {
		t.Error("UnbanPeer(\"x\") accepted")
	}
	if bans, _ := api2.ListBans(); len(bans) != 1 || bans[0].IP != "192.0.2.9" {
		t.Errorf("after unban: %+v", bans)
	}
}

// The ban and diagnostics methods over HTTP, with their errors.
func TestHTTPDiagAndBans(t *testing.T) {
	srv := startServer(t)
	h := NewHandler(NewAPI(srv), HandlerConfig{HTTP: true})
	hs := httptest.NewServer(h)
	t.Cleanup(func() { h.Close(); hs.Close() })
	url := hs.URL + "/"
	self := srv.Self().ID().String()

	for _, tc := range []struct {
		name    string
		body    string
		want    string // substring of the result
		code    int
		message string
	}{
		{name: "diagnostics", body: `{"jsonrpc":"2.0","id":1,"method":"admin_diagnostics"}`, want: `"nat":{"spec":"none"`},
		{name: "diagnostics findings", body: `{"jsonrpc":"2.0","id":1,"method":"admin_diagnostics","params":[]}`, want: `"code":"no-peers"`},
		{name: "ban IP", body: `{"jsonrpc":"2.0","id":1,"method":"admin_banPeer","params":["192.0.2.1",60,"spam"]}`, want: `true`},
		{name: "ban default ttl", body: `{"jsonrpc":"2.0","id":1,"method":"admin_banPeer","params":["192.0.2.2"]}`, want: `true`},
		{name: "ban null ttl", body: `{"jsonrpc":"2.0","id":1,"method":"admin_banPeer","params":["192.0.2.3",null,"r"]}`, want: `true`},
		{name: "list", body: `{"jsonrpc":"2.0","id":1,"method":"admin_listBans"}`, want: `"ip":"192.0.2.1","until":`},
		{name: "list reason", body: `{"jsonrpc":"2.0","id":1,"method":"admin_listBans"}`, want: `"reason":"spam"`},
		{name: "unban", body: `{"jsonrpc":"2.0","id":1,"method":"admin_unbanPeer","params":["192.0.2.1"]}`, want: `true`},
		{name: "unban again", body: `{"jsonrpc":"2.0","id":1,"method":"admin_unbanPeer","params":["192.0.2.1"]}`, want: `false`},
		{name: "ban self", body: `{"jsonrpc":"2.0","id":1,"method":"admin_banPeer","params":["` + self + `",60]}`,
			code: -32000, message: "cannot ban the local node"},
		{name: "ban bad target", body: `{"jsonrpc":"2.0","id":1,"method":"admin_banPeer","params":["foo",60]}`,
			code: -32000, message: `invalid ban target "foo": want an enode URL, a node ID (64 hex digits) or an IP address`},
		{name: "ban bad enode", body: `{"jsonrpc":"2.0","id":1,"method":"admin_banPeer","params":["enode://xyz@127.0.0.1:1"]}`,
			code: -32000, message: "invalid enode: "},
		{name: "ban zero ttl", body: `{"jsonrpc":"2.0","id":1,"method":"admin_banPeer","params":["192.0.2.1",0]}`,
			code: -32000, message: "invalid ban duration 0 s: want 1 to 315360000 seconds"},
		{name: "ban huge ttl", body: `{"jsonrpc":"2.0","id":1,"method":"admin_banPeer","params":["192.0.2.1",99999999999999]}`,
			code: -32000, message: "invalid ban duration 99999999999999 s"},
		{name: "ban fractional ttl", body: `{"jsonrpc":"2.0","id":1,"method":"admin_banPeer","params":["192.0.2.1",1.5]}`,
			code: -32602, message: "invalid argument 1: "},
		{name: "ban string ttl", body: `{"jsonrpc":"2.0","id":1,"method":"admin_banPeer","params":["192.0.2.1","1h"]}`,
			code: -32602, message: "invalid argument 1: "},
		{name: "ban no target", body: `{"jsonrpc":"2.0","id":1,"method":"admin_banPeer","params":[]}`,
			code: -32602, message: "missing value for required argument 0"},
		{name: "ban too many", body: `{"jsonrpc":"2.0","id":1,"method":"admin_banPeer","params":["192.0.2.1",1,"r",4]}`,
			code: -32602, message: "too many arguments, want at most 3"},
		{name: "ban object", body: `{"jsonrpc":"2.0","id":1,"method":"admin_banPeer","params":{"target":"192.0.2.1"}}`,
			code: -32602, message: "non-array args"},
		{name: "unban missing", body: `{"jsonrpc":"2.0","id":1,"method":"admin_unbanPeer"}`,
			code: -32602, message: "missing value for required argument 0"},
		{name: "unban bad", body: `{"jsonrpc":"2.0","id":1,"method":"admin_unbanPeer","params":["1.2.3"]}`,
			code: -32000, message: "invalid ban target"},
		{name: "list args", body: `{"jsonrpc":"2.0","id":1,"method":"admin_listBans","params":[1]}`,
			code: -32602, message: "too many arguments, want at most 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r rpcResponse
			if err := json.Unmarshal(postJSON(t, url, tc.body), &r); err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.code == 0 && r.Error != nil:
				t.Fatalf("error %d %q", r.Error.Code, r.Error.Message)
			case tc.code == 0 && !strings.Contains(string(r.Result), tc.want):
				t.Fatalf("result %s does not contain %s", r.Result, tc.want)
			case tc.code != 0 && r.Error == nil:
				t.Fatalf("result %s, want error %d", r.Result, tc.code)
			case tc.code != 0 && (r.Error.Code != tc.code || !strings.HasPrefix(r.Error.Message, tc.message)):
				t.Fatalf("error %d %q, want %d %q…", r.Error.Code, r.Error.Message, tc.code, tc.message)
			}
		})
	}
	if !slices.Contains(MethodNames(), "admin_diagnostics") || !slices.Contains(MethodNames(), "admin_listBans") {
		t.Errorf("MethodNames() = %v", MethodNames())
	}
}

func diagCodes(fs []p2p.Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Code
	}
	return out
}
