package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/devp2p-go/devp2p/netutil"
	"github.com/devp2p-go/devp2p/p2p"
)

// readTestSettings runs the app with args and returns the settings the
// node command would use, without starting a node.
func readTestSettings(t *testing.T, args ...string) (*settings, error) {
	t.Helper()
	var (
		s   *settings
		err error
	)
	app := newApp(&env{stdout: new(syncBuffer), stderr: new(syncBuffer)})
	app.Action = func(ctx *cli.Context) error {
		s, err = readSettings(ctx)
		return nil
	}
	if runErr := app.Run(append([]string{"devp2pd"}, args...)); runErr != nil {
		return nil, runErr
	}
	return s, err
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "devp2pd.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigFile(t *testing.T) {
	path := writeConfig(t, `
# A config file uses the flag names.
datadir = "/tmp/devp2pd-config-test"
port = 30400
maxpeers = 7
bootnodes = ["enode://`+strings.Repeat("1", 128)+`@10.0.0.1:30303", "enode://`+strings.Repeat("2", 128)+`@10.0.0.2:30303"]
netrestrict = "10.0.0.0/8"
nodiscover = true
"http.port" = 8600
verbosity = 4

[http]
enabled = true
addr = "127.0.0.2"

[ws]
enabled = true
origins = ["a.example", "b.example"]
`)
	s, err := readTestSettings(t, "--config", path, "--maxpeers", "9")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"datadir", s.dataDir, "/tmp/devp2pd-config-test"},
		{"port", s.port, 30400},
		{"maxpeers (command line wins)", s.maxPeers, 9},
		{"bootnodes", strings.Count(s.bootnodes, ","), 1},
		{"netrestrict", s.netRestrict, "10.0.0.0/8"},
		{"nodiscover", s.noDiscover, true},
		{"http", s.http, true},
		{"http.addr", s.httpAddr, "127.0.0.2"},
		{"http.port", s.httpPort, 8600},
		{"ws", s.ws, true},
		{"ws.origins", s.wsOrigins, "a.example,b.example"},
		{"ws.port (default)", s.wsPort, defaultWSPort},
		{"verbosity", s.verbosity, 4},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

var configErrorTests = []struct {
	name, config string
	want         string // in the error
}{
	{"unknown key", `prot = 1`, `unknown key "prot" (did you mean "port"?)`},
	{"unknown table key", "[http]\nadr = \"x\"", `unknown key "http.adr" (did you mean "http.addr"?)`},
	{"config in config", `config = "other.toml"`, `unknown key "config"`},
	{"int as string", `port = "30303"`, `key "port": want an integer, have string "30303"`},
	{"bool as int", `nodiscover = 1`, `key "nodiscover": want true or false, have integer 1`},
	{"string as int", `nat = 5`, `key "nat": want a string, have integer 5`},
	{"array for scalar", `nat = ["none"]`, `key "nat": want a string, have an array`},
	{"array of non-strings", `bootnodes = [1]`, `key "bootnodes": item 0: want a string, have integer 1`},
	{"port range", `port = 70000`, `invalid key "port" in config file`},
	{"bad nat", `nat = "upnp:1.2.3.4"`, `key "nat" in config file`},
	{"stun", `nat = "stun"`, `stun is not supported`},
	{"bad verbosity", `verbosity = 9`, `key "verbosity" in config file`},
	{"syntax", "port = \n", "line 1"},
	{"limits table unknown key", "[limits]\npendingperipp = 2", `unknown key "limits.pendingperipp" (did you mean "limits.pendingperip"?)`},
	{"limits int as string", "[limits]\nsubnetv4 = \"16\"", `key "limits.subnetv4": want an integer, have string "16"`},
	{"limits bad subnetv4", "[limits]\nsubnetv4 = 40", `invalid key "limits.subnetv4" in config file ` + "%FILE%" + ` value 40: want a prefix length of 1 to 32`},
	{"limits zero pendingperip", "[limits]\npendingperip = 0", `key "limits.pendingperip" in config file`},
	{"limits bad exempt", "[limits]\nsubnetexempt = [\"lan\", \"10.1.0.0/33\"]", `key "limits.subnetexempt" in config file`},
	{"limits empty exempt", "[limits]\nsubnetexempt = []", `use 'none' for no exempt networks`},
	{"limits evict as string", "[limits]\nevict = \"no\"", `key "limits.evict": want true or false, have string "no"`},
	{"policy duration as int", "[policy]\nbantime = 3600", `key "policy.bantime": want a duration string such as "1h" or "30m", have integer 3600`},
	{"policy bad duration", "[policy]\nbantime = \"an hour\"", `key "policy.bantime": invalid value "an hour"`},
	{"policy threshold range", "[policy]\nbanthreshold = 10", `invalid key "policy.banthreshold" in config file ` + "%FILE%" + ` value 10: want a reputation of -1000 to -1`},
}

