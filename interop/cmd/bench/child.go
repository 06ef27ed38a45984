package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Measurements that must see one server alone (its CPU, its memory) run it
// in a child process: the bench binary started again with childEnv set to a
// JSON childConfig. The child starts its servers, prints "ready" and their
// enode URLs on one line, and then answers one line per command read from
// stdin:
//
//	cpu          → "cpu <ns>": user + system CPU time of the child so far
//	adds <n>     → "adds <count>" once its servers saw n peer adds in all,
//	               or "timeout <count>" after poolStartWait
//	mem          → "mem <VmRSS bytes> <heap bytes> <stack bytes> <goroutines>",
//	               after a GC that returns freed memory to the OS
//	quit         → stops the servers and exits
const childEnv = "DEVP2P_BENCH_CHILD"

type childConfig struct {
	Impl     string
	Servers  int
	MaxPeers int
	// Profile, if set, is where the child writes a CPU profile, from its
	// first "cpu" command until "quit", and a heap profile (Profile+".heap")
	// at every "mem" command.
	Profile string
}

// runChildIfRequested runs the child and exits if this process is one.
func runChildIfRequested() {
	spec := os.Getenv(childEnv)
	if spec == "" {
		return
	}
	var cfg childConfig
	if err := json.Unmarshal([]byte(spec), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench child:", err)
		os.Exit(2)
	}
	if err := childMain(cfg, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench child:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func childMain(cfg childConfig, in io.Reader, out io.Writer) error {
	raiseFileLimit()
	if cfg.Profile != "" && os.Getenv("BENCH_EXACT_HEAP") != "" {
		// An exact heap profile at "mem"; its bookkeeping takes much of
		// the CPU, so only on request, not with every CPU profile.
		runtime.MemProfileRate = 1
	}
	pi, err := poolImplByName(cfg.Impl)
	if err != nil {
		return err
	}
	var servers []poolServer
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	notify := make(chan struct{}, 1)
	urls := []string{"ready"}
	for range cfg.Servers {
		s, err := pi.start(poolOpts{listen: true, maxPeers: cfg.MaxPeers, noDial: true, notify: notify})
		if err != nil {
			return err
		}
		servers = append(servers, s)
		urls = append(urls, s.url())
	}
	adds := func() (n int64) {
		for _, s := range servers {
			n += s.adds()
		}
		return n
	}
	fmt.Fprintln(out, strings.Join(urls, " "))

	var profile *os.File
	defer func() {
		if profile != nil {
			pprof.StopCPUProfile()
			profile.Close()
		}
	}()
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		cmd := strings.Fields(sc.Text())
		if len(cmd) == 0 {
			continue
		}
		switch cmd[0] {
		case "cpu":
			if cfg.Profile != "" && profile == nil {
				f, err := os.Create(cfg.Profile)
				if err != nil {
					return err
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					f.Close()
					return err
				}
				profile = f
			}
			fmt.Fprintln(out, "cpu", int64(processCPU()))
		case "adds":
			want, err := strconv.ParseInt(cmd[1], 10, 64)
			if err != nil {
				return err
			}
			deadline := time.Now().Add(poolStartWait)
			for adds() < want && time.Now().Before(deadline) {
				select {
				case <-notify:
				case <-time.After(10 * time.Millisecond):
				}
			}
			if n := adds(); n < want {
				fmt.Fprintln(out, "timeout", n)
			} else {
				fmt.Fprintln(out, "adds", n)
			}
		case "mem":
			rss, heap, stack, g := memNow()
			if cfg.Profile != "" {
				if err := writeHeapProfile(cfg.Profile + ".heap"); err != nil {
					return err
				}
			}
			fmt.Fprintln(out, "mem", rss, heap, stack, g)
		case "quit":
			return nil
		default:
			return fmt.Errorf("unknown command %q", cmd)
		}
	}
	return sc.Err()
}

// memNow returns VmRSS, live heap and stack memory, and the goroutine count
// after a GC that returns freed pages to the OS.
func memNow() (rss, heap, stack uint64, goroutines int) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return vmRSS(), ms.HeapAlloc, ms.StackInuse, runtime.NumGoroutine()
}

// writeHeapProfile writes a heap profile (after memNow's GC) to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup("heap").WriteTo(f, 0)
}

// vmRSS returns the resident set size of this process from /proc.
func vmRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// raiseFileLimit raises the soft limit on open files to the hard limit:
// the memory measurement holds 1000 connections in each process.
func raiseFileLimit() {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
}

// fileLimit returns the soft limit on open files.
func fileLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return rl.Cur
}

// child is the parent's handle on a child process.
type child struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	urls []string
}

func startChild(cfg childConfig) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	spec, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, in: in, out: bufio.NewReader(outPipe)}
	line, err := c.readLine()
	if err != nil {
		c.close()
		return nil, fmt.Errorf("starting child: %w", err)
	}
	f := strings.Fields(line)
	if len(f) == 0 || f[0] != "ready" {
		c.close()
		return nil, fmt.Errorf("child said %q", line)
	}
	c.urls = f[1:]
	return c, nil
}

func (c *child) readLine() (string, error) {
	line, err := c.out.ReadString('\n')
	return strings.TrimSpace(line), err
}

// call sends a command and returns the fields of the answer.
func (c *child) call(format string, args ...any) ([]string, error) {
	if _, err := fmt.Fprintf(c.in, format+"\n", args...); err != nil {
		return nil, err
	}
	line, err := c.readLine()
	if err != nil {
		return nil, err
	}
	return strings.Fields(line), nil
}

func (c *child) cpu() (time.Duration, error) {
	f, err := c.call("cpu")
	if err != nil {
		return 0, err
	}
	if len(f) != 2 || f[0] != "cpu" {
		return 0, fmt.Errorf("child answered %q to cpu", f)
	}
	ns, err := strconv.ParseInt(f[1], 10, 64)
	return time.Duration(ns), err
}

// waitAdds waits until the child's servers have added n peers in all.
func (c *child) waitAdds(n int) error {
	f, err := c.call("adds %d", n)
	if err != nil {
		return err
	}
	if len(f) != 2 || f[0] != "adds" {
		return fmt.Errorf("child: %q waiting for %d peer adds", f, n)
	}
	return nil
}

// mem returns the child's VmRSS, heap, stack and goroutines.
func (c *child) mem() ([4]float64, error) {
	var v [4]float64
	f, err := c.call("mem")
	if err != nil {
		return v, err
	}
	if len(f) != 5 || f[0] != "mem" {
		return v, fmt.Errorf("child answered %q to mem", f)
	}
	for i := range v {
		if v[i], err = strconv.ParseFloat(f[i+1], 64); err != nil {
			return v, err
		}
	}
	return v, nil
}

// close ends the child and waits for it.
func (c *child) close() {
	fmt.Fprintln(c.in, "quit")
	c.in.Close()
	done := make(chan struct{})
	go func() {
		c.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}
