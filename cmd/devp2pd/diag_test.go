package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/devp2p-go/devp2p/admin"
	"github.com/devp2p-go/devp2p/p2p"
)

func TestDiagReport(t *testing.T) {
	n := startNode(t, nodeArgs(t, "--http", "--http.port", "0", "--nodiscover")...)
	url := n.d.url("http")

	out, _, err := runApp(t, "diag", "--rpc", url)
	if err != nil {
		t.Fatalf("diag: %v\n%s", err, out)
	}
	for _, want := range []string{
		"Node " + n.d.srv.Self().URLv4(),
		"Findings:\n  ERROR    No peers; the other findings say why.  [no-peers]\n",
		"[discovery-off]",
		"Peers: 0 of 50 (0 inbound, 0 outbound)",
		"outbound (target)",
		"last inbound connection: never; last inbound peer: never",
		"NAT: none (none)",
		"Discovery:\n  off\n",
		"Dials (since the start):\n  attempts: 0;",
		"Bans: node IDs 0, IP addresses 0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// Findings come first.
	if strings.Index(out, "Findings:") > strings.Index(out, "Peers:") {
		t.Errorf("findings are not first:\n%s", out)
	}

	out, _, err = runApp(t, "diag", "--rpc", url, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var d admin.DiagnosticsResult
	if err := json.Unmarshal([]byte(out), &d); err != nil || !d.Running || d.NAT == nil || d.Slots.MaxPeers != 50 || len(d.Findings) == 0 {
		t.Fatalf("diag --json: %v\n%s", err, out)
	}

	out, errOut, err := runApp(t, "diag", "--rpc", url, "--interval", "1100ms")
	if err != nil || !strings.Contains(out, "counters judged over the last 1 s") || !strings.Contains(errOut, "Waiting 1.1s") {
		t.Errorf("diag --interval: %v\n%s\n%s", err, out, errOut)
	}
}

func TestDiagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"diag", "--rpc", "http://127.0.0.1:" + freePort(t) + "/"}, "cannot reach the node's admin endpoint (is it running with --http? see --rpc)"},
		{[]string{"diag", "--rpc", "ftp://127.0.0.1/"}, `invalid --rpc "ftp://127.0.0.1/"`},
		{[]string{"diag", "extra"}, "unexpected argument"},
		{[]string{"diag", "--interval", "-1s"}, "invalid --interval"},
		{[]string{"ban"}, "want one argument"},
		{[]string{"ban", "nonsense"}, `ban: invalid ban target "nonsense"`},
		{[]string{"ban", "--ttl", "0s", "192.0.2.1"}, "invalid --ttl 0s"},
		{[]string{"unban", "1.2.3"}, "unban: invalid ban target"},
		{[]string{"ban", "192.0.2.1", "192.0.2.2"}, `ban: unexpected argument "192.0.2.2"`},
		{[]string{"ban", "192.0.2.1", "--ttl"}, "ban: flag needs an argument: --ttl"},
		{[]string{"ban", "192.0.2.1", "--frob", "1"}, "ban: flag --frob: "},
		{[]string{"ban", "192.0.2.1", "--ttl", "soon"}, "ban: flag --ttl: "},
		{[]string{"bans", "x"}, "unexpected argument"},
	} {
		_, _, err := runApp(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.err)
		}
	}
}

func TestBanCommands(t *testing.T) {
	n := startNode(t, nodeArgs(t, "--http", "--http.port", "0", "--nodiscover")...)
	url := n.d.url("http")
	peer := startPlainServer(t)
	peer.AddPeer(n.d.srv.Self())
	waitFor(t, "peer connected", func() bool { return n.d.srv.PeerCount() == 1 })

	id := peer.Self().ID().String()
	out, _, err := runApp(t, "ban", "--rpc", url, "--ttl", "3h", peer.Self().URLv4(), "--ttl=2h", "--reason", "spam")
	if err != nil || out != "Banned "+peer.Self().URLv4()+" for 2h0m0s\n" {
		t.Fatalf("ban: %v\n%s", err, out)
	}
	waitFor(t, "banned peer gone", func() bool { return n.d.srv.PeerCount() == 0 })
	if _, _, err := runApp(t, "ban", "--rpc", url, "192.0.2.7"); err != nil {
		t.Fatal(err)
	}
	out, _, err = runApp(t, "bans", "--rpc", url)
	if err != nil || !strings.Contains(out, id) || !strings.Contains(out, "spam") || !strings.Contains(out, "1 h 59 min") ||
		!strings.Contains(out, "192.0.2.7") || !strings.Contains(out, "admin") {
		t.Errorf("bans: %v\n%s", err, out)
	}
	out, _, err = runApp(t, "bans", "--rpc", url, "--json")
	var list []p2p.BanInfo
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 || list[0].ID != id || list[1].IP != "192.0.2.7" {
		t.Errorf("bans --json: %v\n%s", err, out)
	}
	if out, _, _ := runApp(t, "diag", "--rpc", url); !strings.Contains(out, "Bans: node IDs 1, IP addresses 1") || !strings.Contains(out, "[backoff-bans]") {
		t.Errorf("diag does not show the bans:\n%s", out)
	}
	// Banning ourselves is refused by the node.
	if _, _, err := runApp(t, "ban", "--rpc", url, n.d.srv.Self().ID().String()); err == nil || !strings.Contains(err.Error(), "ban: cannot ban the local node") {
		t.Errorf("ban self: %v", err)
	}

	for _, target := range []string{id, "192.0.2.7"} {
		out, _, err = runApp(t, "unban", "--rpc", url, target)
		if err != nil || out != "Lifted the ban of "+target+"\n" {
			t.Errorf("unban %s: %v\n%s", target, err, out)
		}
	}
	if out, _, err = runApp(t, "unban", "--rpc", url, id); err != nil || out != id+" was not banned\n" {
		t.Errorf("second unban: %v\n%s", err, out)
	}
	if out, _, err = runApp(t, "bans", "--rpc", url); err != nil || out != "No bans.\n" {
		t.Errorf("bans after unban: %v\n%s", err, out)
	}
}
