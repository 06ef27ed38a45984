package admintest

import (
	"context"
	"encoding/hex"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	gethp2p "github.com/ethereum/go-ethereum/p2p"
	gethenode "github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/ethereum/go-ethereum/rpc"
)

// admin_nodeInfo decodes into go-ethereum's p2p.NodeInfo, whose enode URL
// and record go-ethereum parses back to our node.
func TestGethAdminAPINodeInfo(t *testing.T) {
	ours := startOurs(t)
	self := ours.srv.Self()
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			c := ours.dial(t, tr)
			var info gethp2p.NodeInfo
			call(t, c, &info, "admin_nodeInfo")
			if info.ID != self.ID().String() || info.Name != "devp2p-admintest" || info.Enode != self.URLv4() || info.ENR != self.String() {
				t.Errorf("admin_nodeInfo = %+v", info)
			}
			if info.IP != "127.0.0.1" || info.Ports.Listener != self.TCP() || info.Ports.Discovery != 0 || info.ListenAddr != ours.srv.NodeInfo().ListenAddr {
				t.Errorf("admin_nodeInfo address: ip %q ports %+v listenAddr %q", info.IP, info.Ports, info.ListenAddr)
			}
			if proto, ok := info.Protocols[protoName].(map[string]any); !ok || proto["version"] != float64(protoVersion) {
				t.Errorf("admin_nodeInfo protocols = %#v", info.Protocols)
			}
			// go-ethereum reads our URL and record as the same node.
			for _, s := range []string{info.Enode, info.ENR} {
				n, err := gethenode.Parse(gethenode.ValidSchemes, s)
				if err != nil {
					t.Errorf("go-ethereum can't parse %q: %v", s, err)
					continue
				}
				if n.ID().String() != info.ID || n.TCP() != info.Ports.Listener {
					t.Errorf("go-ethereum parses %q as %v tcp %d", s, n.ID(), n.TCP())
				}
			}
			var listening bool
			call(t, c, &listening, "net_listening")
			if !listening {
				t.Error("net_listening = false")
			}
		})
	}
}

// admin_peers decodes into go-ethereum's []*p2p.PeerInfo and describes a
// go-ethereum peer as that peer describes itself; net_peerCount decodes
// into hexutil.Uint.
func TestGethAdminAPIPeers(t *testing.T) {
	ours, geth, other := startOurs(t), startGeth(t), startOurs(t)
	ours.srv.AddPeer(mustParse(t, geth.enode())) // static, outbound
	other.srv.AddPeer(ours.srv.Self())           // inbound
	c := ours.dial(t, "http")
	waitFor(t, "two peers", func() bool { return len(peersOf(t, c)) == 2 })

	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			c := ours.dial(t, tr)
			peers := peersOf(t, c)
			if len(peers) != 2 {
				t.Fatalf("admin_peers has %d peers", len(peers))
			}
			g := findPeer(peers, geth.id().String())
			if g == nil {
				t.Fatalf("admin_peers lacks the go-ethereum peer: %+v", peers)
			}
			gself := geth.srv.Self()
			if g.Enode != gself.URLv4() || g.Name != geth.srv.Name || !reflect.DeepEqual(g.Caps, []string{"test/1"}) {
				t.Errorf("go-ethereum peer: enode %q name %q caps %v; it says enode %q name %q", g.Enode, g.Name, g.Caps, gself.URLv4(), geth.srv.Name)
			}
			if g.ENR != "" {
				// As in go-ethereum: a peer dialed by its enode URL has no
				// record (sequence number 0), so there is no "enr".
				t.Errorf("go-ethereum peer's ENR %q, want none", g.ENR)
			}
			if g.Network.Inbound || !g.Network.Static || g.Network.Trusted {
				t.Errorf("go-ethereum peer network %+v, want outbound static", g.Network)
			}
			checkAddrs(t, g)
			if info, ok := g.Protocols[protoName].(map[string]any); !ok || info["peer"] != g.ID {
				t.Errorf("go-ethereum peer protocols %#v", g.Protocols)
			}
			// An inbound peer's URL has the address it connected from, in
			// both implementations.
			o := findPeer(peers, other.srv.Self().ID().String())
			if o == nil || !o.Network.Inbound || o.Network.Static || o.Name != "devp2p-admintest" || o.ENR != "" ||
				o.Enode != "enode://"+hex.EncodeToString(other.srv.Self().Pubkey()[:])+"@"+o.Network.RemoteAddress {
				t.Errorf("inbound peer %+v", o)
			}

			var count hexutil.Uint
			call(t, c, &count, "net_peerCount")
			if count != 2 {
				t.Errorf("net_peerCount = %d", count)
			}
		})
	}

	// The go-ethereum node's own admin_peers shows us the same way.
	gc := geth.dial(t, "http")
	us := findPeer(peersOf(t, gc), ours.srv.Self().ID().String())
	if us == nil || us.Name != "devp2p-admintest" || !us.Network.Inbound || us.ENR != "" ||
		us.Enode != "enode://"+hex.EncodeToString(ours.srv.Self().Pubkey()[:])+"@"+us.Network.RemoteAddress {
		t.Errorf("go-ethereum's admin_peers shows us as %+v", us)
	}
}

