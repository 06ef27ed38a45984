package nat

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/devp2p-go/devp2p/nat/nattest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// parseTests covers go-ethereum's --nat spellings (p2p/nat/nat.go Parse).
var parseTests = []struct {
	spec    string
	want    string // String() of the result; "" for nil
	wantErr string
}{
	{spec: ""},
	{spec: "none"},
	{spec: "off"},
	{spec: "NONE"},
	{spec: "any", want: "any"},
	{spec: "auto", want: "any"},
	{spec: "on", want: "any"},
	{spec: "Any", want: "any"},
	{spec: "extip:203.0.113.7", want: "ExtIP(203.0.113.7)"},
	{spec: "ip:203.0.113.7", want: "ExtIP(203.0.113.7)"},
	{spec: "extip:2001:db8::1", want: "ExtIP(2001:db8::1)"},
	{spec: "extip:::ffff:203.0.113.7", want: "ExtIP(203.0.113.7)"},
	{spec: "upnp", want: "upnp"},
	{spec: "UPnP", want: "upnp"},
	{spec: "pmp", want: "natpmp"},
	{spec: "natpmp", want: "natpmp"},
	{spec: "nat-pmp", want: "natpmp"},
	{spec: "pmp:192.168.1.1", want: "NAT-PMP(192.168.1.1)"},
	{spec: "natpmp:10.0.0.1", want: "NAT-PMP(10.0.0.1)"},
	{spec: "nat-pmp:172.16.0.1", want: "NAT-PMP(172.16.0.1)"},

	{spec: "extip", wantErr: `nat: "extip": extip needs an IP address`},
	{spec: "extip:", wantErr: `nat: "extip:": extip needs an IP address`},
	{spec: "extip:1.2.3", wantErr: `nat: "extip:1.2.3": extip needs an IP address`},
	{spec: "ip:example.com", wantErr: `nat: "ip:example.com": ip needs an IP address`},
	{spec: "extip:fe80::1%eth0", wantErr: `needs an IP address`},
	{spec: "pmp:gateway", wantErr: `nat: "pmp:gateway": pmp needs a gateway IP address`},
	{spec: "pmp:", wantErr: `nat: "pmp:": pmp needs a gateway IP address`},
	{spec: "natpmp:2001:db8::1", wantErr: `NAT-PMP gateway must be an IPv4 address`},
	{spec: "none:1.2.3.4", wantErr: `nat: "none:1.2.3.4": none takes no argument`},
	{spec: "any:x", wantErr: `any takes no argument`},
	{spec: "upnp:192.168.1.1", wantErr: `upnp takes no argument`},
	{spec: "stun", wantErr: `nat: "stun": stun is not supported`},
	{spec: "stun:stun.example.org:3478", wantErr: `stun is not supported`},
	{spec: "carrier-pigeon", wantErr: `nat: unknown mechanism "carrier-pigeon"`},
	{spec: "foo:1.2.3.4", wantErr: `nat: unknown mechanism "foo:1.2.3.4"`},
}

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tc := range parseTests {
		n, err := Parse(tc.spec)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Parse(%q): err = %v, want %q", tc.spec, err, tc.wantErr)
			}
			if n != nil {
				t.Errorf("Parse(%q): %v returned with an error", tc.spec, n)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.spec, err)
			continue
		}
		switch {
		case tc.want == "" && n != nil:
			t.Errorf("Parse(%q) = %v, want nil", tc.spec, n)
		case tc.want != "" && (n == nil || n.String() != tc.want):
			t.Errorf("Parse(%q) = %v, want %s", tc.spec, n, tc.want)
		}
	}
}

