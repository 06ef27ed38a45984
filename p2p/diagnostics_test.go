package p2p

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/devp2p-go/devp2p/enode"
)

// Diagnostics reports the slots, reachability, dials and bans of a live
// server, and survives a JSON round trip unchanged.
func TestDiagnosticsServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		keyA := newTestKey(t)
		nodeA := enode.NewV4(keyA.Public(), netip.MustParseAddr("127.0.4.1"), 30303, 30303)
		b := startPipeServer(t, pn, "127.0.4.2", func(c *Config) { c.TrustedNodes = []*enode.Node{nodeA} })
		a := startPipeServerKey(t, pn, "127.0.4.1", keyA, nil)
		a.AddPeer(b.node)
		synctest.Wait()

		da, db := a.Diagnostics(), b.Diagnostics()
		if !da.Running || da.Enode != a.Self().URLv4() || da.RecordIP != "127.0.4.1" || da.Inbound.ListenAddr != "127.0.4.1:30303" {
			t.Errorf("a: %+v", da)
		}
		wantA := DiagSlots{MaxPeers: 10, Peers: 1,
			Inbound:  SlotUse{Cap: 7, Used: 0, Free: 7},
			Outbound: SlotUse{Cap: 3, Used: 1, Free: 2},
			Static:   ConfiguredUse{Configured: 1, Connected: 1}}
		if da.Slots != wantA {
			t.Errorf("a's slots %+v, want %+v", da.Slots, wantA)
		}
		wantB := DiagSlots{MaxPeers: 10, Peers: 1,
			Inbound:  SlotUse{Cap: 7, Used: 1, Free: 6},
			Outbound: SlotUse{Cap: 3, Used: 0, Free: 3},
			Trusted:  ConfiguredUse{Configured: 1, Connected: 1}}
		if db.Slots != wantB {
			t.Errorf("b's slots %+v, want %+v", db.Slots, wantB)
		}
		if da.Inbound.SecondsSinceConn != -1 || da.Inbound.SecondsSincePeer != -1 {
			t.Errorf("a was never dialed but reports %+v", da.Inbound)
		}
		if db.Inbound.SecondsSinceConn != 0 || db.Inbound.SecondsSincePeer != 0 {
			t.Errorf("b was just dialed but reports %+v", db.Inbound)
		}
		if da.Dials.Attempts != 1 || da.Dials.Successes != 1 || da.Dials.Failures != 0 {
			t.Errorf("a's dials %+v", da.Dials)
		}
		if !da.Config.NoDiscovery || da.Discovery.Enabled || da.Config.MaxPeers != 10 {
			t.Errorf("a's config %+v, discovery %+v", da.Config, da.Discovery)
		}
		if da.UptimeSeconds != -1 && da.UptimeSeconds != 0 {
			t.Errorf("uptime %d", da.UptimeSeconds)
		}

		// Bans are counted and listed.
		other := newTestKey(t)
		otherID := enode.PubkeyToIDV4(other.Public())
		b.BanNode(otherID, netip.Addr{}, time.Hour, "test")
		b.BanNode(enode.ID{}, netip.MustParseAddr("192.0.2.1"), time.Minute, "by IP")
		db = b.Diagnostics()
		if db.Bans.IDs != 1 || db.Bans.IPs != 1 || len(db.Bans.List) != 2 {
			t.Fatalf("bans %+v", db.Bans)
		}
		if ip := db.Bans.List[1]; ip.IP != "192.0.2.1" || ip.ID != "" || ip.Reason != "by IP" || ip.ExpiresInSeconds != 60 {
			t.Errorf("IP ban %+v", ip)
		}
		if id := db.Bans.List[0]; id.ID != otherID.String() || id.IP != "" || id.ExpiresInSeconds != 3600 {
			t.Errorf("ID ban %+v", id)
		}
		if !hasFinding(db.Findings, FindingBackoffBans) {
			t.Errorf("no %s finding: %+v", FindingBackoffBans, db.Findings)
		}

		// JSON round trip, as the diag command decodes it.
		j, err := json.Marshal(db)
		if err != nil {
			t.Fatal(err)
		}
		var back Diagnostics
		if err := json.Unmarshal(j, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, db) {
			t.Errorf("JSON round trip changed the snapshot:\n%+v\n%+v", back, db)
		}

		b.Stop()
		if d := b.Diagnostics(); d.Running || !slices.Equal(codes(d.Findings), []string{FindingNotRunning}) {
			t.Errorf("after Stop: %+v", d)
		}
	})
}

func TestDiagnosticsNotStarted(t *testing.T) {
	d := new(Server).Diagnostics()
	if d.Running || !slices.Equal(codes(d.Findings), []string{FindingNotRunning}) || d.Findings[0].Severity != SeverityError {
		t.Errorf("before Start: %+v", d)
	}
}