// checkAddrs checks that a peer's endpoints are loopback host:port pairs.
func checkAddrs(t *testing.T, p *gethp2p.PeerInfo) {
	t.Helper()
	for _, a := range []string{p.Network.LocalAddress, p.Network.RemoteAddress} {
		if ap, err := netip.ParseAddrPort(a); err != nil || !ap.Addr().IsLoopback() {
			t.Errorf("peer address %q: %v", a, err)
		}
	}
}

// admin_addPeer, admin_removePeer, admin_addTrustedPeer and
// admin_removeTrustedPeer through go-ethereum's client, with a go-ethereum
// peer and one of ours.
//
// Each transport gets fresh peers: both implementations keep a node they
// dialed out of the dial queue for a while (go-ethereum: 35 s).
func TestGethAdminAPIAddRemovePeer(t *testing.T) {
	ours := startOurs(t)
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			geth, other := startGeth(t), startOurs(t)
			c := ours.dial(t, tr)
			var ok bool
			call(t, c, &ok, "admin_addPeer", geth.enode())
			if !ok {
				t.Fatal("admin_addPeer = false")
			}
			waitFor(t, "the go-ethereum peer", func() bool {
				p := findPeer(peersOf(t, c), geth.id().String())
				return p != nil && p.Network.Static
			})

			// A trusted peer is marked so when it connects.
			call(t, c, &ok, "admin_addTrustedPeer", other.enode())
			other.srv.AddPeer(ours.srv.Self())
			waitFor(t, "the trusted peer", func() bool {
				p := findPeer(peersOf(t, c), other.srv.Self().ID().String())
				return p != nil && p.Network.Trusted && p.Network.Inbound
			})
			call(t, c, &ok, "admin_removeTrustedPeer", other.enode())
			if p := findPeer(peersOf(t, c), other.srv.Self().ID().String()); p == nil || p.Network.Trusted {
				t.Errorf("after admin_removeTrustedPeer: %+v", p)
			}
			other.srv.RemovePeer(ours.srv.Self())
			waitFor(t, "the other peer gone", func() bool {
				return findPeer(peersOf(t, c), other.srv.Self().ID().String()) == nil
			})

			// admin_removePeer returns when the peer is gone.
			call(t, c, &ok, "admin_removePeer", geth.enode())
			var count hexutil.Uint
			call(t, c, &count, "net_peerCount")
			if !ok || count != 0 {
				t.Errorf("after admin_removePeer: result %v, net_peerCount %d", ok, count)
			}
			waitFor(t, "go-ethereum to see the drop", func() bool { return geth.srv.PeerCount() == 0 })
		})
	}
}

