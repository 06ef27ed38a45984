package netutil

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

func TestAddrFromIP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ip   net.IP
		want netip.Addr
	}{
		{nil, netip.Addr{}},
		{net.IP{1, 2, 3}, netip.Addr{}},
		{net.IP{127, 0, 0, 1}, netip.MustParseAddr("127.0.0.1")},
		{net.ParseIP("127.0.0.1"), netip.MustParseAddr("127.0.0.1")}, // 16-byte form
		{net.ParseIP("::ffff:10.1.1.1"), netip.MustParseAddr("10.1.1.1")},
		{net.ParseIP("2001:db8::1"), netip.MustParseAddr("2001:db8::1")},
		{net.ParseIP("::"), netip.MustParseAddr("::")},
	}
	for _, test := range tests {
		if got := AddrFromIP(test.ip); got != test.want {
			t.Errorf("AddrFromIP(%v) = %v, want %v", test.ip, got, test.want)
		}
	}
}

func TestAddrPortFromNetAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr net.Addr
		want netip.AddrPort
	}{
		{&net.TCPAddr{IP: net.ParseIP("10.0.0.1"), Port: 30303}, netip.MustParseAddrPort("10.0.0.1:30303")},
		{&net.UDPAddr{IP: net.ParseIP("fe80::1"), Port: 1, Zone: "eth0"}, netip.MustParseAddrPort("[fe80::1]:1")},
		{&net.IPAddr{IP: net.IP{1, 2, 3, 4}}, netip.MustParseAddrPort("1.2.3.4:0")},
		{&net.TCPAddr{}, netip.AddrPort{}},
		{(*net.TCPAddr)(nil), netip.AddrPort{}},
		{(*net.UDPAddr)(nil), netip.AddrPort{}},
		{(*net.IPAddr)(nil), netip.AddrPort{}},
		{&net.UnixAddr{Name: "/tmp/x", Net: "unix"}, netip.AddrPort{}},
		{nil, netip.AddrPort{}},
	}
	for _, test := range tests {
		if got := AddrPortFromNetAddr(test.addr); got != test.want {
			t.Errorf("AddrPortFromNetAddr(%v) = %v, want %v", test.addr, got, test.want)
		}
		if got := AddrFromNetAddr(test.addr); got != test.want.Addr() {
			t.Errorf("AddrFromNetAddr(%v) = %v, want %v", test.addr, got, test.want.Addr())
		}
	}
}

type tempErr struct{ temp, timeout bool }

func (e tempErr) Error() string   { return "test error" }
func (e tempErr) Temporary() bool { return e.temp }
func (e tempErr) Timeout() bool   { return e.timeout }

func TestIsTemporaryError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err           error
		temp, timeout bool
	}{
		{nil, false, false},
		{errors.New("plain"), false, false},
		{tempErr{temp: true}, true, false},
		{tempErr{timeout: true}, false, true},
		{fmt.Errorf("wrapped: %w", tempErr{temp: true, timeout: true}), true, true},
		{os.ErrDeadlineExceeded, true, true},
		{context.DeadlineExceeded, true, true},
		{&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, true, true},
	}
	for _, test := range tests {
		if got := IsTemporaryError(test.err); got != test.temp {
			t.Errorf("IsTemporaryError(%v) = %t, want %t", test.err, got, test.temp)
		}
		if got := IsTimeout(test.err); got != test.timeout {
			t.Errorf("IsTimeout(%v) = %t, want %t", test.err, got, test.timeout)
		}
	}
}

func TestIsTimeoutRealDeadline(t *testing.T) {
	t.Parallel()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IP{127, 0, 0, 1}})
	if err != nil {
		t.Skip("no loopback UDP:", err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(time.Millisecond))
	_, _, err = conn.ReadFrom(make([]byte, 10))
	if !IsTimeout(err) || !IsTemporaryError(err) {
		t.Errorf("read deadline error %v: IsTimeout %t, IsTemporaryError %t", err, IsTimeout(err), IsTemporaryError(err))
	}
	conn.Close()
	_, _, err = conn.ReadFrom(make([]byte, 10))
	if IsTimeout(err) || IsTemporaryError(err) {
		t.Errorf("closed socket error %v classified as temporary/timeout", err)
	}
}