func TestConfigFileErrors(t *testing.T) {
	for _, tc := range configErrorTests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.config)
			_, err := readTestSettings(t, "--config", path)
			want := strings.ReplaceAll(tc.want, "%FILE%", path)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v, want one containing %q", err, want)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
	_, err := readTestSettings(t, "--config", filepath.Join(t.TempDir(), "missing.toml"))
	if err == nil || !strings.Contains(err.Error(), "missing.toml") {
		t.Errorf("missing config file: %v", err)
	}
}

// Values from the file that fail later checks are reported with the key.
func TestConfigFileBadNode(t *testing.T) {
	path := writeConfig(t, `bootnodes = ["enode://zz@1.2.3.4:1"]`)
	s, err := readTestSettings(t, "--config", path, "--nodekeyhex", strings.Repeat("11", 32))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.p2pConfig(newLogger(new(syncBuffer), 0, false))
	if err == nil || !strings.Contains(err.Error(), `invalid key "bootnodes" in config file `+path+` value "enode://zz@1.2.3.4:1": invalid enode`) {
		t.Fatalf("error %v", err)
	}
}

func TestFlagErrors(t *testing.T) {
	key := []string{"--nodekeyhex", strings.Repeat("11", 32)}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append([]string{"--bootnodes", "enode://zz@1.2.3.4:1"}, key...), `invalid --bootnodes value "enode://zz@1.2.3.4:1": invalid enode`},
		{append([]string{"--staticnodes", "nonsense"}, key...), `invalid --staticnodes value "nonsense"`},
		{append([]string{"--netrestrict", "10.0.0.0/99"}, key...), `invalid --netrestrict value "10.0.0.0/99"`},
		{[]string{"--nodekeyhex", "xyz"}, "invalid --nodekeyhex"},
		{[]string{"--nodekey", "/nonexistent/key"}, "node key from --nodekey"},
		{[]string{"--nodekey", "a", "--nodekeyhex", "b"}, "mutually exclusive"},
		{[]string{"--nat", "upnp:1.2.3.4"}, `invalid --nat value "upnp:1.2.3.4": upnp takes no argument`},
		{[]string{"--nat", "pmp:fe80::1"}, `invalid --nat value "pmp:fe80::1": pmp NAT-PMP gateway must be an IPv4 address`},
		{[]string{"--nat", "extip:1.2.3"}, `invalid --nat value "extip:1.2.3": extip needs an IP address`},
		{[]string{"--nat", "carrier-pigeon"}, `invalid --nat value "carrier-pigeon": unknown mechanism`},
		{[]string{"--port", "-1"}, "invalid --port value -1"},
		{[]string{"--http.port", "65536"}, "invalid --http.port value 65536"},
		{[]string{"--maxpeers", "-3"}, "invalid --maxpeers value -3"},
		{[]string{"--maxinbound", "-1"}, "invalid --maxinbound value -1: must not be negative"},
		{[]string{"--maxoutbound", "-1"}, "invalid --maxoutbound value -1: must not be negative"},
		{[]string{"--limits.pendingperip", "0"}, "invalid --limits.pendingperip value 0: want at least 1, or -1 for no limit"},
		{[]string{"--limits.pendingpersubnet", "-2"}, "invalid --limits.pendingpersubnet value -2: want a limit, or -1 for no limit"},
		{[]string{"--limits.inboundpersubnet", "-5"}, "invalid --limits.inboundpersubnet value -5"},
		{[]string{"--limits.outboundpersubnet", "-5"}, "invalid --limits.outboundpersubnet value -5"},
		{[]string{"--limits.subnetv4", "0"}, "invalid --limits.subnetv4 value 0: want a prefix length of 1 to 32"},
		{[]string{"--limits.subnetv6", "129"}, "invalid --limits.subnetv6 value 129: want a prefix length of 1 to 128"},
		{[]string{"--limits.subnetexempt", "10.0.0.0/8,none"}, `invalid --limits.subnetexempt value "10.0.0.0/8,none": 'none' cannot be part of a list`},
		{[]string{"--limits.subnetexempt", "lan,10.0.0.0"}, `invalid --limits.subnetexempt value "lan,10.0.0.0"`},
		{[]string{"--limits.subnetexempt", ""}, `invalid --limits.subnetexempt value "": empty; use 'none'`},
		{[]string{"--limits.evict", "false"}, "unknown command \"false\""}, // bool flags take =false
		{[]string{"--policy.anchors", "-1"}, "invalid --policy.anchors value -1: must not be negative"},
		{[]string{"--policy.banthreshold", "0"}, "invalid --policy.banthreshold value 0: want a reputation of -1000 to -1"},
		{[]string{"--policy.dialthreshold", "-1001"}, "invalid --policy.dialthreshold value -1001: want a reputation of -1000 to -1"},
		{[]string{"--policy.bantime", "0s"}, "invalid --policy.bantime value 0s: want a positive duration"},
		{[]string{"--policy.bantime", "soon"}, `invalid value "soon" for flag -policy.bantime`},
		{[]string{"--port", "abc"}, `invalid value "abc" for flag -port`},
		{[]string{"--no-such-flag"}, "no-such-flag"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
	} {
		_, stderr, err := runApp(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q\n%s", tc.args, err, tc.want, stderr)
		}
	}
}

