package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/p2p"
	gethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/event"
	gethlog "github.com/ethereum/go-ethereum/log"
	gethp2p "github.com/ethereum/go-ethereum/p2p"
	gethenode "github.com/ethereum/go-ethereum/p2p/enode"
)

// The trivial protocol every pool benchmark runs, "bench"/1.
const (
	benchProto    = "bench"
	benchVersion  = 1
	benchLength   = 4
	poolCodeData  = 0
	poolCodeStop  = 1
	poolStartWait = 20 * time.Second // bound on every wait for a server
)

// poolImpl starts p2p servers of one implementation: our p2p.Server or
// go-ethereum's.
type poolImpl interface {
	name() string
	start(o poolOpts) (poolServer, error)
}

// poolOpts configures a benchmark server. It listens on 127.0.0.1 if listen
// is set; discovery is off, logs are discarded.
type poolOpts struct {
	listen    bool
	maxPeers  int
	noDial    bool
	dialRatio int // 0: the default, 3
	// tasks makes the protocol run functions sent to its session (see
	// poolServer.session); otherwise it reads and discards messages until
	// the peer ends, as an idle protocol does.
	tasks bool
	// notify, if set, gets a value (without blocking) after each peer add.
	notify chan struct{}
}

// poolServer is a running server.
type poolServer interface {
	url() string
	addPeer(url string) error
	// adds is the number of peer add events so far.
	adds() int64
	// session returns the next protocol run of a tasks server.
	session(timeout time.Duration) (*poolSession, error)
	stop()
}

// msgRW is the part of a protocol's MsgReadWriter the benchmarks use.
type msgRW interface {
	write(code uint64, payload []byte) error
	// read reads the next message and discards its payload.
	read() (code uint64, size int, err error)
}

// poolSession is one protocol run of a tasks server: each function sent on
// tasks runs on the protocol's own goroutine.
type poolSession struct {
	tasks chan func(msgRW) error
}

// serverBase is what both implementations' wrappers share.
type serverBase struct {
	addCount atomic.Int64
	notify   chan struct{}
	sessions chan *poolSession
	quit     chan struct{}
	stopOnce sync.Once
	events   sync.WaitGroup
}

func newServerBase(o poolOpts) *serverBase {
	return &serverBase{notify: o.notify, sessions: make(chan *poolSession, 16), quit: make(chan struct{})}
}

func (b *serverBase) onAdd() {
	b.addCount.Add(1)
	if b.notify != nil {
		select {
		case b.notify <- struct{}{}:
		default:
		}
	}
}

func (b *serverBase) adds() int64 { return b.addCount.Load() }

func (b *serverBase) session(timeout time.Duration) (*poolSession, error) {
	select {
	case s := <-b.sessions:
		return s, nil
	case <-time.After(timeout):
		return nil, errors.New("no protocol session within the timeout")
	}
}

// runProto is the protocol's Run for both implementations.
func (b *serverBase) runProto(tasks bool, rw msgRW) error {
	if !tasks {
		for {
			if _, _, err := rw.read(); err != nil {
				return err
			}
		}
	}
	s := &poolSession{tasks: make(chan func(msgRW) error)}
	select {
	case b.sessions <- s:
	case <-b.quit:
		return nil
	}
	for {
		select {
		case task := <-s.tasks:
			if err := task(rw); err != nil {
				return err
			}
		case <-b.quit:
			return nil
		}
	}
}

// ---- ours ----

type ourPool struct{}

func (ourPool) name() string { return "ours" }

type ourServer struct {
	*serverBase
	srv *p2p.Server
	sub p2p.Subscription
}

type ourMsgRW struct{ rw p2p.MsgReadWriter }

func (o ourMsgRW) write(code uint64, b []byte) error {
	return o.rw.WriteMsg(p2p.Msg{Code: code, Size: uint32(len(b)), Payload: bytes.NewReader(b)})
}

func (o ourMsgRW) read() (uint64, int, error) {
	msg, err := o.rw.ReadMsg()
	if err != nil {
		return 0, 0, err
	}
	return msg.Code, int(msg.Size), msg.Discard()
}

func (ourPool) start(o poolOpts) (poolServer, error) {
	key, err := crypto.GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	s := &ourServer{serverBase: newServerBase(o)}
	cfg := p2p.Config{
		PrivateKey:  key,
		Name:        "devp2p-go/bench",
		MaxPeers:    o.maxPeers,
		NoDial:      o.noDial,
		DialRatio:   o.dialRatio,
		NoDiscovery: true,
		Logger:      slog.New(slog.DiscardHandler),
		Protocols: []p2p.Protocol{{Name: benchProto, Version: benchVersion, Length: benchLength,
			Run: func(_ *p2p.Peer, rw p2p.MsgReadWriter) error { return s.runProto(o.tasks, ourMsgRW{rw}) }}},
	}
	if o.listen {
		cfg.ListenAddr = "127.0.0.1:0"
	}
	s.srv = &p2p.Server{Config: cfg}
	events := make(chan *p2p.PeerEvent, 256)
	s.sub = s.srv.SubscribeEvents(events)
	s.events.Go(func() {
		for {
			select {
			case ev := <-events:
				if ev.Type == p2p.PeerEventTypeAdd {
					s.onAdd()
				}
			case <-s.sub.Err():
				return
			}
		}
	})
	if err := s.srv.Start(); err != nil {
		s.sub.Unsubscribe()
		return nil, err
	}
	return s, nil
}

