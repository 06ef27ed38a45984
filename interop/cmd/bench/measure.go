package main

import (
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	gethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/crypto/ecies"
	"golang.org/x/sys/unix"
)

// processCPU is the user plus system CPU time of the whole process.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// threadCPU is the CPU time of the calling OS thread; the goroutine must be
// locked to it.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		panic(err)
	}
	return time.Duration(ts.Nano())
}

// ioSyscalls returns the read and write system calls made by this process
// so far, from /proc/self/io (zeros where it is not available).
func ioSyscalls() (reads, writes float64) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		n, _ := strconv.ParseFloat(v, 64)
		switch k {
		case "syscr":
			reads = n
		case "syscw":
			writes = n
		}
	}
	return reads, writes
}

// median runs f reps times and returns the per-field median of the results.
func median(reps int, f func() []float64) []float64 {
	var runs [][]float64
	for range reps {
		runs = append(runs, f())
	}
	return medianOf(runs)
}

// medianOf returns the per-field median of runs, or nil if there are none.
func medianOf(runs [][]float64) []float64 {
	if len(runs) == 0 {
		return nil
	}
	if *verbose {
		for _, r := range runs {
			fmt.Fprintf(os.Stderr, "        run: %.4g\n", r)
		}
	}
	out := make([]float64, len(runs[0]))
	for i := range out {
		col := make([]float64, len(runs))
		for j, r := range runs {
			col[j] = r[i]
		}
		sort.Float64s(col)
		out[i] = col[len(col)/2]
	}
	return out
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// ---- handshakes ----

// handshakePipe returns the process CPU per full handshake (both ends) over
// net.Pipe, in microseconds.
func handshakePipe(im impl, n int) float64 {
	runtime.GC()
	cpu0 := processCPU()
	for range n {
		a, b := net.Pipe()
		d, l := im.newPair(a, b)
		must(handshakeBoth(d, l))
		d.close()
		l.close()
	}
	return us(processCPU()-cpu0) / float64(n)
}

// handshakeTCP returns the process CPU per TCP connect + accept + full
// handshake (both ends) on loopback, in microseconds.
func handshakeTCP(im impl, lb *loopback, n int) float64 {
	runtime.GC()
	cpu0 := processCPU()
	for range n {
		dfd, lfd, err := lb.pair()
		must(err)
		d, l := im.newPair(dfd, lfd)
		must(handshakeBoth(d, l))
		d.close()
		l.close()
	}
	return us(processCPU()-cpu0) / float64(n)
}

// handshakeRoles returns the CPU per handshake of the initiator and of the
// recipient alone, in microseconds: each role runs on its own goroutine
// locked to an OS thread, whose CPU clock is read before and after.
func handshakeRoles(im impl, n int) (initiator, recipient float64) {
	runtime.GC()
	listeners := make(chan conn)
	done := make(chan time.Duration)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		t0 := threadCPU()
		for l := range listeners {
			must(l.handshake())
			l.close()
		}
		done <- threadCPU() - t0
	}()
	runtime.LockOSThread()
	t0 := threadCPU()
	for range n {
		a, b := net.Pipe()
		d, l := im.newPair(a, b)
		listeners <- l
		must(d.handshake())
		d.close()
	}
	init := threadCPU() - t0
	runtime.UnlockOSThread()
	close(listeners)
	recip := <-done
	return us(init) / float64(n), us(recip) / float64(n)
}

// ---- secp256k1 floor ----

// floorOps are the curve operations of one handshake, both ends.
const (
	floorECDH   = 8
	floorKeyGen = 4
	floorSign   = 1
	floorRecov  = 1
)

