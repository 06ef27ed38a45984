package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Network formation: a loopback network of nodes of one implementation
// (maxpeers 12, dial ratio 3: an outbound target of 4) that know only one
// discovery-only bootnode, started together. Measured: the time from the
// cold start until every node holds its outbound target at once, the share
// of dials refused because the remote had too many peers, and the CPU of
// the whole network; then, once the network is settled, the time a fresh
// node takes to reach its outbound target and its failed dials.
//
// Each implementation's network runs in a child process of its own (this
// binary started again with formationEnv set), so that its CPU and its
// sockets are counted alone. The child prints one JSON formationResult.

var formationReps = flag.Int("formation-reps", 1, "repetitions of the formation measurement (each takes one to four minutes for both implementations)")

// formationEnv holds the JSON formationConfig of a formation child.
const formationEnv = "DEVP2P_BENCH_FORMATION"

const formationDialRatio = 3 // go-ethereum's default, and ours

// formationConfig is one formation run.
type formationConfig struct {
	Impl     string
	Nodes    int
	MaxPeers int
	// Timeout caps the formation; JoinTimeout caps the fresh node's join.
	Timeout, JoinTimeout time.Duration
	// Profile, if set, is where the child writes a CPU profile of the
	// formation (cold start until every node is at its target).
	Profile string
}

func (c formationConfig) target() int { return c.MaxPeers / formationDialRatio }

// formationResult is what one run measured.
type formationResult struct {
	Impl  string
	Nodes int

	StartSeconds float64 // starting all servers, part of FormSeconds
	FormSeconds  float64 // cold start → every node at its target, or the cap
	FormTimedOut bool
	AtTarget     int // nodes at their target when the formation ended
	// Reached holds, for 50, 90 and 99 % of the nodes, when that many were
	// first at their target at once (seconds from the cold start), and
	// ReachedCPU the CPU seconds spent by then.
	Reached, ReachedCPU [3]float64
	CPUSeconds          float64 // child process CPU over FormSeconds
	OutboundMean        float64 // outbound peers per node at the end
	OutboundMax         int
	PeersMean           float64
	// InboundZero and InboundFull count the nodes with no inbound peer
	// and with every inbound slot taken at the end: how evenly the dials
	// spread over the network.
	InboundZero, InboundFull int

	// Dials of the formation (by the first Nodes servers). Refused counts
	// the dials refused because the remote had too many peers, by a
	// DiscTooManyPeers or, for ours, by a close before the encryption
	// handshake because no inbound slot was free.
	Dials, Refused int64
	// Failures counts failed dials by reason, as the dialer saw them.
	Failures map[string]int64
	// Rejected counts inbound connections closed before the encryption
	// handshake, by reason, as the listener saw them (ours only).
	Rejected map[string]int64

	// UDPRcvbufErrors is the growth of the kernel's count of UDP datagrams
	// dropped for a full socket receive buffer over the formation. It is
	// counted for the whole machine (/proc/net/snmp), so other programs'
	// drops are in it.
	UDPRcvbufErrors int64

	SettleSeconds float64 // waiting for the last dials before the join

	JoinSeconds  float64 // fresh node started → at its target, or the cap
	JoinTimedOut bool
	JoinOutbound int
	JoinDials    int64 // dials of the fresh node until it reached its target
	JoinFailed   int64 // of those, failed
	JoinFailures map[string]int64
	JoinNote     string

	// LogRecords counts the log records the counting handler of our
	// servers received (every level down to trace), for the cost of
	// counting from logs.
	LogRecords int64
}

// formationImpl builds one implementation's network.
type formationImpl interface {
	// startBootnode starts the discovery-only bootnode on 127.0.0.1.
	startBootnode() error
	// startNode starts a server on an address of its own (nodeIP) with
	// maxPeers that knows only the bootnode. The joiner's dials are
	// counted apart from the others'.
	startNode(maxPeers int, joiner bool) (formationNode, error)
	// counts returns the dials of the servers started with joiner unset.
	counts() dialTally
	// joinCounts returns the dials of the joiner.
	joinCounts() dialTally
	// close stops the bootnode.
	close()
}

// formationNode is a running server of the network.
type formationNode interface {
	// outbound returns the number of dialed peers and of all peers.
	outbound() (out, total int)
	stop()
}

