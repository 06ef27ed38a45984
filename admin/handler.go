package admin

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/coder/websocket"
	"github.com/creachadair/jrpc2"
	"github.com/creachadair/jrpc2/jhttp"
)

const (
	// httpBodyLimit caps a JSON-RPC request body over HTTP.
	httpBodyLimit = 1 << 20
	// httpConcurrency is how many HTTP requests run at once.
	httpConcurrency = 16
)

// HandlerConfig configures a Handler.
type HandlerConfig struct {
	// HTTP serves JSON-RPC over HTTP POST.
	HTTP bool
	// WS serves JSON-RPC over WebSocket, with subscriptions.
	WS bool

	// VHosts are the Host header values accepted over HTTP, a guard against
	// DNS rebinding, as go-ethereum's --http.vhosts: a request whose Host is
	// an IP address is always accepted; "*" accepts any. Empty means
	// "localhost".
	VHosts []string

	// WSOrigins are the Origin host patterns (path.Match syntax) accepted
	// for WebSocket upgrades, as go-ethereum's --ws.origins. Requests
	// without an Origin header (non-browser clients) and same-origin
	// requests are always accepted; "*" accepts any.
	WSOrigins []string

	// Logger receives connection errors. Nil means slog.Default().
	Logger *slog.Logger
}

// Handler serves an API as JSON-RPC 2.0: HTTP POST requests (single or
// batch) and WebSocket connections, at the path "/". Close it to end the
// WebSocket connections, which http.Server.Shutdown does not track.
type Handler struct {
	api    *API
	cfg    HandlerConfig
	log    *slog.Logger
	bridge jhttp.Bridge
	vhosts map[string]bool

	mu     sync.Mutex // guards following
	conns  map[*wsConn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// NewHandler returns a Handler for api.
func NewHandler(api *API, cfg HandlerConfig) *Handler {
	h := &Handler{
		api:    api,
		cfg:    cfg,
		log:    cfg.Logger,
		vhosts: make(map[string]bool),
		conns:  make(map[*wsConn]struct{}),
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if len(cfg.VHosts) == 0 {
		h.vhosts["localhost"] = true
	}
	for _, v := range cfg.VHosts {
		h.vhosts[strings.ToLower(strings.TrimSpace(v))] = true
	}
	h.bridge = jhttp.NewBridge(assigner{api: api}, &jhttp.BridgeOptions{
		Server:       &jrpc2.ServerOptions{Concurrency: httpConcurrency, DisableBuiltin: true},
		ParseRequest: parseHTTPRequest,
	})
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	if h.cfg.WS && isWebSocket(r) {
		h.serveWS(w, r)
		return
	}
	if !h.cfg.HTTP {
		http.Error(w, "this endpoint serves JSON-RPC over WebSocket only", http.StatusBadRequest)
		return
	}
	if !h.validHost(r.Host) {
		http.Error(w, "invalid host specified", http.StatusForbidden)
		return
	}
	switch {
	case r.Method == http.MethodGet && r.ContentLength == 0 && r.URL.RawQuery == "":
		// A health check, as go-ethereum answers it.
		w.WriteHeader(http.StatusOK)
		return
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed: use POST", http.StatusMethodNotAllowed)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || !jsonMediaTypes[mt] {
		http.Error(w, "invalid content type, only application/json is supported", http.StatusUnsupportedMediaType)
		return
	}
	if r.ContentLength > httpBodyLimit {
		http.Error(w, "content length too large", http.StatusRequestEntityTooLarge)
		return
	}
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		http.Error(w, errHandlerClosed.Error(), http.StatusServiceUnavailable)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, httpBodyLimit)
	h.bridge.ServeHTTP(w, r)
}

// jsonMediaTypes are the request content types go-ethereum accepts.
var jsonMediaTypes = map[string]bool{
	"application/json":        true,
	"application/json-rpc":    true,
	"application/jsonrequest": true,
}

// parseHTTPRequest reads a JSON-RPC request or batch from the body. Invalid
// JSON gets a JSON-RPC parse error response, not an HTTP error.
func parseHTTPRequest(r *http.Request) ([]*jrpc2.ParsedRequest, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	body = bytes.TrimSpace(body)
	reqs, err := jrpc2.ParseRequests(body)
	switch {
	case err != nil:
		return []*jrpc2.ParsedRequest{{Error: &jrpc2.Error{Code: codeParseError, Message: "parse error: " + err.Error()}}}, nil
	case len(reqs) == 0 && len(body) > 0 && body[0] == '[':
		return []*jrpc2.ParsedRequest{{Error: &jrpc2.Error{Code: codeInvalidRequest, Message: "empty batch"}}}, nil
	case len(reqs) == 0:
		return []*jrpc2.ParsedRequest{{Error: &jrpc2.Error{Code: codeInvalidRequest, Message: "empty request"}}}, nil
	}
	return reqs, nil
}

// validHost reports whether an HTTP request for host may be served.
func (h *Handler) validHost(host string) bool {
	if hostname, _, err := net.SplitHostPort(host); err == nil {
		host = hostname
	}
	if net.ParseIP(strings.Trim(host, "[]")) != nil {
		return true
	}
	return h.vhosts["*"] || h.vhosts[strings.ToLower(host)]
}

func isWebSocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") &&
		strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade")
}

// errHandlerClosed is the reason a WebSocket upgrade fails after Close.
var errHandlerClosed = errors.New("admin: handler closed")

func (h *Handler) serveWS(w http.ResponseWriter, r *http.Request) {
	opts := &websocket.AcceptOptions{OriginPatterns: h.cfg.WSOrigins}
	for _, o := range h.cfg.WSOrigins {
		if o == "*" {
			opts.InsecureSkipVerify = true
		}
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		http.Error(w, errHandlerClosed.Error(), http.StatusServiceUnavailable)
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()

	ws, err := websocket.Accept(w, r, opts)
	if err != nil {
		h.log.Debug("WebSocket upgrade failed", "addr", r.RemoteAddr, "err", err)
		return
	}
	ws.SetReadLimit(wsReadLimit)
	c := newWSConn(h.api, ws)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		c.close()
		return
	}
	h.conns[c] = struct{}{}
	h.mu.Unlock()
	h.log.Debug("WebSocket JSON-RPC connection opened", "addr", r.RemoteAddr)
	c.serve()
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
	h.log.Debug("WebSocket JSON-RPC connection closed", "addr", r.RemoteAddr)
}

// Close ends all WebSocket connections and waits for their goroutines,
// and stops the HTTP bridge. The handler refuses requests afterwards.
func (h *Handler) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	var closing sync.WaitGroup
	for c := range h.conns {
		closing.Go(c.close)
	}
	h.mu.Unlock()
	closing.Wait()
	h.wg.Wait()
	h.bridge.Close()
}
