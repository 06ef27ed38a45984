// Command bench measures our RLPx transport and go-ethereum's p2p/rlpx side
// by side in one process run and prints both figures with their ratio.
//
//	go run ./cmd/bench            # full run, under three minutes
//	go run ./cmd/bench -quick     # a short run
//	go run ./cmd/bench -md        # Markdown table
//	go run ./cmd/bench -run frames -impl ours -cpuprofile cpu.out
//	go run ./cmd/bench -run pool          # only the p2p.Server measurements
//	go run ./cmd/bench -run formation -md # 200-node network formation (not in the default run)
//
// Every figure is the median of three repetitions. CPU figures come from the
// kernel's accounting of this process (getrusage) or of one thread
// (CLOCK_THREAD_CPUTIME_ID), so load from other processes inflates wall-clock
// rates but not CPU per operation.
//
// The "pool" measurements compare our p2p.Server with go-ethereum's. Those
// that must see one server alone (its CPU or memory) run it in a child
// process, this binary started again (see child.go); with -cpuprofile, each
// child writes its own profile next to the parent's.
//
// The "formation" measurement (formation.go) starts a 200-node loopback
// network of each implementation in a child process. It takes minutes, so
// it runs only when -run names it.
package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strings"
	"text/tabwriter"
	"time"
)

var (
	quick      = flag.Bool("quick", false, "short run (rough figures)")
	markdown   = flag.Bool("md", false, "print a Markdown table")
	runFilter  = flag.String("run", "", "only measurements whose name matches this regexp (floor, handshake pipe|roles|tcp, keccak, frames <size>, snappy on|off[ batched], after10MiB, pool setup|reject|idle, pool msgs <size>)")
	implFilter = flag.String("impl", "both", "which implementation to run: both, ours, geth (for profiling)")
	cpuprofile = flag.String("cpuprofile", "", "write a CPU profile of the selected measurements to this file")
	verbose    = flag.Bool("v", false, "print every repetition's figures to stderr")
	reps       = flag.Int("reps", 3, "repetitions per measurement; the median is reported")
)

// row is one line of the result table.
type row struct {
	group, metric, unit string
	ours, theirs        float64 // 0 means not measured
	cpuOurs, cpuTheirs  float64 // CPU µs per message of streaming rows; 0 if none
	higherBetter        bool
	target              string
	verdict             func(ratio, ours float64) (bool, string) // nil: no target
	note                string
}