// dialTally counts dials and their failures.
type dialTally struct {
	dials    int64
	refused  int64            // refused as too many peers
	failures map[string]int64 // failed dials by reason (dialer side)
	rejected map[string]int64 // inbound closes before the handshake (listener side)
	records  int64
	note     string
}

func (t dialTally) failed() (n int64) {
	for _, v := range t.failures {
		n += v
	}
	return n
}

func formationImplByName(name string) (formationImpl, error) {
	switch name {
	case "ours":
		return newOurFormation(), nil
	case "go-ethereum":
		return newGethFormation(), nil
	}
	return nil, fmt.Errorf("unknown implementation %q", name)
}

// runFormationChildIfRequested runs a formation child and exits if this
// process is one.
func runFormationChildIfRequested() {
	spec := os.Getenv(formationEnv)
	if spec == "" {
		return
	}
	var cfg formationConfig
	if err := json.Unmarshal([]byte(spec), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench formation child:", err)
		os.Exit(2)
	}
	raiseFileLimit()
	fi, err := formationImplByName(cfg.Impl)
	if err == nil {
		var res formationResult
		if res, err = formationRun(cfg, fi); err == nil {
			err = json.NewEncoder(os.Stdout).Encode(res)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench formation child:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Polling periods of the outbound peer counts.
const (
	formationPoll = 100 * time.Millisecond
	joinPoll      = 2 * time.Millisecond
	// settleQuiet is how long no node may start a dial before the fresh
	// node joins; settleMax bounds the wait.
	settleQuiet = time.Second
	settleMax   = 10 * time.Second
)

// formationRun runs one formation and join in this process.
func formationRun(cfg formationConfig, fi formationImpl) (res formationResult, err error) {
	res = formationResult{Impl: cfg.Impl, Nodes: cfg.Nodes}
	if need := uint64(12*cfg.Nodes + 200); fileLimit() < need {
		return res, fmt.Errorf("a %d-node network needs about %d open files, the limit is %d (ulimit -n)", cfg.Nodes, need, fileLimit())
	}
	if err := fi.startBootnode(); err != nil {
		return res, fmt.Errorf("bootnode: %w", err)
	}
	defer fi.close()
	var nodes []formationNode
	defer func() { stopNodes(nodes) }()
	target := cfg.target()

	var profile *os.File
	if cfg.Profile != "" {
		if profile, err = os.Create(cfg.Profile); err != nil {
			return res, err
		}
		if err := pprof.StartCPUProfile(profile); err != nil {
			profile.Close()
			return res, err
		}
	}
	stopProfile := func() {
		if profile != nil {
			pprof.StopCPUProfile()
			profile.Close()
			profile = nil
		}
	}
	defer stopProfile()

	// ---- cold start ----
	runtime.GC()
	udp0 := udpRcvbufErrors()
	cpu0, t0 := processCPU(), time.Now()
	for range cfg.Nodes {
		n, err := fi.startNode(cfg.MaxPeers, false)
		if err != nil {
			return res, err
		}
		nodes = append(nodes, n)
	}
	res.StartSeconds = time.Since(t0).Seconds()
	deadline := t0.Add(cfg.Timeout)
	for {
		res.AtTarget = 0
		for _, n := range nodes {
			if out, _ := n.outbound(); out >= target {
				res.AtTarget++
			}
		}
		for i, share := range []float64{0.5, 0.9, 0.99} {
			if res.Reached[i] == 0 && float64(res.AtTarget) >= share*float64(len(nodes)) {
				res.Reached[i] = time.Since(t0).Seconds()
				res.ReachedCPU[i] = (processCPU() - cpu0).Seconds()
			}
		}
		if res.AtTarget == len(nodes) {
			break
		}
		if time.Now().After(deadline) {
			res.FormTimedOut = true
			break
		}
		time.Sleep(formationPoll)
	}
	res.FormSeconds = time.Since(t0).Seconds()
	res.CPUSeconds = (processCPU() - cpu0).Seconds()
	res.UDPRcvbufErrors = udpRcvbufErrors() - udp0
	stopProfile()
	c := fi.counts()
	res.Dials, res.Refused, res.Failures, res.Rejected = c.dials, c.refused, c.failures, c.rejected
	var outSum, peerSum int
	for _, n := range nodes {
		out, total := n.outbound()
		outSum += out
		peerSum += total
		res.OutboundMax = max(res.OutboundMax, out)
		switch in := total - out; {
		case in == 0:
			res.InboundZero++
		case in >= cfg.MaxPeers-target:
			res.InboundFull++
		}
	}
	res.OutboundMean = float64(outSum) / float64(len(nodes))
	res.PeersMean = float64(peerSum) / float64(len(nodes))

	// ---- settle: no node starts a dial for settleQuiet ----
	s0 := time.Now()
	last, lastChange := c.dials, time.Now()
	for time.Since(lastChange) < settleQuiet && time.Since(s0) < settleMax {
		time.Sleep(100 * time.Millisecond)
		if d := fi.counts().dials; d != last {
			last, lastChange = d, time.Now()
		}
	}
	res.SettleSeconds = time.Since(s0).Seconds()

	// ---- a fresh node joins ----
	j0 := time.Now()
	joiner, err := fi.startNode(cfg.MaxPeers, true)
	if err != nil {
		return res, fmt.Errorf("fresh node: %w", err)
	}
	nodes = append(nodes, joiner)
	jdeadline := j0.Add(cfg.JoinTimeout)
	for {
		out, _ := joiner.outbound()
		res.JoinOutbound = out
		if out >= target {
			break
		}
		if time.Now().After(jdeadline) {
			res.JoinTimedOut = true
			break
		}
		time.Sleep(joinPoll)
	}
	res.JoinSeconds = time.Since(j0).Seconds()
	jc := fi.joinCounts()
	res.JoinDials, res.JoinFailed, res.JoinFailures, res.JoinNote = jc.dials, jc.failed(), jc.failures, jc.note
	res.LogRecords = fi.counts().records + jc.records
	return res, nil
}

// udpRcvbufErrors returns the machine's count of UDP datagrams dropped
// because a socket's receive buffer was full, or 0 if unknown.
func udpRcvbufErrors() int64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, name := range names {
			if name == "RcvbufErrors" && i < len(f) {
				n, _ := strconv.ParseInt(f[i], 10, 64)
				return n
			}
		}
	}
	return 0
}

// stopNodes stops the nodes in parallel.
func stopNodes(nodes []formationNode) {
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Go(n.stop)
	}
	wg.Wait()
}