// admin_peerEvents through go-ethereum's Subscribe over WebSocket: add
// and drop events decode into go-ethereum's p2p.PeerEvent.
func TestGethAdminAPIPeerEvents(t *testing.T) {
	ours, geth := startOurs(t), startGeth(t)
	c := ours.dial(t, "ws")
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	events := make(chan *gethp2p.PeerEvent, 16)
	sub, err := c.Subscribe(ctx, "admin", events, "peerEvents")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	var ok bool
	call(t, c, &ok, "admin_addPeer", geth.enode())
	add := waitEvent(t, sub, events, gethp2p.PeerEventTypeAdd)
	if add.Peer != geth.id() {
		t.Errorf("add event for %v, want %v", add.Peer, geth.id())
	}
	for _, a := range []string{add.LocalAddress, add.RemoteAddress} {
		if _, err := netip.ParseAddrPort(a); err != nil {
			t.Errorf("add event address %q: %v", a, err)
		}
	}
	call(t, c, &ok, "admin_removePeer", geth.enode())
	drop := waitEvent(t, sub, events, gethp2p.PeerEventTypeDrop)
	if drop.Peer != geth.id() || drop.Error == "" {
		t.Errorf("drop event %+v", drop)
	}

	// A second subscription on the same connection, then its unsubscribe:
	// the first still gets events. (Another peer: a node just dialed is
	// not dialed again for a while.)
	events2 := make(chan *gethp2p.PeerEvent, 16)
	sub2, err := c.Subscribe(ctx, "admin", events2, "peerEvents")
	if err != nil {
		t.Fatal(err)
	}
	sub2.Unsubscribe()
	geth2 := startGeth(t)
	call(t, c, &ok, "admin_addPeer", geth2.enode())
	if ev := waitEvent(t, sub, events, gethp2p.PeerEventTypeAdd); ev.Peer != geth2.id() {
		t.Errorf("add event of the second peer: %+v", ev)
	}

	// Over HTTP go-ethereum's client refuses before sending.
	hc := ours.dial(t, "http")
	if _, err := hc.Subscribe(ctx, "admin", make(chan *gethp2p.PeerEvent), "peerEvents"); err != rpc.ErrNotificationsUnsupported {
		t.Errorf("Subscribe over HTTP: %v", err)
	}
}

func waitEvent(t *testing.T, sub *rpc.ClientSubscription, ch <-chan *gethp2p.PeerEvent, typ gethp2p.PeerEventType) *gethp2p.PeerEvent {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		select {
		case ev := <-ch:
			if ev.Type == typ {
				return ev
			}
		case err := <-sub.Err():
			t.Fatalf("subscription ended waiting for %s: %v", typ, err)
		case <-timeout:
			t.Fatalf("no %s event", typ)
		}
	}
}

// validKey is a public key on the curve, in enode URL form.
const validKey = "1dd9d65c4552b5eb43d5ad55a2ee3f56c6cbc1c64a5c8d659f51fcd51bace24351232b8d7821617d2b29b54b81cdefb9b3e9c37d7fd5f63270bcc9e1a6f6a439"

// errorCalls are bad requests made through go-ethereum's client. Each goes
// to our endpoint and to go-ethereum's; the code and message must be the
// same, except for the parser's words in an invalid enode.
var errorCalls = []struct {
	name     string
	method   string
	args     []any
	ws, http bool   // one transport only
	parser   bool   // the text after "invalid enode: " is each library's URL parser's own …
	why      string // … and differs so
}{
	{name: "missing argument", method: "admin_addPeer"},
	{name: "wrong type", method: "admin_addPeer", args: []any{7}},
	{name: "object argument", method: "admin_removePeer", args: []any{map[string]any{"url": "x"}}},
	{name: "too many arguments", method: "admin_peers", args: []any{1}},
	{name: "too many for addPeer", method: "admin_addTrustedPeer", args: []any{"enode://" + validKey + "@127.0.0.1:1", 2}},
	{name: "unknown method", method: "admin_frobnicate"},
	{name: "unknown namespace", method: "eth_blockNumber"},
	{name: "bad hex", method: "admin_addPeer", args: []any{"enode://xyz@127.0.0.1:1"}},
	{name: "not a URL", method: "admin_addTrustedPeer", args: []any{"http://example.com"}, parser: true,
		why: `ours: "enr: missing 'enr:' prefix …", go-ethereum's lacks the "enr: "`},
	{name: "short key", method: "admin_removeTrustedPeer", args: []any{"enode://abcd@127.0.0.1:1"}},
	{name: "bad port", method: "admin_addPeer", args: []any{"enode://" + validKey + "@127.0.0.1:99999"}},
	{name: "key not on curve", method: "admin_addPeer", args: []any{"enode://" + strings.Repeat("1b", 32) + strings.Repeat("2c", 32) + "@127.0.0.1:1"}},
	{name: "bad record", method: "admin_addPeer", args: []any{"enr:-xyz"}, parser: true,
		why: `ours: "enr: unexpected EOF", go-ethereum: "rlp: value size exceeds available input length"`},
	{name: "null argument", method: "admin_addPeer", args: []any{nil}},
	{name: "subscribe over HTTP", method: "admin_subscribe", args: []any{"peerEvents"}, http: true},
	{name: "unknown subscription", method: "admin_subscribe", args: []any{"frobEvents"}, ws: true},
	{name: "subscription without params", method: "admin_subscribe", ws: true},
	{name: "subscription without name", method: "admin_subscribe", args: []any{}, ws: true},
	{name: "subscription name not a string", method: "admin_subscribe", args: []any{5}, ws: true},
	{name: "unsubscribe unknown", method: "admin_unsubscribe", args: []any{"0x0123456789abcdef0123456789abcdef"}, ws: true},
}