func main() {
	runChildIfRequested()
	runFormationChildIfRequested()
	raiseFileLimit()
	flag.Parse()
	filter := regexp.MustCompile(*runFilter)
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		must(err)
		must(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}

	dur, nHS, nFloor := 800*time.Millisecond, 300, 2000
	if *quick {
		dur, nHS, nFloor = 150*time.Millisecond, 40, 300
	}
	k := newKeys()
	ours, theirs := impl(ourImpl{k}), impl(gethImpl{k})
	runOurs := *implFilter == "both" || *implFilter == "ours"
	runGeth := *implFilter == "both" || *implFilter == "geth"
	lb := newLoopback()
	defer lb.close()

	start := time.Now()
	var rows []row
	progress := func(s string) { fmt.Fprintf(os.Stderr, "[%5.1fs] %s\n", time.Since(start).Seconds(), s) }

	// both runs f for ours and go-ethereum's as selected, alternating the
	// two so that a change in the machine's load hits both alike.
	both := func(f func(im impl) []float64) (o, g []float64) {
		var ro, rg [][]float64
		for range *reps {
			if runOurs {
				ro = append(ro, f(ours))
			}
			if runGeth {
				rg = append(rg, f(theirs))
			}
		}
		return medianOf(ro), medianOf(rg)
	}
	at := func(v []float64, i int) float64 {
		if v == nil {
			return 0
		}
		return v[i]
	}

	var floor, floorGethV []float64
	if filter.MatchString("floor") || filter.MatchString("handshake pipe") || filter.MatchString("pool setup") {
		progress("secp256k1 floor")
		floor = median(*reps, func() []float64 { return floorOurs(nFloor) })
		floorGethV = median(*reps, func() []float64 { return floorGeth(nFloor) })
		rows = append(rows,
			row{group: "floor", metric: "secp256k1 floor: 8 ECDH + 4 keygen + 1 sign + 1 recover", unit: "µs CPU", ours: floor[0], theirs: floorGethV[0],
				note: fmt.Sprintf("ours: ECDH %.1f, keygen %.1f, sign %.1f, recover %.1f µs; go-ethereum: %.1f, %.1f, %.1f, %.1f µs",
					floor[1], floor[2], floor[3], floor[4], floorGethV[1], floorGethV[2], floorGethV[3], floorGethV[4])},
		)
	}

	if filter.MatchString("handshake pipe") {
		progress("handshake over net.Pipe")
		o, g := both(func(im impl) []float64 { return []float64{handshakePipe(im, nHS)} })
		rows = append(rows, row{group: "handshake", metric: "handshake, both ends, net.Pipe", unit: "µs CPU", ours: at(o, 0), theirs: at(g, 0),
			target: "≤ 0.8×", verdict: ratioAtMost(0.8)})
		if o != nil && floor != nil {
			fo := o[0] / floor[0]
			fg := 0.0
			if g != nil {
				fg = g[0] / floor[0]
			}
			rows = append(rows, row{group: "handshake", metric: "handshake ÷ secp256k1 floor (ours)", unit: "×", ours: fo, theirs: fg,
				target: "ours ≤ 1.15", verdict: func(_, ours float64) (bool, string) { return ours <= 1.15, fmt.Sprintf("%.2f", ours) }})
		}
	}
	if filter.MatchString("handshake roles") {
		progress("handshake roles")
		o, g := both(func(im impl) []float64 { i, r := handshakeRoles(im, nHS); return []float64{i, r} })
		rows = append(rows,
			row{group: "handshake", metric: "handshake, initiator only (thread CPU)", unit: "µs CPU", ours: at(o, 0), theirs: at(g, 0)},
			row{group: "handshake", metric: "handshake, recipient only (thread CPU)", unit: "µs CPU", ours: at(o, 1), theirs: at(g, 1)},
		)
	}
	if filter.MatchString("handshake tcp") {
		progress("TCP connect + handshake")
		o, g := both(func(im impl) []float64 { return []float64{handshakeTCP(im, lb, nHS)} })
		rows = append(rows, row{group: "handshake", metric: "TCP connect + handshake, both ends, loopback", unit: "µs CPU", ours: at(o, 0), theirs: at(g, 0),
			target: "≤ 0.8×", verdict: ratioAtMost(0.8)})
	}

	if filter.MatchString("keccak") {
		progress("keccak ceiling")
		kc := median(*reps, func() []float64 { return []float64{keccakCeiling(dur / 2)} })
		rows = append(rows, row{group: "keccak", metric: "Keccak-256 ceiling, 1 MiB writes, one core", unit: "MB/s per CPU s", ours: kc[0], higherBetter: true})
	}

	{
		for _, snappy := range []bool{false, true} {
			for _, size := range []int{32, 1 << 10, 64 << 10, 1 << 20} {
				name := fmt.Sprintf("%s, snappy %s", sizeName(size), onOff(snappy))
				if !filter.MatchString("frames "+name) && !filter.MatchString("frames "+name+" batched") {
					continue
				}
				progress("frames " + name)
				batched := size <= 1<<10 && runOurs && filter.MatchString("frames "+name+" batched")
				var ob []float64
				o, g := both(func(im impl) []float64 {
					if _, isOurs := im.(ourImpl); isOurs && batched {
						// The batched run joins the same alternation.
						ob = append(ob, frames(im, lb, size, snappy, true, dur)...)
					}
					return frames(im, lb, size, snappy, false, dur)
				})
				r := row{group: "frames", metric: "frames " + name, unit: "msg/s", ours: at(o, 0), theirs: at(g, 0), higherBetter: true,
					cpuOurs: at(o, 2), cpuTheirs: at(g, 2), note: syscallNote(o, g)}
				if size >= 64<<10 {
					r.unit, r.ours, r.theirs = "MB/s", at(o, 1), at(g, 1)
				}
				switch {
				case size <= 1<<10:
					r.target, r.verdict = "≥ 3×", ratioAtLeast(3)
				case size == 1<<20 && snappy:
					r.target, r.verdict = "≥ 1.4×", ratioAtLeast(1.4)
				}
				rows = append(rows, r)
				if batched {
					ob = medianOf(chunk(ob, 5))
					rows = append(rows, row{group: "frames", metric: fmt.Sprintf("frames %s, ours batched (BufferMsg, Flush per %d)", name, batchLen),
						unit: "msg/s", ours: ob[0], theirs: at(g, 0), higherBetter: true, target: "≥ 3×", verdict: ratioAtLeast(3),
						cpuOurs: at(ob, 2), cpuTheirs: at(g, 2), note: syscallNote(ob, g)})
				}
			}
		}
	}

	if filter.MatchString("after10MiB") {
		progress("1 KiB after ten 10 MiB messages")
		o, g := both(func(im impl) []float64 { return afterLarge(im, lb, dur) })
		rows = append(rows,
			row{group: "after10MiB", metric: "1 KiB, fresh connection", unit: "msg/s", ours: at(o, 0), theirs: at(g, 0), higherBetter: true,
				cpuOurs: at(o, 2), cpuTheirs: at(g, 2)},
			row{group: "after10MiB", metric: "1 KiB, after ten 10 MiB messages", unit: "msg/s", ours: at(o, 1), theirs: at(g, 1), higherBetter: true,
				cpuOurs: at(o, 3), cpuTheirs: at(g, 3)},
		)
		if o != nil {
			r := row{group: "after10MiB", metric: "msg/s after ÷ fresh (median of per-run ratios)", unit: "×", ours: o[4], higherBetter: true,
				target: "ours ≥ 0.9", verdict: func(_, ours float64) (bool, string) { return ours >= 0.9, fmt.Sprintf("%.2f", ours) }}
			c := row{group: "after10MiB", metric: "CPU per message, after ÷ fresh", unit: "×", ours: o[5],
				target: "ours ≤ 1.11", verdict: func(_, ours float64) (bool, string) { return ours <= 1/0.9, fmt.Sprintf("%.2f", ours) },
				note: "less sensitive to other load than the row above"}
			if g != nil {
				r.theirs = g[4]
				c.theirs = g[5]
			}
			rows = append(rows, r, c)
		}
	}
	pp := poolParams{setupDialers: 25, setupListeners: 12, setupWindow: 8, rejects: 1000, idlePeers: 1000}
	if *quick {
		pp = poolParams{setupDialers: 6, setupListeners: 5, setupWindow: 4, rejects: 100, idlePeers: 100}
	}
	rows = append(rows, poolRows(filter, pp, runOurs, runGeth, floor, dur, progress)...)
	fp := formationParams{nodes: 200, maxPeers: 12, timeout: 120 * time.Second, joinTimeout: 30 * time.Second}
	if *quick {
		fp = formationParams{nodes: 50, maxPeers: 12, timeout: 60 * time.Second, joinTimeout: 30 * time.Second}
	}
	if *runFilter != "" {
		rows = append(rows, formationRows(filter, fp, runOurs, runGeth, progress)...)
	}
	progress("done")

	printTable(rows)
	fmt.Printf("\n%d CPUs (GOMAXPROCS %d), %s, median of %d, %v per streaming run, %d handshakes per run; "+
		"pool: %d×%d setups per run, %d refusals per run, %d idle peers; total %.0f s\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), *reps, dur, nHS,
		pp.setupDialers, pp.setupListeners, pp.rejects, pp.idlePeers, time.Since(start).Seconds())
	if *runFilter != "" && filter.MatchString("formation") {
		fmt.Printf("formation: %d nodes, %d run(s) of each implementation, median\n", fp.nodes, *formationReps)
	}
}