// ---- parent side ----

// formationChild runs one formation in a child process.
func formationChild(cfg formationConfig) (formationResult, error) {
	var res formationResult
	exe, err := os.Executable()
	if err != nil {
		return res, err
	}
	spec, err := json.Marshal(cfg)
	if err != nil {
		return res, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), formationEnv+"="+string(spec))
	cmd.Stderr = os.Stderr
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		return res, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Formation and join are capped; starting, settling and stopping 200
	// servers take a few seconds more.
	limit := cfg.Timeout + cfg.JoinTimeout + settleMax + time.Minute
	select {
	case err = <-done:
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		return res, fmt.Errorf("%s formation child still running after %v, killed", cfg.Impl, limit)
	}
	if err != nil {
		return res, fmt.Errorf("%s formation child: %w", cfg.Impl, err)
	}
	if err := json.Unmarshal([]byte(out.String()), &res); err != nil {
		return res, fmt.Errorf("%s formation child printed %q: %w", cfg.Impl, out.String(), err)
	}
	return res, nil
}

// formationParams are the sizes of the formation measurement.
type formationParams struct {
	nodes, maxPeers      int
	timeout, joinTimeout time.Duration
}

// Targets of DESIGN.md §5.
const (
	formationTimeRatio  = 0.33 // cold start, ratio to go-ethereum
	formationRefusedPct = 20   // ours, % of dials refused as too many peers
	joinTimeRatio       = 1.0  // fresh node, ratio to go-ethereum
	joinFailedMax       = 5    // ours, failed dials of the fresh node
)

// zeroShown stands for a measured zero in a row: the table prints 0 as
// "not measured" and judges no target on it.
const zeroShown = 1e-9

// orZero returns the i-th figure of v, or zeroShown for a measured zero;
// 0 if v was not measured.
func orZero(v []float64, i int) float64 {
	switch {
	case v == nil:
		return 0
	case v[i] == 0:
		return zeroShown
	}
	return v[i]
}

