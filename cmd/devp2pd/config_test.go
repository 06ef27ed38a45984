package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
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
}

func TestConfigFileErrors(t *testing.T) {
	for _, tc := range configErrorTests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.config)
			_, err := readTestSettings(t, "--config", path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
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
	out, _, err := runApp(t, "--port", "31000", "--http", "--bootnodes", "enode://"+strings.Repeat("3", 128)+"@10.0.0.3:30303", "dumpconfig")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"port = 31000", "http = true", `"http.port" = 8545`, `nat = "none"`} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("dumpconfig lacks %q:\n%s", line, out)
		}
	}
	s, err := readTestSettings(t, "--config", writeConfig(t, out))
	if err != nil {
		t.Fatalf("dumpconfig output does not load: %v\n%s", err, out)
	}
	if s.port != 31000 || !s.http || !strings.Contains(s.bootnodes, "10.0.0.3") {
		t.Errorf("round trip lost settings: %+v", s)
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