// Bad requests give JSON-RPC errors that go-ethereum's client surfaces
// with go-ethereum's codes and messages.
func TestGethAdminAPIErrors(t *testing.T) {
	ours, geth := startOurs(t), startGeth(t)
	for _, tr := range transports {
		oc, gc := ours.dial(t, tr), geth.dial(t, tr)
		for _, tc := range errorCalls {
			if (tc.ws && tr != "ws") || (tc.http && tr != "http") {
				continue
			}
			t.Run(tr+"/"+tc.name, func(t *testing.T) {
				var res any
				oerr := callErr(oc, &res, tc.method, tc.args...)
				got, ok := asRPCErr(oerr)
				if !ok {
					t.Fatalf("ours: %v (result %v), want a JSON-RPC error", oerr, res)
				}
				gerr := callErr(gc, &res, tc.method, tc.args...)
				ref, ok := asRPCErr(gerr)
				if !ok {
					t.Fatalf("go-ethereum: %v (result %v), want a JSON-RPC error", gerr, res)
				}
				if tc.parser {
					t.Logf("the URL parsers word it differently: %s", tc.why)
					const prefix = "invalid enode: "
					if got.code != ref.code || !strings.HasPrefix(got.msg, prefix) || !strings.HasPrefix(ref.msg, prefix) {
						t.Errorf("ours: %d %q\ngo-ethereum: %d %q", got.code, got.msg, ref.code, ref.msg)
					}
					return
				}
				if got != ref {
					t.Errorf("ours:        %d %q\ngo-ethereum: %d %q", got.code, got.msg, ref.code, ref.msg)
				}
			})
		}
	}
}

// A batch of calls over HTTP: each element gets its own result or error.
func TestGethAdminAPIBatch(t *testing.T) {
	ours := startOurs(t)
	c := ours.dial(t, "http")
	var (
		info      gethp2p.NodeInfo
		count     hexutil.Uint
		listening bool
		ok        bool
	)
	batch := []rpc.BatchElem{
		{Method: "admin_nodeInfo", Result: &info},
		{Method: "net_peerCount", Result: &count},
		{Method: "net_listening", Result: &listening},
		{Method: "admin_addPeer", Args: []any{"enode://nope"}, Result: &ok},
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := c.BatchCallContext(ctx, batch); err != nil {
		t.Fatal(err)
	}
	for _, el := range batch[:3] {
		if el.Error != nil {
			t.Errorf("%s: %v", el.Method, el.Error)
		}
	}
	if info.ID != ours.srv.Self().ID().String() || count != 0 || !listening {
		t.Errorf("batch results: id %q count %d listening %v", info.ID, count, listening)
	}
	if e, isRPC := asRPCErr(batch[3].Error); !isRPC || e.code != -32000 || !strings.HasPrefix(e.msg, "invalid enode: ") {
		t.Errorf("bad enode in a batch: %v", batch[3].Error)
	}
}

// admin_natStatus, our own method, is callable through go-ethereum's
// client like the others.
func TestGethAdminAPINATStatus(t *testing.T) {
	ours := startOurs(t)
	var st struct {
		Spec, Mechanism string
		Mappings        []any
	}
	call(t, ours.dial(t, "http"), &st, "admin_natStatus")
	if st.Mechanism != "none" || st.Mappings == nil {
		t.Errorf("admin_natStatus = %+v", st)
	}
}
