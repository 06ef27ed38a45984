package main

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// poolParams are the sizes of the pool measurements.
type poolParams struct {
	setupDialers, setupListeners, setupWindow int
	rejects                                   int
	idlePeers                                 int
}

// poolRows runs the pool measurements selected by filter, our p2p.Server
// and go-ethereum's alternating as in the transport rows, and returns their
// rows. floor is the secp256k1 floor row's figures, if measured.
func poolRows(filter *regexp.Regexp, pp poolParams, runOurs, runGeth bool, floor []float64, dur time.Duration, progress func(string)) []row {
	var rows []row
	rep := 0 // numbers the repetitions, for profile names
	both := func(f func(pi poolImpl, rep int) []float64) (o, g []float64) {
		var ro, rg [][]float64
		for range *reps {
			if runOurs {
				ro = append(ro, f(ourPool{}, rep))
			}
			if runGeth {
				rg = append(rg, f(gethPool{}, rep))
			}
			rep++
		}
		return medianOf(ro), medianOf(rg)
	}
	// profile names a child's CPU profile, next to the parent's.
	profile := func(kind string, pi poolImpl, rep int) string {
		if *cpuprofile == "" {
			return ""
		}
		return fmt.Sprintf("%s.%s.%s.child%d", *cpuprofile, kind, strings.ReplaceAll(pi.name(), "-", ""), rep)
	}
	at := func(v []float64, i int) float64 {
		if v == nil {
			return 0
		}
		return v[i]
	}

	var setupO, setupG []float64
	if filter.MatchString("pool setup") {
		progress("pool: connection setups")
		setupO, setupG = both(func(pi poolImpl, rep int) []float64 {
			return poolSetup(pi, pp.setupDialers, pp.setupListeners, pp.setupWindow, profile("setup", pi, rep))
		})
		desc := fmt.Sprintf("%d dialing servers × %d listening servers (another process), %d in flight", pp.setupDialers, pp.setupListeners, pp.setupWindow)
		rows = append(rows,
			row{group: "pool", metric: "pool setup: full connection setups/s (TCP + RLPx + Hello + peer added, both ends)", unit: "setups/s",
				ours: at(setupO, 0), theirs: at(setupG, 0), higherBetter: true, note: desc},
			row{group: "pool", metric: "pool setup: CPU per full setup, responder (listening process)", unit: "µs CPU",
				ours: at(setupO, 1), theirs: at(setupG, 1)},
			row{group: "pool", metric: "pool setup: CPU per full setup, both ends", unit: "µs CPU",
				ours: at(setupO, 2), theirs: at(setupG, 2), target: "≤ 0.8×", verdict: ratioAtMost(0.8)},
		)
		if floor != nil {
			r := row{group: "pool", metric: "pool setup, both ends ÷ secp256k1 floor", unit: "×", ours: at(setupO, 2) / floor[0], theirs: at(setupG, 2) / floor[0],
				target: "ours ≤ 1.15", verdict: func(_, ours float64) (bool, string) { return ours <= 1.15, fmt.Sprintf("%.2f", ours) }}
			rows = append(rows, r)
		}
	}

	if filter.MatchString("pool reject") {
		progress("pool: refusing inbound connections when full")
		o, g := both(func(pi poolImpl, rep int) []float64 {
			return poolReject(pi, pp.rejects, 8, profile("reject", pi, rep))
		})
		bare := median(*reps, func() []float64 { return poolReject(barePool{}, pp.rejects, 8, "") })
		var notes []string
		if o != nil {
			notes = append(notes, fmt.Sprintf("ours: %.0f refusals/s, %.1f %% with the encryption handshake", o[1], 100*o[2]))
		}
		if g != nil {
			notes = append(notes, fmt.Sprintf("go-ethereum: %.0f refusals/s, %.1f %% with the encryption handshake", g[1], 100*g[2]))
		}
		notes = append(notes, fmt.Sprintf("a bare Go accept-and-close loop: %.1f µs, %.0f/s", bare[0], bare[1]))
		rows = append(rows, row{group: "pool", metric: "pool reject: CPU to refuse an inbound connection, server full (server process)", unit: "µs CPU",
			ours: at(o, 0), theirs: at(g, 0), note: strings.Join(notes, "; ")})
		if o != nil {
			rows = append(rows, row{group: "pool", metric: "pool reject ÷ bare accept-and-close (ours)", unit: "×", ours: o[0] / bare[0]})
		}
		if setupO != nil || setupG != nil {
			r := row{group: "pool", metric: "pool reject ÷ full setup (responder CPU)", unit: "×",
				target: "ours ≤ 0.02", verdict: func(_, ours float64) (bool, string) { return ours <= 0.02, fmt.Sprintf("%.3f", ours) }}
			if o != nil && setupO != nil {
				r.ours = o[0] / setupO[1]
			}
			if g != nil && setupG != nil {
				r.theirs = g[0] / setupG[1]
			}
			rows = append(rows, r)
		}
	}

	for _, size := range []int{32, 1 << 10, 64 << 10, 1 << 20} {
		name := "pool msgs " + sizeName(size)
		if !filter.MatchString(name) {
			continue
		}
		progress(name)
		o, g := both(func(pi poolImpl, _ int) []float64 { return poolStream(pi, size, dur) })
		r := row{group: "pool", metric: name + ", two Servers, one protocol goroutine sending, snappy on", unit: "msg/s",
			ours: at(o, 0), theirs: at(g, 0), higherBetter: true, cpuOurs: at(o, 2), cpuTheirs: at(g, 2), note: syscallNote(o, g)}
		if size >= 64<<10 {
			r.unit, r.ours, r.theirs = "MB/s", at(o, 1), at(g, 1)
		}
		switch {
		case size <= 1<<10:
			r.target, r.verdict = "≥ 3×", ratioAtLeast(3)
		case size == 1<<20:
			r.target, r.verdict = "≥ 1.4×", ratioAtLeast(1.4)
		}
		rows = append(rows, r)
	}

	if filter.MatchString("pool idle") {
		progress(fmt.Sprintf("pool: %d idle peers", pp.idlePeers))
		if need := uint64(2*pp.idlePeers + 200); fileLimit() < need {
			panic(fmt.Sprintf("pool idle needs %d open files, the limit is %d (ulimit -n)", need, fileLimit()))
		}
		o, g := both(func(pi poolImpl, rep int) []float64 { return poolIdle(pi, pp.idlePeers, profile("idle", pi, rep)) })
		kib := func(v []float64, i int) float64 { return at(v, i) / 1024 }
		peers := fmt.Sprintf("%d peers", pp.idlePeers)
		rows = append(rows,
			row{group: "pool", metric: "pool idle: resident memory (VmRSS) per idle peer, " + peers + " (server process)", unit: "KiB",
				ours: kib(o, 0), theirs: kib(g, 0), target: "≤ 0.4×", verdict: ratioAtMost(0.4)},
			row{group: "pool", metric: "pool idle: Go heap + stacks per idle peer, " + peers, unit: "KiB",
				ours: kib(o, 1), theirs: kib(g, 1), note: fmt.Sprintf("heap + stacks: ours %.1f + %.1f KiB, go-ethereum %.1f + %.1f KiB",
					kib(o, 2), kib(o, 3), kib(g, 2), kib(g, 3))},
			row{group: "pool", metric: "pool idle: goroutines per idle peer (one protocol), " + peers, unit: "",
				ours: at(o, 4), theirs: at(g, 4), target: "ours ≤ 2", verdict: func(_, ours float64) (bool, string) { return ours <= 2.005, fmt.Sprintf("%.2f", ours) }},
		)
	}
	return rows
}