// floorOurs returns the CPU of 8 ECDH + 4 key generations + 1 sign + 1
// recover with our crypto package, and the four per-operation costs (µs).
func floorOurs(n int) []float64 {
	k1, err := crypto.GenerateKey(nil)
	must(err)
	k2, err := crypto.GenerateKey(nil)
	must(err)
	hash := make([]byte, 32)
	rand.Read(hash)
	sig, err := crypto.Sign(hash, k1)
	must(err)
	ecdh := perOp(n, func() { _, err := k1.ECDH(k2.Public()); must(err) })
	gen := perOp(n, func() { _, err := crypto.GenerateKey(nil); must(err) })
	sign := perOp(n, func() { _, err := crypto.Sign(hash, k2); must(err) })
	recov := perOp(n, func() { _, err := crypto.Recover(hash, sig[:]); must(err) })
	total := floorECDH*ecdh + floorKeyGen*gen + floorSign*sign + floorRecov*recov
	return []float64{total, ecdh, gen, sign, recov}
}

// floorGeth is the same with go-ethereum's crypto and ecies packages, as its
// handshake calls them.
func floorGeth(n int) []float64 {
	k1, err := gethcrypto.GenerateKey()
	must(err)
	k2, err := gethcrypto.GenerateKey()
	must(err)
	e1, e2 := ecies.ImportECDSA(k1), ecies.ImportECDSAPublic(&k2.PublicKey)
	hash := make([]byte, 32)
	rand.Read(hash)
	sig, err := gethcrypto.Sign(hash, k1)
	must(err)
	ecdh := perOp(n, func() { _, err := e1.GenerateShared(e2, 16, 16); must(err) })
	gen := perOp(n, func() { _, err := ecies.GenerateKey(rand.Reader, gethcrypto.S256(), nil); must(err) })
	sign := perOp(n, func() { _, err := gethcrypto.Sign(hash, k2); must(err) })
	recov := perOp(n, func() { _, err := gethcrypto.Ecrecover(hash, sig); must(err) })
	total := floorECDH*ecdh + floorKeyGen*gen + floorSign*sign + floorRecov*recov
	return []float64{total, ecdh, gen, sign, recov}
}

func perOp(n int, f func()) float64 {
	cpu0 := processCPU()
	for range n {
		f()
	}
	return us(processCPU()-cpu0) / float64(n)
}

// keccakCeiling returns our Keccak-256 throughput over 1 MiB writes, MB/s of
// CPU time: the MAC hashes every frame byte once on each side.
func keccakCeiling(d time.Duration) float64 {
	buf := make([]byte, 1<<20)
	rand.Read(buf)
	h := crypto.NewKeccak256()
	var out [32]byte
	cpu0, t0, n := processCPU(), time.Now(), 0
	for time.Since(t0) < d {
		h.Write(buf)
		n++
	}
	h.Sum(out[:0])
	return float64(n) * float64(len(buf)) / 1e6 / (processCPU() - cpu0).Seconds()
}

// ---- frames ----

const (
	codeData = 1
	codeStop = 2
	batchLen = 64 // messages per Flush in batched runs
)

// stream is the result of one streaming run.
type stream struct {
	msgs          int
	bytes         int
	elapsed       time.Duration
	cpu           time.Duration
	reads, writes float64 // system calls
}

func (s stream) rate() float64         { return float64(s.msgs) / s.elapsed.Seconds() }
func (s stream) mbps() float64         { return float64(s.bytes) / 1e6 / s.elapsed.Seconds() }
func (s stream) cpuPerMsg() float64    { return us(s.cpu) / float64(s.msgs) }
func (s stream) readsPerMsg() float64  { return s.reads / float64(s.msgs) }
func (s stream) writesPerMsg() float64 { return s.writes / float64(s.msgs) }

