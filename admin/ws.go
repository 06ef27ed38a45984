package admin

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/creachadair/jrpc2"

	"github.com/devp2p-go/devp2p/p2p"
)

const (
	// wsReadLimit caps one received WebSocket message. Admin requests are
	// small; go-ethereum allows 32 MiB for its whole API.
	wsReadLimit = 1 << 20
	// wsWriteTimeout bounds the write of one message. A client that does
	// not read for that long loses its connection.
	wsWriteTimeout = 10 * time.Second
	// wsCloseTimeout is how long Close waits for a client to answer the
	// close frame before it drops the connection.
	wsCloseTimeout = time.Second
	// wsConcurrency is how many requests of one connection run at once.
	// admin_removePeer waits for the drop, so more than one is needed.
	wsConcurrency = 8
	// subscriptionBuffer is the channel between the server's event feed
	// and a subscription's sender. The feed itself queues thousands more.
	subscriptionBuffer = 64
)

// wsConn is one WebSocket client: a jrpc2 server on a channel over the
// socket, plus the client's subscriptions.
//
// go-ethereum's client drops a notification whose subscription it does not
// know yet, so a subscription sends nothing until the response carrying its
// ID has been written; Send activates it then.
type wsConn struct {
	api    *API
	ws     *websocket.Conn
	srv    *jrpc2.Server
	ctx    context.Context // ends with the connection
	cancel context.CancelFunc
	wg     sync.WaitGroup // subscription senders

	npending atomic.Int32 // len(pending), read by Send without the lock

	mu      sync.Mutex               // guards following
	subs    map[string]*subscription // by subscription ID
	pending map[string]*subscription // by request ID, until the response is sent
}

// subscription is one admin_peerEvents subscription.
type subscription struct {
	id     string
	active chan struct{} // closed when the client has the ID
	quit   chan struct{} // closed by admin_unsubscribe
}

func newWSConn(api *API, ws *websocket.Conn) *wsConn {
	ctx, cancel := context.WithCancel(context.Background())
	return &wsConn{
		api:     api,
		ws:      ws,
		ctx:     ctx,
		cancel:  cancel,
		subs:    make(map[string]*subscription),
		pending: make(map[string]*subscription),
	}
}

// serve runs the connection until the client or Close ends it.
func (c *wsConn) serve() {
	c.srv = jrpc2.NewServer(assigner{api: c.api, conn: c}, &jrpc2.ServerOptions{
		AllowPush:      true,
		Concurrency:    wsConcurrency,
		DisableBuiltin: true,
	})
	c.srv.Start(c)
	c.srv.Wait()
	c.cancel()
	c.wg.Wait()
}

// close ends the connection from the server side: a close frame, and
// after wsCloseTimeout without the client's answer, the socket.
func (c *wsConn) close() {
	done := make(chan struct{})
	go func() {
		c.ws.Close(websocket.StatusGoingAway, "server stopping")
		close(done)
	}()
	t := time.NewTimer(wsCloseTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		c.ws.CloseNow()
		<-done
	}
}

// Send implements channel.Channel. jrpc2 calls it with its lock held, so
// writes never interleave.
func (c *wsConn) Send(msg []byte) error {
	ctx, cancel := context.WithTimeout(c.ctx, wsWriteTimeout)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, msg); err != nil {
		return err
	}
	if c.npending.Load() > 0 {
		c.activate(msg)
	}
	return nil
}

// Recv implements channel.Channel. Text and binary messages are both
// taken as JSON, as go-ethereum does.
func (c *wsConn) Recv() ([]byte, error) {
	_, msg, err := c.ws.Read(c.ctx)
	return msg, err
}

// Close implements channel.Channel.
func (c *wsConn) Close() error {
	return c.ws.Close(websocket.StatusNormalClosure, "")
}