// MarshalText gives back a spec that Parse accepts (for dumping config).
func TestParseMarshalText(t *testing.T) {
	t.Parallel()
	for _, spec := range []string{"any", "upnp", "natpmp", "natpmp:192.168.1.1", "extip:203.0.113.7"} {
		n, err := Parse(spec)
		if err != nil {
			t.Fatal(err)
		}
		text, err := n.(interface{ MarshalText() ([]byte, error) }).MarshalText()
		if err != nil || string(text) != spec {
			t.Errorf("MarshalText of Parse(%q) = %q, %v", spec, text, err)
		}
	}
}

func TestExtIP(t *testing.T) {
	t.Parallel()
	ip := netip.MustParseAddr("203.0.113.7")
	var n Interface = ExtIP(ip)
	if got, err := n.ExternalIP(); err != nil || got != ip {
		t.Errorf("ExternalIP = %v, %v", got, err)
	}
	if port, err := n.AddMapping("tcp", 0, 30303, "x", time.Minute); err != nil || port != 30303 {
		t.Errorf("AddMapping(ext 0) = %d, %v; want the internal port", port, err)
	}
	if port, err := n.AddMapping("udp", 40404, 30303, "x", time.Minute); err != nil || port != 40404 {
		t.Errorf("AddMapping(ext 40404) = %d, %v", port, err)
	}
	if err := n.DeleteMapping("tcp", 30303, 30303); err != nil {
		t.Error(err)
	}
	if n.String() != "ExtIP(203.0.113.7)" {
		t.Errorf("String = %q", n.String())
	}
}

// Concurrent first calls share one discovery; a discovery that found
// nothing is run again by the next call; a success is kept.
func TestAutodiscRetriesAndShares(t *testing.T) {
	t.Parallel()
	var runs atomic.Int32
	release := make(chan struct{})
	var succeed atomic.Bool
	a := newAutodisc("any", func(ctx context.Context) (Interface, error) {
		runs.Add(1)
		<-release
		if succeed.Load() {
			return ExtIP(netip.MustParseAddr("203.0.113.7")), nil
		}
		return nil, errors.New("nothing here")
	})

	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { _, errs[i] = a.ExternalIP() })
	}
	// Release the discovery once the other three callers wait for it.
	for {
		a.mu.Lock()
		w := a.waiters
		a.mu.Unlock()
		if w == len(errs)-1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if r := runs.Load(); r != 1 {
		t.Errorf("%d discovery runs for concurrent calls, want 1", r)
	}
	for _, err := range errs {
		if !errors.Is(err, ErrNoGateway) || !strings.Contains(err.Error(), "by any: nothing here") {
			t.Errorf("err = %v", err)
		}
	}

	succeed.Store(true)
	if ip, err := a.ExternalIP(); err != nil || ip != netip.MustParseAddr("203.0.113.7") {
		t.Fatalf("second try: %v, %v", ip, err)
	}
	if _, err := a.AddMapping("tcp", 0, 1, "x", time.Minute); err != nil {
		t.Fatal(err)
	}
	if r := runs.Load(); r != 2 {
		t.Errorf("%d discovery runs, want 2 (failure retried, success kept)", r)
	}
	if a.String() != "ExtIP(203.0.113.7)" {
		t.Errorf("String after discovery = %q", a.String())
	}
}

