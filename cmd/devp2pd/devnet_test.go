package main

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDevnet(t *testing.T) {
	out, _, err := runApp(t, "devnet", "-n", "5", "--duration", "3s", "--interval", "250ms")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	tables := strings.Split(strings.TrimSpace(out), "\n\n")
	if len(tables) < 3 {
		t.Fatalf("want a table per round, got:\n%s", out)
	}
	final := tables[len(tables)-1]
	// The nodes find each other through discovery: every node has peers
	// and measured echo round trips, and each of nodes 1–4 dialed at least
	// one (outbound caps of 2 with MaxPeers 8) — unless all the others
	// dialed it first, which leaves it nothing to dial.
	conns := regexp.MustCompile(`(?m)^(\d+) connections$`).FindStringSubmatch(final)
	if conns == nil {
		t.Fatalf("final table lacks a connection count:\n%s", final)
	}
	if c, _ := strconv.Atoi(conns[1]); c < 4 {
		t.Errorf("%d connections, want at least 4:\n%s", c, final)
	}
	row := regexp.MustCompile(`(?m)^(\d)\s+[0-9a-f]{16}\s+\d+\s+(\d+)\s+\d+\s+(\d+)\s+(\S+ ms|-)`)
	rows := row.FindAllStringSubmatch(final, -1)
	if len(rows) != 5 {
		t.Fatalf("final table has %d node rows:\n%s", len(rows), final)
	}
	for _, r := range rows {
		if r[2] == "0" || r[4] == "-" || (r[1] != "0" && r[3] == "0" && r[2] != "4") {
			t.Errorf("node %s: %s peers, %s outbound, echo %s\n%s", r[1], r[2], r[3], r[4], final)
		}
	}
	if !strings.HasSuffix(strings.TrimSpace(out), "Stopping the nodes.") {
		t.Errorf("no clean stop:\n%s", out)
	}
}

// The nodes of a devnet reach peers through discovery alone, soon: every
// node has a peer within a few seconds, and all peers came from dynamic
// dials (none added by hand or as static nodes).
func TestDevnetDiscovery(t *testing.T) {
	const n = 6
	nodes, err := startDevnet(n, newLogger(io.Discard, 0, false))
	defer func() {
		for _, nd := range nodes {
			nd.srv.Stop()
		}
	}()
	if err != nil {
		t.Fatal(err)
	}
	for i, nd := range nodes[1:] {
		if got := nd.srv.Config.BootstrapNodes; len(got) != 1 || got[0].ID() != nodes[0].srv.Self().ID() {
			t.Fatalf("node %d: bootnodes %v, want node 0", i+1, got)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ready := 0
		for _, nd := range nodes {
			if nd.srv.PeerCount() > 0 {
				ready++
			}
		}
		if ready == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10s only %d of %d nodes have peers", ready, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var dynamic uint64
	for i, nd := range nodes {
		st := nd.srv.Stats()
		if st.Peers.Static != 0 || st.Dials.Static.Started != 0 {
			t.Errorf("node %d: static peers or dials: %+v %+v", i, st.Peers, st.Dials.Static)
		}
		if st.Discovery == nil {
			t.Errorf("node %d runs no discovery", i)
		}
		dynamic += st.Dials.Dynamic.Succeeded
	}
	if dynamic == 0 {
		t.Error("no dynamic dial succeeded")
	}
}

func TestDevnetFlags(t *testing.T) {
	for _, args := range [][]string{{"devnet", "-n", "1"}, {"devnet", "-n", "201"}, {"devnet", "--interval", "1ms"}} {
		if _, _, err := runApp(t, args...); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

// On a terminal the table is redrawn in place: the cursor goes back up
// over the previous table and each line clears what a longer one left.
func TestDevnetTableLive(t *testing.T) {
	nodes, err := startDevnet(2, newLogger(io.Discard, 0, false))
	defer func() {
		for _, nd := range nodes {
			nd.srv.Stop()
		}
	}()
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	tbl := &devnetTable{w: &buf, live: true, start: time.Now(), interval: time.Second}
	tbl.draw(nodes)
	first := buf.String()
	if strings.Contains(first, "\033[") && !strings.Contains(first, "\033[K\n") {
		t.Fatalf("first drawing moves the cursor: %q", first)
	}
	lines := strings.Count(first, "\n")
	buf.Reset()
	tbl.draw(nodes)
	second := buf.String()
	if !strings.HasPrefix(second, fmt.Sprintf("\033[%dA", lines)) {
		t.Fatalf("second drawing does not move up %d lines: %q", lines, second)
	}
	if strings.Count(second, "\033[K\n") != lines {
		t.Errorf("not every line is cleared: %q", second)
	}
	// Not on a terminal: plain tables separated by blank lines.
	buf.Reset()
	plain := &devnetTable{w: &buf, start: time.Now(), interval: time.Second}
	plain.draw(nodes)
	plain.final = true
	plain.draw(nodes)
	if strings.Contains(buf.String(), "\033") || strings.Count(buf.String(), "\n\ndevnet: 2 nodes") != 1 {
		t.Errorf("plain output: %q", buf.String())
	}
	if strings.Contains(strings.Split(buf.String(), "\n\n")[1], "Ctrl-C") {
		t.Error("the final table still says Ctrl-C to quit")
	}
}

func TestIsTerminal(t *testing.T) {
	if isTerminal(new(strings.Builder)) {
		t.Error("a strings.Builder is a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("a regular file is a terminal")
	}
}
