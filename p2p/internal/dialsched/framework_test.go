package dialsched

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/internal/mclock"
	"go.uber.org/goleak"
)

// Code below here is the framework for the scheduler tests.

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Errors the test setup function returns, and the classes testClassify gives them.
var (
	errTestBusy      = errors.New("too many peers")
	errTestHandshake = errors.New("handshake failed")
	errTestProtocol  = errors.New("useless peer")
	errTestSelf      = errors.New("connected to self")
	errTestRefused   = &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
)

func testClassify(err error) FailureClass {
	switch {
	case errors.Is(err, errTestBusy):
		return ClassBusy
	case errors.Is(err, errTestHandshake):
		return ClassHandshake
	case errors.Is(err, errTestProtocol):
		return ClassProtocol
	case errors.Is(err, errTestSelf):
		return ClassSelf
	}
	return DefaultClassify(err)
}

// dialTestRound is one step of a scenario. The harness advances the clock by
// wait, runs update, completes the listed pending dials, feeds discovered to
// the iterator, waits until the scheduler is idle and compares the dials it
// started with wantNewDials.
type dialTestRound struct {
	wait         time.Duration
	update       func(*Scheduler)
	succeeded    []*enode.Node         // pending dials that connect and join the peer set
	failed       []*enode.Node         // pending dials whose TCP connect fails
	setupFailed  map[*enode.Node]error // pending dials that connect but whose setup fails
	discovered   []*enode.Node
	wantNewDials []*enode.Node
	check        func(*testing.T, Stats) // optional, after the round
}

// dialTest runs a scheduler against a fake dialer, iterator and resolver on a
// simulated clock.
type dialTest struct {
	t        *testing.T
	cfg      Config
	clock    *mclock.Simulated
	it       *testIterator
	dialer   *testDialer
	resolver *testResolver
	sched    *Scheduler

	mu       sync.Mutex
	setupErr map[enode.ID]error
}

func newDialTest(t *testing.T, cfg Config) *dialTest {
	t.Helper()
	dt := &dialTest{
		t:        t,
		clock:    new(mclock.Simulated),
		it:       newTestIterator(),
		dialer:   newTestDialer(t),
		setupErr: make(map[enode.ID]error),
	}
	cfg.Clock = dt.clock
	cfg.Dialer = dt.dialer
	cfg.Rand = rand.New(rand.NewPCG(1, 2))
	cfg.Log = testLogger(t)
	if cfg.Classify == nil {
		cfg.Classify = testClassify
	}
	if r, ok := cfg.Resolver.(*testResolver); ok {
		dt.resolver = r
	}
	dt.cfg = cfg
	dt.sched = New(cfg, dt.it, dt.setup)
	t.Cleanup(dt.sched.Stop)
	return dt
}

func (dt *dialTest) setup(fd net.Conn, dest *enode.Node, static bool) error {
	dt.mu.Lock()
	err := dt.setupErr[dest.ID()]
	delete(dt.setupErr, dest.ID())
	dt.mu.Unlock()
	if err != nil {
		fd.Close()
		return err
	}
	dt.sched.PeerAdded(dest.ID(), true)
	return nil
}

func (dt *dialTest) run(rounds []dialTestRound) {
	dt.t.Helper()
	for i, r := range rounds {
		dt.runRound(i, r)
	}
}

func (dt *dialTest) runRound(i int, r dialTestRound) {
	t := dt.t
	t.Helper()
	if r.wait > 0 {
		dt.clock.Run(r.wait)
	}
	if r.update != nil {
		r.update(dt.sched)
	}
	for n, err := range r.setupFailed {
		dt.mu.Lock()
		dt.setupErr[n.ID()] = err
		dt.mu.Unlock()
		dt.complete(i, n, nil)
	}
	for _, n := range r.succeeded {
		dt.complete(i, n, nil)
	}
	for _, n := range r.failed {
		dt.complete(i, n, errTestRefused)
	}
	dt.it.push(r.discovered...)
	st := dt.waitIdle()

	got := dt.dialer.takeNew()
	if !sameNodes(got, r.wantNewDials) {
		t.Fatalf("round %d (t=%v): new dials %v, want %v", i, time.Duration(dt.clock.Now()), nodeNames(got), nodeNames(r.wantNewDials))
	}
	if st.Dialing > dt.cfg.MaxActiveDials && dt.cfg.MaxActiveDials > 0 {
		t.Fatalf("round %d: %d dials in flight, MaxActiveDials %d", i, st.Dialing, dt.cfg.MaxActiveDials)
	}
	// Only static nodes may take the dialed peers beyond the target; tests
	// with static nodes check their rounds themselves.
	if st.StaticNodes == 0 && st.DialedPeers+st.Dialing > dt.cfg.MaxDialPeers {
		t.Fatalf("round %d: %d dialed peers + %d dials exceed target %d", i, st.DialedPeers, st.Dialing, dt.cfg.MaxDialPeers)
	}
	if r.check != nil {
		r.check(t, st)
	}
}

func (dt *dialTest) complete(round int, n *enode.Node, err error) {
	dt.t.Helper()
	if !dt.dialer.complete(n.ID(), err) {
		dt.t.Fatalf("round %d: completing dial of %v, which is not pending", round, nodeName(n))
	}
}