// formationRows runs the formation measurement, ours and go-ethereum's
// alternating, and returns its rows.
func formationRows(filter *regexp.Regexp, fp formationParams, runOurs, runGeth bool, progress func(string)) []row {
	if !filter.MatchString("formation") {
		return nil
	}
	var ro, rg [][]float64
	var timeouts, joinTimeouts = map[string]int{}, map[string]int{}
	var last = map[string]formationResult{}
	for rep := range *formationReps {
		for _, name := range []string{"ours", "go-ethereum"} {
			if (name == "ours" && !runOurs) || (name == "go-ethereum" && !runGeth) {
				continue
			}
			progress(fmt.Sprintf("formation: %s, %d nodes, run %d of %d", name, fp.nodes, rep+1, *formationReps))
			cfg := formationConfig{Impl: name, Nodes: fp.nodes, MaxPeers: fp.maxPeers, Timeout: fp.timeout, JoinTimeout: fp.joinTimeout}
			if *cpuprofile != "" {
				cfg.Profile = fmt.Sprintf("%s.formation.%s.child%d", *cpuprofile, strings.ReplaceAll(name, "-", ""), rep)
			}
			res, err := formationChild(cfg)
			must(err)
			fmt.Fprintln(os.Stderr, "        "+res.summary())
			if res.FormTimedOut {
				timeouts[name]++
			}
			if res.JoinTimedOut {
				joinTimeouts[name]++
			}
			last[name] = res
			v := res.figures()
			if name == "ours" {
				ro = append(ro, v)
			} else {
				rg = append(rg, v)
			}
		}
	}
	o, g := medianOf(ro), medianOf(rg)
	at := func(v []float64, i int) float64 {
		if v == nil {
			return 0
		}
		return v[i]
	}
	timeoutNote := func(m map[string]int, what string, limit time.Duration) string {
		var parts []string
		for _, name := range []string{"ours", "go-ethereum"} {
			if m[name] > 0 {
				parts = append(parts, fmt.Sprintf("%s: %d of %d runs hit the %v cap on %s (counted as the cap)", name, m[name], *formationReps, limit, what))
			}
		}
		return strings.Join(parts, "; ")
	}
	join := func(parts ...string) string {
		var out []string
		for _, p := range parts {
			if p != "" {
				out = append(out, p)
			}
		}
		return strings.Join(out, "; ")
	}
	nodes := fmt.Sprintf("%d nodes", fp.nodes)
	desc := fmt.Sprintf("%s each on its own 127.1.x.y, one discovery-only bootnode on 127.0.0.1, maxpeers %d, outbound target %d", nodes, fp.maxPeers, fp.maxPeers/formationDialRatio)
	both := func(f func(v []float64) string) string {
		var parts []string
		if o != nil {
			parts = append(parts, "ours "+f(o))
		}
		if g != nil {
			parts = append(parts, "go-ethereum "+f(g))
		}
		return strings.Join(parts, ", ")
	}
	return []row{
		{group: "formation", metric: "formation: cold start → every node at its outbound target, " + nodes, unit: "s",
			ours: at(o, 0), theirs: at(g, 0), target: fmt.Sprintf("≤ %.2f×", formationTimeRatio), verdict: ratioAtMost(formationTimeRatio),
			note: join(desc, both(func(v []float64) string {
				return fmt.Sprintf("50/90/99 %% of nodes at target after %.1f/%.1f/%.1f s, outbound peers at the end mean %.1f, max %.0f; "+
					"%.0f nodes without inbound peers, %.0f with all inbound slots taken; %.1f s to start the servers; "+
					"%.0f UDP datagrams dropped for full receive buffers (whole machine)",
					v[12], v[13], v[14], v[7], v[8], v[15], v[16], v[6], v[18])
			}), timeoutNote(timeouts, "formation", fp.timeout))},
		{group: "formation", metric: "formation: dials refused as too many peers", unit: "% of dials",
			ours: orZero(o, 1), theirs: at(g, 1), target: fmt.Sprintf("ours ≤ %d %%", formationRefusedPct),
			verdict: func(_, ours float64) (bool, string) { return ours <= formationRefusedPct, fmt.Sprintf("%.1f %%", ours) },
			note: both(func(v []float64) string {
				return fmt.Sprintf("%.0f dials, %.1f %% failed for any reason", v[5], v[11])
			}) + refusedNote(last)},
		{group: "formation", metric: "formation: CPU of the whole network until formed (its process)", unit: "CPU s",
			ours: at(o, 2), theirs: at(g, 2), note: "user + system time of the child process: servers, bootnode and polling; until 99 % of nodes were at target: " +
				both(func(v []float64) string { return fmt.Sprintf("%.1f s", v[17]) })},
		{group: "formation", metric: "join: fresh node → its outbound target", unit: "s",
			ours: at(o, 3), theirs: at(g, 3), target: fmt.Sprintf("≤ %.0f×", joinTimeRatio), verdict: ratioAtMost(joinTimeRatio),
			note: join(timeoutNote(joinTimeouts, "the join", fp.joinTimeout))},
		{group: "formation", metric: "join: failed dials of the fresh node until at its target", unit: "dials",
			ours: orZero(o, 4), theirs: orZero(g, 4), target: fmt.Sprintf("ours ≤ %d", joinFailedMax),
			verdict: func(_, ours float64) (bool, string) { return ours <= joinFailedMax, fmt.Sprintf("%.0f", ours) },
			note:    both(func(v []float64) string { return fmt.Sprintf("%.0f dials", v[10]) })},
	}
}