// syscallNote gives the read and write system calls per message.
func syscallNote(o, g []float64) string {
	var parts []string
	if o != nil {
		parts = append(parts, fmt.Sprintf("ours %.2f r + %.2f w", o[3], o[4]))
	}
	if g != nil {
		parts = append(parts, fmt.Sprintf("go-ethereum %.2f r + %.2f w", g[3], g[4]))
	}
	return "syscalls/msg: " + strings.Join(parts, ", ")
}

// chunk splits v into runs of n figures.
func chunk(v []float64, n int) [][]float64 {
	var out [][]float64
	for len(v) >= n {
		out = append(out, v[:n])
		v = v[n:]
	}
	return out
}

func ratioAtMost(limit float64) func(ratio, _ float64) (bool, string) {
	return func(ratio, _ float64) (bool, string) { return ratio <= limit, fmt.Sprintf("%.2f×", ratio) }
}

func ratioAtLeast(limit float64) func(ratio, _ float64) (bool, string) {
	return func(ratio, _ float64) (bool, string) { return ratio >= limit, fmt.Sprintf("%.2f×", ratio) }
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func printTable(rows []row) {
	header := []string{"metric", "unit", "ours", "go-ethereum", "ours/geth", "better", "CPU µs/msg ours", "geth", "ours/geth", "target", "met", "notes"}
	var lines [][]string
	for _, r := range rows {
		ratio, ratioS, better := 0.0, "", ""
		if r.ours != 0 && r.theirs != 0 {
			ratio = r.ours / r.theirs
			ratioS = fmt.Sprintf("%.2f", ratio)
			switch {
			case r.higherBetter && ratio >= 1, !r.higherBetter && ratio <= 1:
				better = "ours"
			default:
				better = "go-ethereum"
			}
			if r.higherBetter {
				better += " (higher)"
			} else {
				better += " (lower)"
			}
		}
		met := ""
		if r.verdict != nil && r.ours != 0 && (r.theirs != 0 || !strings.HasSuffix(r.target, "×")) {
			ok, by := r.verdict(ratio, r.ours)
			met = "no (" + by + ")"
			if ok {
				met = "yes (" + by + ")"
			}
		}
		cpuRatio := ""
		if r.cpuOurs != 0 && r.cpuTheirs != 0 {
			cpuRatio = fmt.Sprintf("%.2f", r.cpuOurs/r.cpuTheirs)
		}
		lines = append(lines, []string{r.metric, r.unit, num(r.ours), num(r.theirs), ratioS, better,
			num(r.cpuOurs), num(r.cpuTheirs), cpuRatio, r.target, met, r.note})
	}
	if *markdown {
		fmt.Println("| " + strings.Join(header, " | ") + " |")
		fmt.Println("|" + strings.Repeat("---|", len(header)))
		for _, l := range lines {
			fmt.Println("| " + strings.Join(l, " | ") + " |")
		}
		return
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, l := range lines {
		fmt.Fprintln(tw, strings.Join(l, "\t"))
	}
	tw.Flush()
}

func num(v float64) string {
	switch {
	case v == 0:
		return "–"
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
