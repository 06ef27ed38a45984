package dialsched

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/internal/mclock"
	"github.com/devp2p-go/devp2p/netutil"
)

func TestDefaultClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want FailureClass
	}{
		{nil, ClassNone},
		{context.Canceled, ClassNone},
		{fmt.Errorf("dial: %w", context.Canceled), ClassNone},
		{errTestRefused, ClassConnect},
		{os.ErrDeadlineExceeded, ClassConnect},
		{syscall.ECONNRESET, ClassConnect},
		{io.EOF, ClassConnect},
		{fmt.Errorf("reading auth: %w", io.ErrUnexpectedEOF), ClassConnect},
		{net.ErrClosed, ClassConnect},
		{errors.New("bad MAC"), ClassHandshake},
	}
	for _, tt := range tests {
		if got := DefaultClassify(tt.err); got != tt.want {
			t.Errorf("DefaultClassify(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
	if ClassBusy.String() != "busy" || FailureClass(99).String() != "unknown" {
		t.Error("String")
	}
}

// TCPDialer dials a node's IP, or looks up its DNS name at dial time.
func TestTCPDialer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	})
	defer wg.Wait()
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port

	var lookups int
	lookup := func(ips ...string) func(context.Context, string, string) ([]netip.Addr, error) {
		return func(_ context.Context, network, host string) ([]netip.Addr, error) {
			lookups++
			if host != "node.example" || network != "ip" {
				return nil, fmt.Errorf("unexpected lookup %s %s", network, host)
			}
			if len(ips) == 0 {
				return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
			}
			var out []netip.Addr
			for _, ip := range ips {
				out = append(out, netip.MustParseAddr(ip))
			}
			return out, nil
		}
	}
	var (
		byIP       = testNode(1, "127.0.0.1", port)
		byName     = testNode(1, "", port).WithHostname("node.example")
		byNameIP   = testNode(1, "127.0.0.1", port).WithHostname("node.example")
		noEndpoint = testNode(1, "", 0)
		loopback   = netutil.MustParseNetlist("127.0.0.0/8")
		tenNet     = netutil.MustParseNetlist("10.0.0.0/8")
	)
	tests := []struct {
		name    string
		dialer  TCPDialer
		wantErr error // nil: connects
		wantDNS bool
	}{
		{name: "ip", dialer: TCPDialer{LookupNetIP: lookup()}},
		{name: "name", dialer: TCPDialer{LookupNetIP: lookup("127.0.0.1", "::ffff:127.0.0.2")}, wantDNS: true},
		{name: "name, netrestrict drops one", dialer: TCPDialer{LookupNetIP: lookup("::1", "127.0.0.1"), NetRestrict: loopback}, wantDNS: true},
		{name: "name netrestrict", dialer: TCPDialer{LookupNetIP: lookup("127.0.0.1"), NetRestrict: tenNet}, wantErr: errNoAllowedIP, wantDNS: true},
		{name: "name unresolved", dialer: TCPDialer{LookupNetIP: lookup()}, wantErr: &net.DNSError{}, wantDNS: true},
		{name: "name unresolved, old IP", dialer: TCPDialer{LookupNetIP: lookup()}, wantDNS: true},
		{name: "ip netrestrict", dialer: TCPDialer{NetRestrict: tenNet}, wantErr: errNetRestrict},
		{name: "no endpoint", wantErr: errNoEndpoint},
	}
	targets := []*enode.Node{byIP, byName, byName, byName, byName, byNameIP, byIP, noEndpoint}
	for i, tt := range tests {
		lookups = 0
		fd, err := tt.dialer.Dial(context.Background(), targets[i])
		if fd != nil {
			fd.Close()
		}
		var dnsErr *net.DNSError
		switch {
		case tt.wantErr == nil && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case errors.As(tt.wantErr, &dnsErr):
			if !errors.As(err, &dnsErr) {
				t.Errorf("%s: got %v, want a DNS error", tt.name, err)
			}
		case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.wantErr)
		}
		if (lookups > 0) != tt.wantDNS {
			t.Errorf("%s: %d lookups", tt.name, lookups)
		}
	}
}

// "Looking for peers" is logged at most every 10 s, and only below target.
func TestDialSchedLookingForPeersLog(t *testing.T) {
	t.Parallel()
	var (
		buf   syncBuffer
		clock = new(mclock.Simulated)
		n     = testNode(1, "10.0.0.1", 30303)
	)
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s := New(Config{MaxDialPeers: 1, Clock: clock, Log: log, Dialer: newTestDialer(t)}, nil, nil)
	defer s.Stop()
	count := func() int { return strings.Count(buf.String(), "Looking for peers") }

	clock.Run(statsLogInterval)
	s.Stats() // a loop turn after the interval
	if count() != 1 {
		t.Fatalf("%d logs after 10 s, want 1:\n%s", count(), buf.String())
	}
	clock.Run(statsLogInterval - time.Second)
	s.Stats()
	if count() != 1 {
		t.Fatalf("logged again within 10 s:\n%s", buf.String())
	}
	s.PeerAdded(n.ID(), true) // at target
	clock.Run(time.Hour)
	s.Stats()
	if count() != 1 {
		t.Fatalf("logged at target:\n%s", buf.String())
	}
}

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
