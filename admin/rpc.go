package admin

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/creachadair/jrpc2"
)

// JSON-RPC error codes, as go-ethereum uses them.
const (
	codeDefault        jrpc2.Code = -32000 // an error returned by a method
	codeMethodNotFound jrpc2.Code = -32601
	codeInvalidParams  jrpc2.Code = -32602
	codeParseError     jrpc2.Code = -32700
	codeInvalidRequest jrpc2.Code = -32600
)

// Errors of the subscription methods, with go-ethereum's messages.
var (
	errNotificationsUnsupported = &jrpc2.Error{Code: codeMethodNotFound, Message: "notifications not supported"}
	errSubscriptionNotFound     = &jrpc2.Error{Code: codeDefault, Message: "subscription not found"}
)

// method is one JSON-RPC method. conn is the WebSocket connection the
// request came on, or nil over HTTP.
type method func(ctx context.Context, api *API, conn *wsConn, req *jrpc2.Request) (any, error)

// methods are the JSON-RPC methods we serve, by name.
var methods = map[string]method{
	"admin_nodeInfo":          noArgs(func(api *API) (any, error) { return api.NodeInfo() }),
	"admin_peers":             noArgs(func(api *API) (any, error) { return api.Peers() }),
	"admin_addPeer":           urlArg((*API).AddPeer),
	"admin_removePeer":        urlArg((*API).RemovePeer),
	"admin_addTrustedPeer":    urlArg((*API).AddTrustedPeer),
	"admin_removeTrustedPeer": urlArg((*API).RemoveTrustedPeer),
	"admin_natStatus":         noArgs(func(api *API) (any, error) { return api.NATStatus() }),
	"admin_diagnostics":       noArgs(func(api *API) (any, error) { return api.Diagnostics() }),
	"admin_banPeer":           banPeer,
	"admin_unbanPeer":         urlArg((*API).UnbanPeer),
	"admin_listBans":          noArgs(func(api *API) (any, error) { return api.ListBans() }),
	"admin_subscribe":         subscribe,
	"admin_unsubscribe":       unsubscribe,
	"net_peerCount":           noArgs(func(api *API) (any, error) { return api.PeerCount() }),
	"net_listening":           noArgs(func(api *API) (any, error) { return api.Listening(), nil }),
	"rpc_modules":             noArgs(func(*API) (any, error) { return modules, nil }),
}

// modules is the answer to rpc_modules, which go-ethereum's console asks
// for when it attaches.
var modules = map[string]string{"admin": "1.0", "net": "1.0", "rpc": "1.0"}

// MethodNames returns the names of the JSON-RPC methods served, sorted.
// Subscriptions are made with admin_subscribe("peerEvents").
func MethodNames() []string {
	names := make([]string, 0, len(methods))
	for name := range methods {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// assigner maps method names to handlers for one transport connection.
type assigner struct {
	api  *API
	conn *wsConn // nil over HTTP
}

// Assign implements jrpc2.Assigner. An unknown method gets a handler that
// reports go-ethereum's "does not exist" error.
func (a assigner) Assign(_ context.Context, name string) jrpc2.Handler {
	m, ok := methods[name]
	if !ok {
		return func(context.Context, *jrpc2.Request) (any, error) {
			return nil, &jrpc2.Error{Code: codeMethodNotFound,
				Message: fmt.Sprintf("the method %s does not exist/is not available", name)}
		}
	}
	return func(ctx context.Context, req *jrpc2.Request) (any, error) {
		res, err := m(ctx, a.api, a.conn, req)
		if err != nil {
			return nil, rpcError(err)
		}
		return res, nil
	}
}

// Names implements jrpc2.Namer.
func (a assigner) Names() []string { return MethodNames() }

// rpcError gives an error returned by a method go-ethereum's code: errors
// that carry a JSON-RPC code keep it, others get -32000.
func rpcError(err error) error {
	var je *jrpc2.Error
	if errors.As(err, &je) {
		return je
	}
	return &jrpc2.Error{Code: codeDefault, Message: err.Error()}
}

func noArgs(f func(*API) (any, error)) method {
	return func(_ context.Context, api *API, _ *wsConn, req *jrpc2.Request) (any, error) {
		if err := positionalArgs(req); err != nil {
			return nil, err
		}
		return f(api)
	}
}

func urlArg(f func(*API, string) (bool, error)) method {
	return func(_ context.Context, api *API, _ *wsConn, req *jrpc2.Request) (any, error) {
		var url string
		if err := positionalArgs(req, &url); err != nil {
			return nil, err
		}
		return f(api, url)
	}
}

// positionalArgs decodes the request's parameters, which must be a JSON
// array (or absent), into args, all of which are required. Errors are
// go-ethereum's, with code -32602.
func positionalArgs(req *jrpc2.Request, args ...any) error {
	return optionalArgs(req, len(args), args...)
}

func invalidParams(msg string) *jrpc2.Error {
	return &jrpc2.Error{Code: codeInvalidParams, Message: msg}
}
