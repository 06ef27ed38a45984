package main

import (
	"bytes"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/devp2p-go/devp2p/cmd/devp2pd/internal/testproto"
	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/p2p"
)

// TestMain checks that commands and nodes leave no goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestVersion(t *testing.T) {
	out, _, err := runApp(t, "version")
	if err != nil || !strings.Contains(out, "Version: "+version) || !strings.Contains(out, "Go Version: go") {
		t.Fatalf("version: %v\n%s", err, out)
	}
}

func TestHelpExplainsEveryFlag(t *testing.T) {
	out, _, err := runApp(t, "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range nodeFlags {
		name := f.Names()[0]
		if !strings.Contains(out, "--"+name+" ") && !strings.Contains(out, "--"+name+"\t") {
			t.Errorf("--help does not list --%s", name)
		}
	}
	for _, cmd := range []string{"key", "ping", "devnet", "diag", "ban", "unban", "bans", "dumpconfig", "version"} {
		if !strings.Contains(out, "   "+cmd+" ") {
			t.Errorf("--help does not list the %s command", cmd)
		}
	}
}

// Code below here is the framework for the tests in this package.

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runApp runs a command that returns by itself and returns its output.
func runApp(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut syncBuffer
	e := &env{stdout: &out, stderr: &errOut, signals: make(chan os.Signal), exit: func(int) { t.Error("exit called") }}
	err = newApp(e).Run(append([]string{"devp2pd"}, args...))
	return out.String(), errOut.String(), err
}

// testNode is a node run by the app in the background.
type testNode struct {
	d       *daemon
	stdout  *syncBuffer
	stderr  *syncBuffer
	signals chan os.Signal
	exited  chan struct{} // closed when the exit function was called
	done    chan struct{} // closed when the app returned, with err set
	err     error
}

// startNode runs the app with args (a node) and waits until it runs. The
// node is stopped with a signal when the test ends, if still running.
func startNode(t *testing.T, args ...string) *testNode {
	t.Helper()
	n := &testNode{
		stdout:  new(syncBuffer),
		stderr:  new(syncBuffer),
		signals: make(chan os.Signal, 2),
		exited:  make(chan struct{}),
		done:    make(chan struct{}),
	}
	started := make(chan *daemon, 1)
	e := &env{stdout: n.stdout, stderr: n.stderr, signals: n.signals,
		exit:    func(int) { close(n.exited) },
		started: func(d *daemon) { started <- d }}
	go func() {
		n.err = newApp(e).Run(append([]string{"devp2pd"}, args...))
		close(n.done)
	}()
	select {
	case n.d = <-started:
	case <-n.done:
		t.Fatalf("node did not start: %v\n%s", n.err, n.stderr)
	case <-time.After(20 * time.Second):
		t.Fatal("node did not start in time")
	}
	t.Cleanup(func() {
		select {
		case <-n.done:
		default:
			n.stop(t)
		}
	})
	return n
}

// stop sends SIGINT and waits for the node to end.
func (n *testNode) stop(t *testing.T) error {
	t.Helper()
	n.signals <- os.Interrupt
	select {
	case <-n.done:
		return n.err
	case <-time.After(20 * time.Second):
		t.Fatalf("node did not stop in time\n%s", n.stderr)
		return nil
	}
}

// startPlainServer starts a p2p.Server on 127.0.0.1 with a free port,
// running the given protocols.
func startPlainServer(t *testing.T, protos ...p2p.Protocol) *p2p.Server {
	t.Helper()
	key, err := crypto.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := &p2p.Server{Config: p2p.Config{
		PrivateKey: key,
		Name:       "plain",
		ListenAddr: "127.0.0.1:0",
		MaxPeers:   10,
		Protocols:  protos,
		Logger:     newLogger(io.Discard, 0, false),
	}}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

// startEchoServer starts a server that runs test/1.
func startEchoServer(t *testing.T) (*p2p.Server, *testproto.Protocol) {
	tp := testproto.New()
	return startPlainServer(t, tp.Protocol()), tp
}

// freePort returns a TCP port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	// The node binds TCP and UDP on all interfaces: find a port free for
	// both, as other processes on the machine may hold either.
	for range 100 {
		ln, err := net.Listen("tcp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		uc, err := net.ListenUDP("udp", &net.UDPAddr{Port: port})
		ln.Close()
		if err == nil {
			uc.Close()
			return itoa(port)
		}
	}
	t.Fatal("no port free for both TCP and UDP")
	return ""
}

func itoa(n int) string { return strconv.Itoa(n) }