// waitIdle waits until the scheduler has handled every event and every dial
// it started is blocked in the test dialer. The wall clock only bounds the
// wait.
func (dt *dialTest) waitIdle() Stats {
	dt.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		itIdle := dt.it.idle() // before Stats: a delivered node is then handled
		// The blocked dials are counted before and after Stats: a dial
		// that starts (and blocks) after the snapshot must not make up
		// for one in the snapshot that has just ended.
		before := dt.dialer.numBlocked()
		st := dt.sched.Stats()
		if blocked := dt.dialer.numBlocked(); (itIdle || st.FreeSlots <= 0) && st.Dialing == blocked && blocked == before {
			return st
		}
		if time.Now().After(deadline) {
			dt.t.Fatalf("scheduler did not settle: %+v, blocked dials %d", st, dt.dialer.numBlocked())
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// testDialer blocks every Dial until the test completes it.
type testDialer struct {
	t       *testing.T
	mu      sync.Mutex
	blocked map[enode.ID]chan error
	calls   []*enode.Node // Dial calls not yet taken by takeNew
}

func newTestDialer(t *testing.T) *testDialer {
	return &testDialer{t: t, blocked: make(map[enode.ID]chan error)}
}

func (d *testDialer) Dial(ctx context.Context, n *enode.Node) (net.Conn, error) {
	ch := make(chan error, 1)
	d.mu.Lock()
	if _, dup := d.blocked[n.ID()]; dup {
		d.t.Errorf("node %v dialed twice at once", nodeName(n))
	}
	d.blocked[n.ID()] = ch
	d.calls = append(d.calls, n)
	d.mu.Unlock()

	select {
	case err := <-ch:
		if err != nil {
			return nil, err
		}
		return newFakeConn(), nil
	case <-ctx.Done():
		d.mu.Lock()
		if d.blocked[n.ID()] == ch {
			delete(d.blocked, n.ID())
		}
		d.mu.Unlock()
		return nil, ctx.Err()
	}
}

func (d *testDialer) complete(id enode.ID, err error) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	ch, ok := d.blocked[id]
	if ok {
		delete(d.blocked, id)
		ch <- err
	}
	return ok
}

func (d *testDialer) numBlocked() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.blocked)
}

func (d *testDialer) takeNew() []*enode.Node {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.calls
	d.calls = nil
	return c
}

// testIterator hands out the nodes pushed into it.
type testIterator struct {
	mu      sync.Mutex
	cond    *sync.Cond
	queue   []*enode.Node
	cur     *enode.Node
	waiting bool
	closed  bool
}

func newTestIterator() *testIterator {
	it := new(testIterator)
	it.cond = sync.NewCond(&it.mu)
	return it
}

func (it *testIterator) Next() bool {
	it.mu.Lock()
	defer it.mu.Unlock()
	for len(it.queue) == 0 && !it.closed {
		it.waiting = true
		it.cond.Wait()
	}
	it.waiting = false
	if it.closed {
		return false
	}
	it.cur, it.queue = it.queue[0], it.queue[1:]
	return true
}

func (it *testIterator) Node() *enode.Node {
	it.mu.Lock()
	defer it.mu.Unlock()
	return it.cur
}

func (it *testIterator) Close() {
	it.mu.Lock()
	defer it.mu.Unlock()
	it.closed = true
	it.cond.Broadcast()
}

func (it *testIterator) push(ns ...*enode.Node) {
	it.mu.Lock()
	defer it.mu.Unlock()
	it.queue = append(it.queue, ns...)
	it.cond.Broadcast()
}

// idle reports whether the reader has taken every node and waits for more.
func (it *testIterator) idle() bool {
	it.mu.Lock()
	defer it.mu.Unlock()
	return it.closed || (it.waiting && len(it.queue) == 0)
}

func (it *testIterator) isClosed() bool {
	it.mu.Lock()
	defer it.mu.Unlock()
	return it.closed
}

// testResolver answers lookups from a table.
type testResolver struct {
	mu      sync.Mutex
	answers map[enode.ID]*enode.Node
	calls   []enode.ID
}

func newTestResolver() *testResolver {
	return &testResolver{answers: make(map[enode.ID]*enode.Node)}
}

func (r *testResolver) Resolve(ctx context.Context, n *enode.Node) *enode.Node {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, n.ID())
	return r.answers[n.ID()]
}

func (r *testResolver) set(n *enode.Node) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answers[n.ID()] = n
}

func (r *testResolver) clear(id enode.ID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.answers, id)
}

func (r *testResolver) numCalls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

// fakeConn is a net.Conn whose Read blocks until Close.
type fakeConn struct {
	net.Conn // nil: other methods panic
	once     sync.Once
	closed   chan struct{}
}

func newFakeConn() *fakeConn { return &fakeConn{closed: make(chan struct{})} }

func (c *fakeConn) Read([]byte) (int, error) {
	<-c.closed
	return 0, io.EOF
}

func (c *fakeConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func sameNodes(a, b []*enode.Node) bool {
	if len(a) != len(b) {
		return false
	}
	key := func(n *enode.Node) string { return nodeName(n) + "@" + nodeAddr(n) }
	ka, kb := make([]string, len(a)), make([]string, len(b))
	for i := range a {
		ka[i], kb[i] = key(a[i]), key(b[i])
	}
	slices.Sort(ka)
	slices.Sort(kb)
	return slices.Equal(ka, kb)
}

func nodeName(n *enode.Node) string {
	id := n.ID()
	return string(rune('a'+id[0]%26)) + "/" + nodeAddr(n)
}

func nodeNames(ns []*enode.Node) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = nodeName(n)
	}
	return out
}

// testLogger sends logs at all levels to t.Log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: levelTrace}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(b[:len(b)-1]))
	return len(b), nil
}