// activate starts the subscriptions whose subscribe response is in msg, a
// response or a batch of them.
func (c *wsConn) activate(msg []byte) {
	type response struct {
		ID json.RawMessage `json:"id"`
	}
	var batch []response
	if msg = bytes.TrimSpace(msg); len(msg) > 0 && msg[0] == '[' {
		if json.Unmarshal(msg, &batch) != nil {
			return
		}
	} else {
		var r response
		if json.Unmarshal(msg, &r) != nil {
			return
		}
		batch = append(batch, r)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range batch {
		if s := c.pending[string(r.ID)]; s != nil {
			delete(c.pending, string(r.ID))
			c.npending.Add(-1)
			close(s.active)
		}
	}
}

// subscriptionName reads the first argument of admin_subscribe, with
// go-ethereum's errors: the parameters must be an array (absent ones are
// not) whose first element is a string.
func subscriptionName(req *jrpc2.Request) (string, error) {
	p := bytes.TrimSpace([]byte(req.ParamString()))
	if len(p) == 0 || p[0] != '[' {
		return "", invalidParams("non-array args")
	}
	var raw []json.RawMessage
	var name string
	if json.Unmarshal(p, &raw) != nil || len(raw) == 0 || len(raw[0]) == 0 || raw[0][0] != '"' ||
		json.Unmarshal(raw[0], &name) != nil {
		return "", invalidParams("expected subscription name as first argument")
	}
	return name, nil
}

// subscribe implements admin_subscribe. The only subscription of the admin
// namespace is "peerEvents".
func subscribe(_ context.Context, api *API, c *wsConn, req *jrpc2.Request) (any, error) {
	if c == nil {
		return nil, errNotificationsUnsupported
	}
	name, err := subscriptionName(req)
	if err != nil {
		return nil, err
	}
	if name != "peerEvents" {
		return nil, &jrpc2.Error{Code: codeMethodNotFound,
			Message: fmt.Sprintf("no %q subscription in admin namespace", name)}
	}
	if req.IsNotification() {
		return nil, nil // nobody would learn the ID
	}
	events := make(chan *p2p.PeerEvent, subscriptionBuffer)
	feed, err := api.SubscribePeerEvents(events)
	if err != nil {
		return nil, err
	}
	s := &subscription{id: newSubscriptionID(), active: make(chan struct{}), quit: make(chan struct{})}
	c.mu.Lock()
	c.subs[s.id] = s
	c.pending[req.ID()] = s
	c.npending.Add(1)
	c.mu.Unlock()
	c.wg.Add(1)
	go c.runSubscription(s, feed, events)
	return s.id, nil
}

// unsubscribe implements admin_unsubscribe.
func unsubscribe(_ context.Context, _ *API, c *wsConn, req *jrpc2.Request) (any, error) {
	if c == nil {
		return nil, errNotificationsUnsupported
	}
	var id string
	if err := positionalArgs(req, &id); err != nil {
		return nil, err
	}
	c.mu.Lock()
	s := c.subs[id]
	delete(c.subs, id)
	c.mu.Unlock()
	if s == nil {
		return nil, errSubscriptionNotFound
	}
	close(s.quit)
	return true, nil
}

// notification is the params object of an admin_subscription message.
type notification struct {
	ID     string `json:"subscription"`
	Result any    `json:"result"`
}

// runSubscription forwards peer events to the client once the subscription
// is active, until it is unsubscribed, the connection ends or the server
// stops (which ends the event feed).
func (c *wsConn) runSubscription(s *subscription, feed p2p.Subscription, events <-chan *p2p.PeerEvent) {
	defer c.wg.Done()
	defer feed.Unsubscribe()
	defer func() {
		c.mu.Lock()
		delete(c.subs, s.id)
		c.mu.Unlock()
	}()
	select {
	case <-s.active:
	case <-s.quit:
		return
	case <-c.ctx.Done():
		return
	}
	for {
		select {
		case ev := <-events:
			if err := c.srv.Notify(c.ctx, "admin_subscription", notification{ID: s.id, Result: ev}); err != nil {
				return
			}
		case <-feed.Err():
			// The server stopped, or this subscriber fell too far behind.
			return
		case <-s.quit:
			return
		case <-c.ctx.Done():
			return
		}
	}
}

// newSubscriptionID returns a random ID in go-ethereum's format: 0x and 32
// hex digits.
func newSubscriptionID() string {
	var b [16]byte
	rand.Read(b[:])
	return "0x" + hex.EncodeToString(b[:])
}