// Discovery is bounded by the autodisc timeout.
func TestAutodiscTimeout(t *testing.T) {
	t.Parallel()
	a := newAutodisc("upnp", func(ctx context.Context) (Interface, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	a.timeout = 50 * time.Millisecond
	start := time.Now()
	_, err := a.AddMapping("tcp", 0, 1, "x", time.Minute)
	if !errors.Is(err, ErrNoGateway) || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Errorf("err = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

// firstFound returns the first success, cancels the others and waits
// for them; failures are listed by name.
func TestFirstFound(t *testing.T) {
	t.Parallel()
	slowDone := make(chan struct{})
	found, err := firstFound(context.Background(), map[string]discoverFunc{
		"fast": func(context.Context) (Interface, error) { return ExtIP(netip.MustParseAddr("192.0.2.1")), nil },
		"slow": func(ctx context.Context) (Interface, error) {
			defer close(slowDone)
			<-ctx.Done()
			return nil, ctx.Err()
		},
	})
	if err != nil || found.String() != "ExtIP(192.0.2.1)" {
		t.Fatalf("found %v, %v", found, err)
	}
	select {
	case <-slowDone:
	default:
		t.Error("firstFound returned before the cancelled discovery ended")
	}

	_, err = firstFound(context.Background(), map[string]discoverFunc{
		"b": func(context.Context) (Interface, error) { return nil, errors.New("no b") },
		"a": func(context.Context) (Interface, error) { return nil, nil },
	})
	if err == nil || err.Error() != "a: nothing answered; b: no b" {
		t.Errorf("err = %v", err)
	}
}

// "any" against both fakes on loopback: whichever mechanism answers wins.
func TestAnyWithFakeGateways(t *testing.T) {
	igd := newFakeIGD(t, "WANIPConnection:1")
	pmpGW := nattest.NewPMP(t)
	anyOf := func(loc string) *autodisc {
		return newAutodisc("any", func(ctx context.Context) (Interface, error) {
			return firstFound(ctx, map[string]discoverFunc{
				"upnp": func(ctx context.Context) (Interface, error) {
					u := *igd.location()
					u.Path = loc
					return upnpAt(ctx, &u)
				},
				"nat-pmp": func(ctx context.Context) (Interface, error) {
					return discoverPMP(ctx, []netip.Addr{pmpGW.Addr}, 500*time.Millisecond)
				},
			})
		})
	}

	// The UPnP device answers, the NAT-PMP gateway does not.
	pmpGW.Set(func(g *nattest.PMPState) { g.Silent = true })
	a := anyOf("/rootDesc.xml")
	if ip, err := a.ExternalIP(); err != nil || ip != netip.MustParseAddr("203.0.113.9") {
		t.Fatalf("ExternalIP = %v, %v", ip, err)
	}
	if !strings.HasPrefix(a.String(), "UPnP(") {
		t.Errorf("found %s, want UPnP", a)
	}

	// No UPnP device at that URL; NAT-PMP answers.
	pmpGW.Set(func(g *nattest.PMPState) { g.Silent = false })
	a = anyOf("/missing.xml")
	if ip, err := a.ExternalIP(); err != nil || ip != netip.MustParseAddr("203.0.113.7") {
		t.Fatalf("ExternalIP = %v, %v", ip, err)
	}
	if !strings.HasPrefix(a.String(), "NAT-PMP(") {
		t.Errorf("found %s, want NAT-PMP", a)
	}

	// Neither answers.
	pmpGW.Set(func(g *nattest.PMPState) { g.Silent = true })
	a = anyOf("/missing.xml")
	_, err := a.ExternalIP()
	if !errors.Is(err, ErrNoGateway) || !strings.Contains(err.Error(), "nat-pmp: no answer") || !strings.Contains(err.Error(), "upnp: ") {
		t.Errorf("err = %v", err)
	}
}

// TestRealGateway runs discovery on the real network: SSDP multicast and
// NAT-PMP probes of this host's gateways. It is the only test that leaves
// loopback, so it runs only when DEVP2P_NAT_NETWORK=1; it logs what it
// finds and fails only on a malformed result.
func TestRealGateway(t *testing.T) {
	if os.Getenv("DEVP2P_NAT_NETWORK") != "1" {
		t.Skip("set DEVP2P_NAT_NETWORK=1 to look for a real gateway")
	}
	t.Logf("NAT-PMP candidates: %v", pmpCandidates())
	n := Any()
	ip, err := n.ExternalIP()
	if err != nil {
		t.Logf("no gateway: %v", err)
		return
	}
	if !ip.IsValid() {
		t.Fatalf("invalid external address from %v", n)
	}
	t.Logf("found %v, external address %v", n, ip)
}
