package main

import (
	"context"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/cmd/devp2pd/internal/testproto"
	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/p2p"
)

func TestPingLive(t *testing.T) {
	srv, _ := startEchoServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := pingNode(ctx, srv.Self(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if res.hello == nil || res.hello.Name != "plain" || !res.hasCap(testproto.Name, testproto.Version) || res.hello.Version != 5 {
		t.Fatalf("hello %+v", res.hello)
	}
	if len(res.rtts) != 3 || res.endReason != "" || res.connect <= 0 || res.handshake <= 0 {
		t.Fatalf("result %+v", res)
	}
	// The ping leaves politely: the server sees a requested disconnect.
	waitFor(t, "ping peer gone", func() bool { return srv.PeerCount() == 0 })
}

func TestPingCommand(t *testing.T) {
	srv, _ := startEchoServer(t)
	out, _, err := runApp(t, "ping", "--count", "2", "--echo", "--size", "100", srv.Self().URLv4())
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"TCP connection to 127.0.0.1:", "RLPx encryption handshake in", "Name:         plain",
		"Capabilities: test/1", "Ping/Pong round trips:", "Echo round trips (test/1 through the p2p stack, 100-byte payload):", "avg"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// Each way a ping can fail is reported with its reason.
func TestPingFailures(t *testing.T) {
	live := startPlainServer(t)
	otherKey, _ := crypto.GenerateKey(nil)
	liveAddr, _ := live.Self().TCPEndpoint()

	// A port nobody listens on.
	closed := enode.NewV4(otherKey.Public(), netip.MustParseAddr("127.0.0.1"), mustAtoi(t, freePort(t)), 0)
	// The live node's address with the wrong key.
	wrongKey := enode.NewV4(otherKey.Public(), liveAddr.Addr(), int(liveAddr.Port()), 0)
	// A listener that accepts and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	silentNode := enode.NewV4(otherKey.Public(), netip.MustParseAddr("127.0.0.1"), silent.Addr().(*net.TCPAddr).Port, 0)
	// A node that runs only a protocol we lack: it refuses us after Hello.
	useless := startPlainServer(t, p2p.Protocol{Name: "foo", Version: 1, Length: 1, Run: func(*p2p.Peer, p2p.MsgReadWriter) error { return nil }})
	// A full node: it refuses us before the encryption handshake.
	full := startFullServer(t)

	for _, tc := range []struct {
		name string
		node *enode.Node
		want string
	}{
		{"refused", closed, "TCP connection to 127.0.0.1:"},
		{"wrong key", wrongKey, "RLPx handshake: the remote closed the connection"},
		{"silent", silentNode, "RLPx handshake: no answer in time"},
		{"full", full.Self(), "the remote disconnected before Hello: too many peers (it has no free slot for us)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_, err := pingNode(ctx, tc.node, 1)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	t.Run("useless", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		res, err := pingNode(ctx, useless.Self(), 1)
		if err != nil {
			t.Fatal(err) // the handshake worked; only the round trips failed
		}
		if res.hello == nil || len(res.rtts) != 0 || !strings.Contains(res.endReason, "useless peer (it shares no sub-protocol") {
			t.Fatalf("result %+v", res)
		}
	})
	t.Run("echo without test/1", func(t *testing.T) {
		_, _, err := runApp(t, "ping", "--echo", "--timeout", "2s", live.Self().URLv4())
		if err == nil || !strings.Contains(err.Error(), "does not run test/1") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("bad enode", func(t *testing.T) {
		_, _, err := runApp(t, "ping", "enode://xyz@127.0.0.1:1")
		if err == nil || !strings.Contains(err.Error(), "ping: invalid enode: ") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestEchoNode(t *testing.T) {
	srv, _ := startEchoServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rtts, err := echoNode(ctx, srv.Self(), 5, 1000)
	if err != nil || len(rtts) != 5 {
		t.Fatalf("echoNode = %v, %v", rtts, err)
	}
}

// Code below here is the framework for the tests above.

// startFullServer starts a server that takes no peers at all.
func startFullServer(t *testing.T) *p2p.Server {
	t.Helper()
	key, _ := crypto.GenerateKey(nil)
	srv := &p2p.Server{Config: p2p.Config{PrivateKey: key, ListenAddr: "127.0.0.1:0", MaxPeers: 0,
		Logger: newLogger(io.Discard, 0, false)}}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
