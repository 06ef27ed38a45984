// Package admin implements go-ethereum's admin and net JSON-RPC methods over
// a running p2p.Server: admin_nodeInfo, admin_peers, admin_addPeer,
// admin_removePeer, admin_addTrustedPeer, admin_removeTrustedPeer, the
// admin_peerEvents subscription, net_peerCount and net_listening, with
// go-ethereum's method names, result shapes and error messages, so that
// go-ethereum's rpc client and its console work against it. Some methods
// are ours: admin_natStatus, the state of the node's NAT port mappings;
// admin_diagnostics, why the node has the peers it has; admin_banPeer,
// admin_unbanPeer and admin_listBans, the ban list.
//
// API holds the methods, independent of any transport. Handler serves them
// as JSON-RPC 2.0 over HTTP and WebSocket (notifications, and therefore
// subscriptions, only over WebSocket, as in go-ethereum).
package admin

import (
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/p2p"
)

// ErrNodeStopped is returned by every method while the server is not
// running. The message is go-ethereum's.
var ErrNodeStopped = errors.New("node not started")

// API is the admin and net API of one p2p.Server. Its methods are safe for
// concurrent use.
type API struct {
	srv       *p2p.Server
	natStatus atomic.Pointer[natStatusFunc] // see SetNATStatus
	started   atomic.Int64                  // Unix nanoseconds: when NewAPI found the server running, 0 if not
}

// NewAPI returns the API of srv. The server may be started later; until
// then every method returns ErrNodeStopped.
func NewAPI(srv *p2p.Server) *API {
	api := &API{srv: srv}
	if srv.Running() {
		// The uptime in admin_diagnostics, where the server does not tell.
		api.started.Store(time.Now().UnixNano())
	}
	return api
}

// running reports whether the server has been started.
func (api *API) running() bool {
	return api.srv.Self() != nil
}

// NodeInfo returns the local node's admin view (admin_nodeInfo).
func (api *API) NodeInfo() (*p2p.NodeInfo, error) {
	info := api.srv.NodeInfo()
	if info == nil {
		return nil, ErrNodeStopped
	}
	return info, nil
}

// Peers returns the connected peers sorted by ID (admin_peers).
func (api *API) Peers() ([]*p2p.PeerInfo, error) {
	if !api.running() {
		return nil, ErrNodeStopped
	}
	return api.srv.PeersInfo(), nil
}

// AddPeer makes url a static node: it is dialed and kept connected
// (admin_addPeer). url is an enode:// URL or an enr: record.
func (api *API) AddPeer(url string) (bool, error) {
	n, err := api.parse(url)
	if err != nil {
		return false, err
	}
	api.srv.AddPeer(n)
	return true, nil
}

// RemovePeer stops treating url as a static node and disconnects it,
// returning when it is gone (admin_removePeer).
func (api *API) RemovePeer(url string) (bool, error) {
	n, err := api.parse(url)
	if err != nil {
		return false, err
	}
	api.srv.RemovePeer(n)
	return true, nil
}

// AddTrustedPeer lets url connect beyond the peer limits
// (admin_addTrustedPeer). It does not dial.
func (api *API) AddTrustedPeer(url string) (bool, error) {
	n, err := api.parse(url)
	if err != nil {
		return false, err
	}
	api.srv.AddTrustedPeer(n)
	return true, nil
}

// RemoveTrustedPeer removes url from the trusted set
// (admin_removeTrustedPeer). A connected peer stays connected.
func (api *API) RemoveTrustedPeer(url string) (bool, error) {
	n, err := api.parse(url)
	if err != nil {
		return false, err
	}
	api.srv.RemoveTrustedPeer(n)
	return true, nil
}

// PeerCount returns the number of connected peers (net_peerCount).
func (api *API) PeerCount() (Quantity, error) {
	if !api.running() {
		return 0, ErrNodeStopped
	}
	return Quantity(api.srv.PeerCount()), nil
}

// Listening reports whether the node accepts connections (net_listening).
// go-ethereum always answers true; we answer false when the server has no
// listener (an empty ListenAddr).
func (api *API) Listening() bool {
	info := api.srv.NodeInfo()
	return info != nil && info.ListenAddr != ""
}

// SubscribePeerEvents delivers the server's peer events to ch until the
// subscription is ended (the source of admin_peerEvents).
func (api *API) SubscribePeerEvents(ch chan<- *p2p.PeerEvent) (p2p.Subscription, error) {
	if !api.running() {
		return nil, ErrNodeStopped
	}
	return api.srv.SubscribeEvents(ch), nil
}

// parse checks that the server runs and parses a node argument, with
// go-ethereum's error message for a bad one.
func (api *API) parse(url string) (*enode.Node, error) {
	if !api.running() {
		return nil, ErrNodeStopped
	}
	n, err := enode.Parse(enode.ValidSchemes, url)
	if err != nil {
		return nil, fmt.Errorf("invalid enode: %v", err)
	}
	return n, nil
}

// Quantity is an unsigned integer that marshals to JSON as a hex string
// with a 0x prefix and no leading zeros, like go-ethereum's hexutil.Uint.
type Quantity uint64

// MarshalText implements encoding.TextMarshaler.
func (q Quantity) MarshalText() ([]byte, error) {
	return strconv.AppendUint([]byte("0x"), uint64(q), 16), nil
}

// UnmarshalText implements encoding.TextUnmarshaler. It accepts what
// MarshalText produces.
func (q *Quantity) UnmarshalText(text []byte) error {
	s := string(text)
	if len(s) < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || (len(s) > 3 && s[2] == '0') {
		return fmt.Errorf("invalid hex quantity %q", s)
	}
	v, err := strconv.ParseUint(s[2:], 16, 64)
	if err != nil {
		return fmt.Errorf("invalid hex quantity %q", s)
	}
	*q = Quantity(v)
	return nil
}