// healthyDiag is a node with all it wants: the base of the table below.
func healthyDiag() Diagnostics {
	return Diagnostics{
		Time:          time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC),
		Running:       true,
		UptimeSeconds: 3600,
		RecordIP:      "203.0.113.7",
		Config:        DiagConfig{MaxPeers: 50, MaxPendingPeers: 50, Bootnodes: 4, Protocols: 1},
		Discovery:     DiagDiscovery{Enabled: true, TableNodes: 200, Validated: 150},
		Slots: DiagSlots{MaxPeers: 50, Peers: 30,
			Inbound:  SlotUse{Cap: 34, Used: 14, Free: 20},
			Outbound: SlotUse{Cap: 16, Used: 16, Free: 0}},
		Inbound: DiagInbound{ListenAddr: "[::]:30303", SecondsSinceConn: 5, SecondsSincePeer: 60},
		Dials: DiagDials{Attempts: 100, Successes: 20, Failures: 3,
			FailuresByClass: map[string]uint64{"busy": 2, "connect": 1}},
		HandshakeFailures: map[string]map[string]uint64{},
	}
}

func TestDiagFindings(t *testing.T) {
	tests := []struct {
		name  string
		mod   func(d *Diagnostics)
		codes []string // the findings' codes, in order
		sevs  []Severity
		msg   string // a substring of one of the messages
	}{
		{name: "healthy", mod: func(*Diagnostics) {},
			codes: []string{FindingOK}, msg: "30 peers (14 inbound, 16 outbound)"},
		{name: "not running", mod: func(d *Diagnostics) { d.Running = false },
			codes: []string{FindingNotRunning}},
		{name: "maxpeers zero", mod: func(d *Diagnostics) {
			d.Config.MaxPeers, d.Slots = 0, DiagSlots{}
		}, codes: []string{FindingNoPeers, FindingMaxPeersZero}, msg: "MaxPeers is 0"},
		{name: "nodial", mod: func(d *Diagnostics) {
			d.Config.NoDial, d.Slots.Outbound = true, SlotUse{}
		}, codes: []string{FindingNoDial}, msg: "NoDial is set"},
		{name: "nodial, not listening", mod: func(d *Diagnostics) {
			d.Config.NoDial, d.Slots.Outbound, d.Inbound.ListenAddr = true, SlotUse{}, ""
		}, codes: []string{FindingNoDialNoListen}},
		{name: "not listening", mod: func(d *Diagnostics) { d.Inbound.ListenAddr = "" },
			codes: []string{FindingNotListening}, msg: "at most 16"},
		{name: "trusted only", mod: func(d *Diagnostics) {
			d.Config.TrustedOnly, d.Slots.Trusted = true, ConfiguredUse{Configured: 2, Connected: 2}
		}, codes: []string{FindingTrustedOnly}, msg: "only the 2 trusted nodes"},
		{name: "netrestrict", mod: func(d *Diagnostics) { d.Config.NetRestrict = "10.0.0.0/8" },
			codes: []string{FindingNetRestrict, FindingOK}},
		{name: "discovery empty", mod: func(d *Diagnostics) { d.Discovery.TableNodes = 0 },
			codes: []string{FindingDiscoveryEmpty}, sevs: []Severity{SeverityError}, msg: "are the 4 bootnodes unreachable?"},
		{name: "discovery empty at start", mod: func(d *Diagnostics) {
			d.Discovery.TableNodes, d.UptimeSeconds, d.Inbound.SecondsSinceConn = 0, 10, -1
			d.Inbound.SecondsSincePeer = -1
		}, codes: []string{FindingDiscoveryEmpty, FindingNoInboundYet, FindingOK}, sevs: []Severity{SeverityInfo, SeverityInfo}, msg: "started 10 s ago"},
		{name: "no bootnodes", mod: func(d *Diagnostics) { d.Discovery.TableNodes, d.Config.Bootnodes = 0, 0 },
			codes: []string{FindingNoBootnodes}, msg: "set --bootnodes"},
		{name: "discovery off, no static", mod: func(d *Diagnostics) {
			d.Discovery, d.Config.NoDiscovery, d.Slots.Outbound = DiagDiscovery{}, true, SlotUse{Cap: 16, Used: 10, Free: 6}
		}, codes: []string{FindingDiscoveryOff, FindingOutboundBelow}, sevs: []Severity{SeverityWarning, SeverityInfo}},
		{name: "discovery off, outbound full", mod: func(d *Diagnostics) { d.Discovery, d.Config.NoDiscovery = DiagDiscovery{}, true },
			codes: []string{FindingDiscoveryOff, FindingOK}, sevs: []Severity{SeverityInfo, SeverityOK}},
		{name: "no inbound for 25 min", mod: func(d *Diagnostics) {
			d.Inbound.SecondsSinceConn, d.Inbound.SecondsSincePeer = 1500, 2000
		}, codes: []string{FindingNoInbound}, sevs: []Severity{SeverityWarning},
			msg: "No inbound connection in the last 25 min although listening on [::]:30303: the port is probably not reachable from the Internet; forward TCP and UDP 30303"},
		{name: "never inbound", mod: func(d *Diagnostics) {
			d.Inbound.SecondsSinceConn, d.Inbound.SecondsSincePeer = -1, -1
		}, codes: []string{FindingNoInbound}, msg: "No inbound connection since the start 1 h ago"},
		{name: "never inbound, uptime unknown", mod: func(d *Diagnostics) {
			d.Inbound.SecondsSinceConn, d.Inbound.SecondsSincePeer, d.UptimeSeconds = -1, -1, -1
		}, codes: []string{FindingNoInbound}, msg: "if the node has run for more than 10 min"},
		{name: "inbound connections, no inbound peers", mod: func(d *Diagnostics) { d.Inbound.SecondsSincePeer = -1 },
			codes: []string{FindingInboundNoPeers, FindingOK}},
		{name: "inbound full", mod: func(d *Diagnostics) {
			d.Slots.Inbound = SlotUse{Cap: 34, Used: 34}
			d.Slots.Peers = 50
		}, codes: []string{FindingInboundFull, FindingOK}, msg: "All 34 inbound slots"},
		{name: "loopback listener", mod: func(d *Diagnostics) {
			d.Inbound.ListenAddr, d.Inbound.SecondsSinceConn, d.Inbound.SecondsSincePeer = "127.0.0.1:30303", -1, -1
		}, codes: []string{FindingListenLoopback}, msg: "only nodes on this host can connect"},
		{name: "record private", mod: func(d *Diagnostics) { d.RecordIP = "192.168.1.20" },
			codes: []string{FindingRecordPrivateIP, FindingOK}},
		{name: "record loopback", mod: func(d *Diagnostics) { d.RecordIP = "127.0.0.1" },
			codes: []string{FindingOK}},
		{name: "pending full", mod: func(d *Diagnostics) { d.Slots.PendingInbound = 50 },
			codes: []string{FindingPendingFull}},
		{name: "no peers, all busy", mod: func(d *Diagnostics) {
			d.Slots.Peers, d.Slots.Inbound, d.Slots.Outbound = 0, SlotUse{Cap: 34, Free: 34}, SlotUse{Cap: 16, Free: 16}
			d.Inbound.SecondsSincePeer = 3000
			d.Dials.FailuresByClass = map[string]uint64{"busy": 40, "none": 3}
		}, codes: []string{FindingNoPeers, FindingOutboundBelow, FindingInboundNoPeers, FindingDialsBusy},
			msg: "All 40 dial failures since the start were 'too many peers'"},
		{name: "mostly connect failures", mod: func(d *Diagnostics) {
			d.Slots.Outbound = SlotUse{Cap: 16, Used: 4, Free: 12}
			d.Dials.FailuresByClass = map[string]uint64{"connect": 30, "busy": 5, "handshake": 5}
		}, codes: []string{FindingDialsConnect, FindingOutboundBelow}, msg: "30 of 40 dial failures since the start were connection failures"},
		{name: "handshake failures", mod: func(d *Diagnostics) {
			d.Dials.FailuresByClass = map[string]uint64{"handshake": 9}
		}, codes: []string{FindingDialsHandshake}},
		{name: "protocol failures", mod: func(d *Diagnostics) {
			d.Dials.FailuresByClass = map[string]uint64{"protocol": 9, "busy": 1}
		}, codes: []string{FindingDialsProtocol}},
		{name: "few failures", mod: func(d *Diagnostics) { d.Dials.FailuresByClass = map[string]uint64{"protocol": 4} },
			codes: []string{FindingOK}},
		{name: "no dial candidates", mod: func(d *Diagnostics) {
			d.Slots.Outbound = SlotUse{Cap: 16, Free: 16}
			d.Dials = DiagDials{}
		}, codes: []string{FindingOutboundBelow, FindingNoDialCandidates}, sevs: []Severity{SeverityWarning, SeverityWarning},
			msg: "No dial since the start although 16 outbound slots are free"},
		{name: "backed off and banned", mod: func(d *Diagnostics) {
			d.Dials.BackedOff, d.Bans.IDs, d.Bans.IPs = 7, 2, 1
			d.Dials.BackedOffByReason = map[string]int{"connect": 5, "busy": 2}
		}, codes: []string{FindingBackoffBans, FindingOK}, msg: "Backed off after failures: 7 nodes; banned: 2 node IDs and 1 IP addresses. Backed off by reason: busy 2, connect 5."},
		{name: "static missing", mod: func(d *Diagnostics) { d.Slots.Static = ConfiguredUse{Configured: 3, Connected: 1} },
			codes: []string{FindingStaticMissing}, msg: "2 of 3 static nodes"},
		{name: "trusted missing", mod: func(d *Diagnostics) { d.Slots.Trusted = ConfiguredUse{Configured: 2} },
			codes: []string{FindingTrustedMissing, FindingOK}},
		{name: "handshake failure reasons", mod: func(d *Diagnostics) {
			d.HandshakeFailures = map[string]map[string]uint64{
				HandshakePhaseRLPx: {"invalid": 30, "timeout": 2}, HandshakePhaseHello: {"too many peers": 5}}
		}, codes: []string{FindingHandshakeFailures, FindingOK}, msg: `30 of 37 failed connection setups since the start ended in phase rlpx with "invalid"`},
		{name: "listener rejections", mod: func(d *Diagnostics) {
			d.Inbound.Rejections = map[string]uint64{"throttled": 20, "netrestrict": 1}
		}, codes: []string{FindingListenerRejects, FindingOK}, msg: `20 of 21 inbound connections`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := healthyDiag()
			tc.mod(&d)
			got := Findings(&d, nil)
			if !slices.Equal(codes(got), tc.codes) {
				t.Fatalf("codes %v, want %v\n%s", codes(got), tc.codes, dumpFindings(got))
			}
			for i, sev := range tc.sevs {
				if got[i].Severity != sev {
					t.Errorf("finding %d: severity %s, want %s", i, got[i].Severity, sev)
				}
			}
			for i := 1; i < len(got); i++ {
				if got[i].Severity.rank() < got[i-1].Severity.rank() {
					t.Errorf("not sorted by severity:\n%s", dumpFindings(got))
				}
			}
			if tc.msg != "" && !strings.Contains(dumpFindings(got), tc.msg) {
				t.Errorf("no message contains %q:\n%s", tc.msg, dumpFindings(got))
			}
		})
	}
}