// run streams payload from w to r for about d: one writer goroutine, one
// reader goroutine. With batch, the writer queues messages with BufferMsg
// and flushes every batchLen messages, as a peer's write loop does when its
// queue is not empty.
func run(w, r conn, payload []byte, batch bool, d time.Duration) stream {
	type readResult struct {
		n   int
		end time.Time
		err error
	}
	rc := make(chan readResult, 1)
	go func() {
		n := 0
		for {
			code, data, err := r.read()
			if err != nil {
				rc <- readResult{err: err}
				return
			}
			if code == codeStop {
				rc <- readResult{n: n, end: time.Now()}
				return
			}
			if len(data) != len(payload) {
				rc <- readResult{err: fmt.Errorf("read %d bytes, want %d", len(data), len(payload))}
				return
			}
			n++
		}
	}()
	every := 64
	if len(payload) >= 64<<10 {
		every = 1
	}
	r0, w0 := ioSyscalls()
	cpu0, start := processCPU(), time.Now()
	var werr error
	for i := 1; werr == nil; i++ {
		if batch {
			werr = w.buffer(codeData, payload)
			if werr == nil && i%batchLen == 0 {
				werr = w.flush()
			}
		} else {
			werr = w.write(codeData, payload)
		}
		if i%every == 0 && time.Since(start) >= d {
			break
		}
	}
	must(werr)
	must(w.write(codeStop, nil)) // flushes what is buffered
	res := <-rc
	must(res.err)
	cpu := processCPU() - cpu0
	r1, w1 := ioSyscalls()
	return stream{
		msgs:    res.n,
		bytes:   res.n * len(payload),
		elapsed: res.end.Sub(start),
		cpu:     cpu,
		reads:   r1 - r0,
		writes:  w1 - w0,
	}
}

func randomPayload(size int) []byte {
	b := make([]byte, size)
	rand.Read(b)
	return b
}

// frames measures one fresh loopback connection streaming messages of size.
// It returns messages/s, MB/s and CPU µs per message.
func frames(im impl, lb *loopback, size int, snappy, batch bool, d time.Duration) []float64 {
	w, r, err := connected(im, lb)
	must(err)
	defer w.close()
	defer r.close()
	w.setSnappy(snappy)
	r.setSnappy(snappy)
	payload := randomPayload(size)
	run(w, r, payload, batch, d/10) // warm up buffers, pools and the TCP window
	runtime.GC()
	s := run(w, r, payload, batch, d)
	return []float64{s.rate(), s.mbps(), s.cpuPerMsg(), s.readsPerMsg(), s.writesPerMsg()}
}

// afterLarge compares 1 KiB messages/s on a fresh connection with the same
// on a connection that has carried ten 10 MiB messages. The two connections
// are measured in alternating slices, so that a change in the machine's load
// during the run hits both alike. It returns fresh and after rates and their
// CPU µs per message, and the two ratios after ÷ fresh of this run.
func afterLarge(im impl, lb *loopback, d time.Duration) []float64 {
	fw, fr, err := connected(im, lb)
	must(err)
	defer fw.close()
	defer fr.close()
	uw, ur, err := connected(im, lb)
	must(err)
	defer uw.close()
	defer ur.close()

	small := randomPayload(1 << 10)
	big := randomPayload(10 << 20)
	errc := make(chan error, 1)
	go func() {
		for range 10 {
			if _, data, err := ur.read(); err != nil || len(data) != len(big) {
				errc <- fmt.Errorf("large read: %d bytes, %v", len(data), err)
				return
			}
		}
		errc <- nil
	}()
	for range 10 {
		must(uw.write(codeData, big))
	}
	must(<-errc)
	run(fw, fr, small, false, d/10)
	run(uw, ur, small, false, d/10)
	runtime.GC()

	// Two slices each, of the full duration: go-ethereum's slowdown grows
	// with the backlog in its read buffer, so short slices would hide it.
	const slices = 2
	var fresh, after stream
	add := func(sum *stream, s stream) {
		sum.msgs += s.msgs
		sum.elapsed += s.elapsed
		sum.cpu += s.cpu
	}
	for range slices {
		add(&fresh, run(fw, fr, small, false, d))
		add(&after, run(uw, ur, small, false, d))
	}
	return []float64{fresh.rate(), after.rate(), fresh.cpuPerMsg(), after.cpuPerMsg(),
		after.rate() / fresh.rate(), after.cpuPerMsg() / fresh.cpuPerMsg()}
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