// refusedNote gives the failure reasons of the last run of each.
func refusedNote(last map[string]formationResult) string {
	var s string
	for _, name := range []string{"ours", "go-ethereum"} {
		if r, ok := last[name]; ok {
			s += fmt.Sprintf("; last run, %s: failed %s", name, reasons(r.Failures))
			if len(r.Rejected) > 0 {
				s += ", listeners closed before the handshake " + reasons(r.Rejected)
			}
		}
	}
	return s
}

// figures are a result's numbers for the medians.
func (r formationResult) figures() []float64 {
	var failed int64
	for _, n := range r.Failures {
		failed += n
	}
	return []float64{
		0:  r.FormSeconds,
		1:  pct(r.Refused, r.Dials),
		2:  r.CPUSeconds,
		3:  r.JoinSeconds,
		4:  float64(r.JoinFailed),
		5:  float64(r.Dials),
		6:  r.StartSeconds,
		7:  r.OutboundMean,
		8:  float64(r.OutboundMax),
		9:  float64(r.AtTarget),
		10: float64(r.JoinDials),
		11: pct(failed, r.Dials),
		12: r.Reached[0],
		13: r.Reached[1],
		14: r.Reached[2],
		15: float64(r.InboundZero),
		16: float64(r.InboundFull),
		17: r.ReachedCPU[2],
		18: float64(r.UDPRcvbufErrors),
	}
}

func pct(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

// summary is one line about a run, for the log.
func (r formationResult) summary() string {
	formed := fmt.Sprintf("formed in %.1f s", r.FormSeconds)
	if r.FormTimedOut {
		formed = fmt.Sprintf("NOT formed after %.1f s (%d of %d at target)", r.FormSeconds, r.AtTarget, r.Nodes)
	}
	joined := fmt.Sprintf("joined in %.2f s", r.JoinSeconds)
	if r.JoinTimedOut {
		joined = fmt.Sprintf("NOT joined after %.1f s (outbound %d)", r.JoinSeconds, r.JoinOutbound)
	}
	s := fmt.Sprintf("%s: %s (start %.1f s; 50/90/99 %% of nodes at target after %.1f/%.1f/%.1f s), CPU %.1f s (%.1f s until 99 %%), %d dials, %.1f %% refused as too many peers, failed %s",
		r.Impl, formed, r.StartSeconds, r.Reached[0], r.Reached[1], r.Reached[2], r.CPUSeconds, r.ReachedCPU[2], r.Dials, pct(r.Refused, r.Dials), reasons(r.Failures))
	if len(r.Rejected) > 0 {
		s += ", closed before the handshake " + reasons(r.Rejected)
	}
	s += fmt.Sprintf(", outbound mean %.2f max %d, peers mean %.1f, %d nodes without inbound peers and %d with all inbound slots taken; settled %.1f s; %s, %d dials, %d failed %s",
		r.OutboundMean, r.OutboundMax, r.PeersMean, r.InboundZero, r.InboundFull, r.SettleSeconds, joined, r.JoinDials, r.JoinFailed, reasons(r.JoinFailures))
	if r.UDPRcvbufErrors > 0 {
		s += fmt.Sprintf("; %d UDP datagrams dropped for full receive buffers on the machine during the formation", r.UDPRcvbufErrors)
	}
	if r.JoinNote != "" {
		s += " (" + r.JoinNote + ")"
	}
	if r.LogRecords > 0 {
		s += fmt.Sprintf("; %d log records counted", r.LogRecords)
	}
	return s
}

// reasons formats counts by reason, largest first.
func reasons(m map[string]int64) string {
	if len(m) == 0 {
		return "{}"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, m[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