// An unwritable data directory is a clear error at start.
func TestDataDirUnwritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	_, _, err := runApp(t, "--datadir", filepath.Join(file, "sub"), "--port", "0")
	if err == nil || !strings.Contains(err.Error(), "data directory") {
		t.Fatalf("error %v, want a data directory error", err)
	}
}

func TestDumpConfigRoundTrip(t *testing.T) {
	out, _, err := runApp(t, "--port", "31000", "--http", "--bootnodes", "enode://"+strings.Repeat("3", 128)+"@10.0.0.3:30303",
		"--maxinbound", "30", "--limits.pendingperip", "6", "--limits.subnetexempt", "lan,203.0.113.0/24", "--limits.evict=false",
		"--policy.bantime", "90m", "--policy.autobans=false", "dumpconfig")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"port = 31000", "http = true", `"http.port" = 8545`, `nat = "none"`, "maxinbound = 30",
		"\n[limits]\npendingperip = 6", "pendingpersubnet = 8", `subnetexempt = "lan,203.0.113.0/24"`, "evict = false",
		"\n[policy]\nanchors = 4", "autobans = false", `bantime = "1h30m0s"`, "dialthreshold = -200"} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("dumpconfig lacks %q:\n%s", line, out)
		}
	}
	s, err := readTestSettings(t, "--config", writeConfig(t, out))
	if err != nil {
		t.Fatalf("dumpconfig output does not load: %v\n%s", err, out)
	}
	if s.port != 31000 || !s.http || !strings.Contains(s.bootnodes, "10.0.0.3") || s.maxInbound != 30 ||
		s.pendingPerIP != 6 || s.subnetExempt != "lan,203.0.113.0/24" || s.evict || s.autoBans || s.banTime != 90*time.Minute {
		t.Errorf("round trip lost settings: %+v", s)
	}
	if strings.Count(out, "[limits]") != 1 || strings.Count(out, "[policy]") != 1 || strings.Contains(out, `"limits.`) {
		t.Errorf("dumpconfig does not group the limits and policy settings in one table each:\n%s", out)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"port", "port", 0}, {"prot", "port", 2}, {"http.adr", "http.addr", 1}, {"", "abc", 3}} {
		if d := editDistance(tc.a, tc.b); d != tc.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, d, tc.d)
		}
	}
}