func (s *ourServer) url() string { return s.srv.Self().URLv4() }

func (s *ourServer) addPeer(url string) error {
	n, err := enode.ParseV4(url)
	if err != nil {
		return err
	}
	s.srv.AddPeer(n)
	return nil
}

func (s *ourServer) stop() {
	s.stopOnce.Do(func() {
		close(s.quit)
		s.srv.Stop()
		s.sub.Unsubscribe()
		s.events.Wait()
	})
}

// ---- go-ethereum ----

type gethPool struct{}

func (gethPool) name() string { return "go-ethereum" }

type gethServer struct {
	*serverBase
	srv *gethp2p.Server
	sub event.Subscription
}

type gethMsgRW struct{ rw gethp2p.MsgReadWriter }

func (g gethMsgRW) write(code uint64, b []byte) error {
	return g.rw.WriteMsg(gethp2p.Msg{Code: code, Size: uint32(len(b)), Payload: bytes.NewReader(b)})
}

func (g gethMsgRW) read() (uint64, int, error) {
	msg, err := g.rw.ReadMsg()
	if err != nil {
		return 0, 0, err
	}
	return msg.Code, int(msg.Size), msg.Discard()
}

func (gethPool) start(o poolOpts) (poolServer, error) {
	key, err := gethcrypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	s := &gethServer{serverBase: newServerBase(o)}
	cfg := gethp2p.Config{
		PrivateKey:  key,
		Name:        "geth/bench",
		MaxPeers:    o.maxPeers,
		NoDial:      o.noDial,
		DialRatio:   o.dialRatio,
		NoDiscovery: true,
		Logger:      gethlog.NewLogger(slog.DiscardHandler),
		Protocols: []gethp2p.Protocol{{Name: benchProto, Version: benchVersion, Length: benchLength,
			Run: func(_ *gethp2p.Peer, rw gethp2p.MsgReadWriter) error { return s.runProto(o.tasks, gethMsgRW{rw}) }}},
	}
	if o.listen {
		cfg.ListenAddr = "127.0.0.1:0"
	}
	s.srv = &gethp2p.Server{Config: cfg}
	// go-ethereum's feed blocks the peer until the event is read.
	events := make(chan *gethp2p.PeerEvent, 256)
	s.sub = s.srv.SubscribeEvents(events)
	s.events.Go(func() {
		for {
			select {
			case ev := <-events:
				if ev.Type == gethp2p.PeerEventTypeAdd {
					s.onAdd()
				}
			case <-s.sub.Err():
				return
			}
		}
	})
	if err := s.srv.Start(); err != nil {
		s.sub.Unsubscribe()
		return nil, err
	}
	return s, nil
}

func (s *gethServer) url() string { return s.srv.Self().URLv4() }

func (s *gethServer) addPeer(url string) error {
	n, err := gethenode.ParseV4(url)
	if err != nil {
		return err
	}
	s.srv.AddPeer(n)
	return nil
}

// stop keeps reading events until the server has stopped: its peers
// announce their drops on the feed.
func (s *gethServer) stop() {
	s.stopOnce.Do(func() {
		close(s.quit)
		s.srv.Stop()
		s.sub.Unsubscribe()
		s.events.Wait()
	})
}

func poolImplByName(name string) (poolImpl, error) {
	switch name {
	case "ours":
		return ourPool{}, nil
	case "go-ethereum":
		return gethPool{}, nil
	case "bare":
		return barePool{}, nil
	}
	return nil, fmt.Errorf("unknown implementation %q", name)
}

// ---- a bare listener ----

// barePool is no devp2p server at all: a Go listener that accepts and at
// once closes every connection. It is the floor under the cost of refusing
// a connection before any cryptography, in this process on this machine.
type barePool struct{}

func (barePool) name() string { return "bare" }

type bareServer struct {
	l    net.Listener
	pub  [64]byte
	done chan struct{}
}

func (barePool) start(o poolOpts) (poolServer, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	key, err := crypto.GenerateKey(nil)
	if err != nil {
		l.Close()
		return nil, err
	}
	s := &bareServer{l: l, pub: *key.Public(), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			fd, err := l.Accept()
			if err != nil {
				return
			}
			fd.Close()
		}
	}()
	return s, nil
}

func (s *bareServer) url() string {
	return fmt.Sprintf("enode://%x@%v", s.pub[:], s.l.Addr())
}

func (s *bareServer) addPeer(string) error { return errors.New("a bare listener does not dial") }
func (s *bareServer) adds() int64          { return 0 }
func (s *bareServer) session(time.Duration) (*poolSession, error) {
	return nil, errors.New("a bare listener runs no protocol")
}
func (s *bareServer) stop() { s.l.Close(); <-s.done }