// With an earlier snapshot, the counter findings look at the changes only.
func TestDiagFindingsWindow(t *testing.T) {
	prev := healthyDiag()
	prev.Slots.Outbound = SlotUse{Cap: 16, Used: 10, Free: 6}
	prev.Dials.FailuresByClass = map[string]uint64{"connect": 500}
	prev.HandshakeFailures = map[string]map[string]uint64{HandshakePhaseRLPx: {"invalid": 100}}
	cur := prev
	cur.Time = prev.Time.Add(30 * time.Second)
	cur.Dials.Attempts += 12
	cur.Dials.FailuresByClass = map[string]uint64{"connect": 501, "busy": 11}
	cur.HandshakeFailures = map[string]map[string]uint64{HandshakePhaseRLPx: {"invalid": 101}, HandshakePhaseHello: {"too many peers": 11}}

	// Since the start, connection failures dominate.
	all := Findings(&cur, nil)
	if !hasFinding(all, FindingDialsConnect) || hasFinding(all, FindingDialsBusy) {
		t.Errorf("since the start:\n%s", dumpFindings(all))
	}
	// In the last 30 s, busy ones do.
	win := Findings(&cur, &prev)
	if hasFinding(win, FindingDialsConnect) || !hasFinding(win, FindingDialsBusy) {
		t.Errorf("in the window:\n%s", dumpFindings(win))
	}
	if s := dumpFindings(win); !strings.Contains(s, "11 of 12 dial failures in the last 30 s") ||
		!strings.Contains(s, `11 of 12 failed connection setups in the last 30 s ended in phase hello with "too many peers"`) {
		t.Errorf("window messages:\n%s", s)
	}
	// No dial in the window.
	idle := prev
	idle.Time = prev.Time.Add(time.Minute)
	if w := Findings(&idle, &prev); !strings.Contains(dumpFindings(w), "No dial in the last 1 min although 6 outbound slots are free") {
		t.Errorf("idle window:\n%s", dumpFindings(w))
	}
}

func TestFmtSeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0 s", 59 * time.Second: "59 s", 10 * time.Minute: "10 min", time.Hour: "1 h",
		3*time.Hour + 5*time.Minute + 7*time.Second: "3 h 5 min",
	} {
		if got := fmtSeconds(d); got != want {
			t.Errorf("fmtSeconds(%v) = %q, want %q", d, got, want)
		}
	}
}

func codes(fs []Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Code
	}
	return out
}

func hasFinding(fs []Finding, code string) bool {
	return slices.Contains(codes(fs), code)
}

func dumpFindings(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(string(f.Severity) + " " + f.Code + ": " + f.Message + "\n")
	}
	return b.String()
}