// testP2PConfig returns the server config of the settings of args.
func testP2PConfig(t *testing.T, args ...string) p2p.Config {
	t.Helper()
	args = append([]string{"--nodekeyhex", strings.Repeat("11", 32), "--datadir", t.TempDir()}, args...)
	s, err := readTestSettings(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := s.p2pConfig(newLogger(new(syncBuffer), 0, false))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func boolPtr(b bool) *bool { return &b }

// Without the flags, the limits and policy are p2p's defaults.
func TestLimitsPolicyDefaults(t *testing.T) {
	cfg := testP2PConfig(t)
	wantLimits := p2p.Limits{
		MaxPendingPerIP:     defaultPendingPerIP,
		MaxPendingPerSubnet: defaultPendingPerSubnet,
		SubnetBitsV4:        defaultSubnetV4,
		SubnetBitsV6:        defaultSubnetV6,
		EvictInbound:        boolPtr(true),
	}
	if !reflect.DeepEqual(cfg.Limits, wantLimits) {
		t.Errorf("Limits = %+v, want %+v", cfg.Limits, wantLimits)
	}
	wantPolicy := p2p.Policy{
		BanThreshold:     defaultBanThreshold,
		ReputationBanTTL: defaultBanTime,
		DialThreshold:    defaultDialThreshold,
		MaxAnchors:       defaultAnchors,
	}
	if cfg.Policy != wantPolicy {
		t.Errorf("Policy = %+v, want %+v", cfg.Policy, wantPolicy)
	}
	if cfg.MaxInbound != 0 || cfg.MaxOutbound != 0 {
		t.Errorf("MaxInbound, MaxOutbound = %d, %d, want 0, 0 (derived)", cfg.MaxInbound, cfg.MaxOutbound)
	}
}

func TestLimitsPolicyFlags(t *testing.T) {
	cfg := testP2PConfig(t,
		"--maxinbound", "40", "--maxoutbound", "12",
		"--limits.pendingperip", "-1", "--limits.pendingpersubnet", "16",
		"--limits.inboundpersubnet", "5", "--limits.outboundpersubnet", "-1",
		"--limits.subnetv4", "16", "--limits.subnetv6", "32",
		"--limits.subnetexempt", "203.0.113.0/24, 2001:db8::/32",
		"--limits.trustedonly", "--limits.evict=false",
		"--policy.anchors", "0", "--policy.autobans=false", "--policy.banthreshold", "-800",
		"--policy.bantime", "2h", "--policy.dialthreshold", "-50")
	wantLimits := p2p.Limits{
		MaxPendingPerIP:      -1,
		MaxPendingPerSubnet:  16,
		MaxInboundPerSubnet:  5,
		MaxOutboundPerSubnet: -1,
		SubnetBitsV4:         16,
		SubnetBitsV6:         32,
		SubnetExempt:         netutil.MustParseNetlist("203.0.113.0/24, 2001:db8::/32"),
		TrustedOnly:          true,
		EvictInbound:         boolPtr(false),
	}
	if !reflect.DeepEqual(cfg.Limits, wantLimits) {
		t.Errorf("Limits = %+v, want %+v", cfg.Limits, wantLimits)
	}
	wantPolicy := p2p.Policy{
		BanThreshold:     -800,
		ReputationBanTTL: 2 * time.Hour,
		DialThreshold:    -50,
		MaxAnchors:       -1, // none
		NoAutoBans:       true,
	}
	if cfg.Policy != wantPolicy {
		t.Errorf("Policy = %+v, want %+v", cfg.Policy, wantPolicy)
	}
	if cfg.MaxInbound != 40 || cfg.MaxOutbound != 12 {
		t.Errorf("MaxInbound, MaxOutbound = %d, %d, want 40, 12", cfg.MaxInbound, cfg.MaxOutbound)
	}
}

func TestConfigFileLimitsPolicy(t *testing.T) {
	path := writeConfig(t, `
maxoutbound = 20

[limits]
pendingperip = 2
inboundpersubnet = 3
subnetv4 = 20
subnetexempt = ["lan", "100.64.0.0/10"]
trustedonly = true
evict = false

[policy]
anchors = 8
autobans = false
bantime = "45m"
`)
	cfg := testP2PConfig(t, "--config", path, "--limits.pendingperip", "3") // the command line wins
	l := cfg.Limits
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"MaxOutbound", cfg.MaxOutbound, 20},
		{"MaxPendingPerIP (command line)", l.MaxPendingPerIP, 3},
		{"MaxPendingPerSubnet (default)", l.MaxPendingPerSubnet, defaultPendingPerSubnet},
		{"MaxInboundPerSubnet", l.MaxInboundPerSubnet, 3},
		{"SubnetBitsV4", l.SubnetBitsV4, 20},
		{"SubnetBitsV6 (default)", l.SubnetBitsV6, defaultSubnetV6},
		{"TrustedOnly", l.TrustedOnly, true},
		{"EvictInbound", *l.EvictInbound, false},
		{"MaxAnchors", cfg.Policy.MaxAnchors, 8},
		{"NoAutoBans", cfg.Policy.NoAutoBans, true},
		{"ReputationBanTTL", cfg.Policy.ReputationBanTTL, 45 * time.Minute},
		{"BanThreshold (default)", cfg.Policy.BanThreshold, defaultBanThreshold},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	for addr, want := range map[string]bool{"100.64.1.2": true, "192.168.1.1": true, "fe80::1": true, "203.0.113.9": false} {
		if got := l.SubnetExempt.Contains(netip.MustParseAddr(addr)); got != want {
			t.Errorf("SubnetExempt.Contains(%s) = %v, want %v", addr, got, want)
		}
	}
}

// --limits.subnetexempt: "lan" alone is p2p's default (nil), "none" an
// empty list, and "lan" in a list stands for the networks of netutil.IsLAN.
func TestSubnetExempt(t *testing.T) {
	if l, err := parseSubnetExempt(" LAN "); l != nil || err != nil {
		t.Errorf("lan: %v, %v; want nil, nil", l, err)
	}
	if l, err := parseSubnetExempt("none"); err != nil || l == nil || len(*l) != 0 {
		t.Errorf("none: %v, %v; want an empty list", l, err)
	}
	lan, err := parseSubnetExempt("lan, 198.51.100.0/24")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"127.0.0.1", "127.255.255.254", "10.1.2.3", "172.16.0.1", "172.31.255.255", "172.32.0.1",
		"192.168.0.1", "192.169.0.1", "169.254.1.1", "8.8.8.8", "100.64.0.1", "::1", "::2", "fc00::1", "fd12::1",
		"fe80::1", "febf::1", "fec0::1", "2001:db8::1", "::ffff:10.0.0.1", "::ffff:8.8.8.8"} {
		ip := netip.MustParseAddr(a)
		if got, want := lan.Contains(ip), netutil.IsLAN(ip); got != want {
			t.Errorf("lan list contains %s: %v, netutil.IsLAN: %v", a, got, want)
		}
	}
	if !lan.Contains(netip.MustParseAddr("198.51.100.7")) {
		t.Error("lan, 198.51.100.0/24 lacks 198.51.100.7")
	}
}
