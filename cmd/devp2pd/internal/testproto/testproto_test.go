package testproto

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/p2p"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestEcho(t *testing.T) {
	a, tpa := start(t)
	b, tpb := start(t)
	a.AddPeer(b.Self())
	waitFor(t, func() bool { return len(tpa.Peers()) == 1 && len(tpb.Peers()) == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, size := range []int{0, 1, 1000, 100_000} {
		rtt, err := tpa.Echo(ctx, b.Self().ID(), make([]byte, size))
		if err != nil || rtt <= 0 {
			t.Fatalf("Echo(%d bytes) = %v, %v", size, rtt, err)
		}
	}
	// Both directions work at once.
	if _, err := tpb.Echo(ctx, a.Self().ID(), []byte("back")); err != nil {
		t.Fatal(err)
	}
	// Replies are not echoed again: after the echoes the message counts
	// settle at one request and one reply per echo.
	time.Sleep(50 * time.Millisecond)
	info := b.PeersInfo()[0].Protocols[Name].(map[string]any)
	if info["echoed"] != uint64(4) {
		t.Errorf("b answered %v echoes, want 4", info["echoed"])
	}
}

func TestEchoErrors(t *testing.T) {
	a, tpa := start(t)
	b, _ := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := tpa.Echo(ctx, b.Self().ID(), nil); !errors.Is(err, ErrNoPeer) {
		t.Fatalf("Echo to a stranger: %v", err)
	}
	a.AddPeer(b.Self())
	waitFor(t, func() bool { return len(tpa.Peers()) == 1 })
	// A canceled context ends the wait.
	cctx, ccancel := context.WithCancel(ctx)
	ccancel()
	if _, err := tpa.Echo(cctx, b.Self().ID(), nil); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Echo with a canceled context: %v", err)
	}
	// The peer ends while we wait, or is gone before we ask.
	a.RemovePeer(b.Self())
	waitFor(t, func() bool { return len(tpa.Peers()) == 0 })
	if _, err := tpa.Echo(ctx, b.Self().ID(), nil); !errors.Is(err, ErrNoPeer) {
		t.Fatalf("Echo after the drop: %v", err)
	}
}

// An unknown message code is a protocol error.
func TestUnknownCode(t *testing.T) {
	tp := New()
	a, b := p2p.MsgPipe()
	defer a.Close()
	errc := make(chan error, 1)
	go func() { errc <- tp.serve(enode.ID{1}, b) }()
	a.WriteMsg(p2p.Msg{Code: 7, Payload: eofReader{}})
	var pe *p2p.PeerError
	if err := <-errc; !errors.As(err, &pe) || pe.Reason != p2p.DiscProtocolError {
		t.Fatalf("run returned %v", err)
	}
}

// Code below here is the framework for the tests above.

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

func start(t *testing.T) (*p2p.Server, *Protocol) {
	t.Helper()
	key, err := crypto.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	tp := New()
	srv := &p2p.Server{Config: p2p.Config{
		PrivateKey: key,
		ListenAddr: "127.0.0.1:0",
		MaxPeers:   5,
		Protocols:  []p2p.Protocol{tp.Protocol()},
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv, tp
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
