package dialsched

import (
	"context"
	"net/netip"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/internal/mclock"
)

// dialKind says where a dial target came from.
type dialKind int

const (
	kindDynamic  dialKind = iota // from the iterator
	kindStatic                   // a static node
	kindBootnode                 // bootnode fallback
	numKinds
)

func (k dialKind) String() string {
	switch k {
	case kindDynamic:
		return "dyndial"
	case kindStatic:
		return "staticdial"
	case kindBootnode:
		return "bootnode"
	}
	return "unknown"
}

// stage is how far a dial got.
type stage int

const (
	stageResolve stage = iota // looking up a static node in discovery
	stageDial                 // TCP connect
	stageSetup                // SetupFunc
)

// dialTask is one dial. The loop fills in the fields up to mayResolve before
// starting it; the dial goroutine then owns the task until it sends it on
// doneCh, and the loop reads the results after that.
type dialTask struct {
	kind       dialKind
	id         enode.ID
	dest       *enode.Node  // the node to dial; replaced when a lookup finds a new record
	mayResolve bool         // static only: a discovery lookup is allowed
	subnet     netip.Prefix // dynamic only: the subnet counted for MaxDialsPerSubnet
	counted    bool         // subnet is counted

	// Results.
	stage      stage
	err        error
	didResolve bool           // a discovery lookup was made
	resolvedAt mclock.AbsTime // when it ended
	resolved   *enode.Node    // what it found, nil if nothing usable
}

// runTask runs on its own goroutine and reports to loop.
func (s *Scheduler) runTask(t *dialTask) {
	defer s.wg.Done()
	s.dial(t)
	s.doneCh <- t
}

func (s *Scheduler) dial(t *dialTask) {
	static := t.kind == kindStatic
	if static && !hasAddress(t.dest) {
		t.stage = stageResolve
		if !t.mayResolve || !s.resolve(t) {
			t.err = errResolveFailed
			return
		}
	}
	t.stage = stageDial
	fd, err := s.cfg.Dialer.Dial(s.ctx, t.dest)
	if err != nil && static && t.mayResolve && !t.didResolve && s.ctx.Err() == nil {
		// The node may have moved: ask discovery, and dial again if the
		// record has another endpoint.
		before, _ := t.dest.TCPEndpoint()
		if s.resolve(t) {
			if after, _ := t.dest.TCPEndpoint(); after != before {
				fd, err = s.cfg.Dialer.Dial(s.ctx, t.dest)
			}
		}
	}
	if err != nil {
		t.err = err
		return
	}
	t.stage = stageSetup
	// Stop must not wait for a handshake that may take seconds: it closes
	// the connection. Wait for that close so no goroutine outlives Stop.
	closed := make(chan struct{})
	stop := context.AfterFunc(s.ctx, func() {
		fd.Close()
		close(closed)
	})
	t.err = s.setup(fd, t.dest, static)
	if !stop() {
		<-closed
	}
}

// resolve asks the Resolver for t's current record and reports whether it
// found one with a usable IP.
func (s *Scheduler) resolve(t *dialTask) bool {
	t.didResolve = true
	n := s.cfg.Resolver.Resolve(s.ctx, t.dest)
	t.resolvedAt = s.cfg.Clock.Now()
	if n == nil || n.ID() != t.id || !n.IPAddr().IsValid() || n.TCP() == 0 {
		return false
	}
	if s.cfg.NetRestrict != nil && !s.cfg.NetRestrict.Contains(n.IPAddr()) {
		return false
	}
	t.resolved = n
	t.dest = n
	return true
}
