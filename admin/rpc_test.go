package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/devp2p-go/devp2p/p2p"
)

// rpcResponse is a JSON-RPC response or notification as a client sees it.
type rpcResponse struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// httpCallTests are requests over HTTP and what must come back: a result
// that contains want, or an error with the code and message prefix.
var httpCallTests = []struct {
	name    string
	body    string
	want    string // substring of the result
	code    int    // error code, 0 for success
	message string // error message prefix
}{
	{name: "nodeInfo", body: `{"jsonrpc":"2.0","id":1,"method":"admin_nodeInfo"}`, want: `"listenAddr":"127.0.0.1:`},
	{name: "nodeInfo empty params", body: `{"jsonrpc":"2.0","id":1,"method":"admin_nodeInfo","params":[]}`, want: `"enode":"enode://`},
	{name: "peers", body: `{"jsonrpc":"2.0","id":1,"method":"admin_peers","params":[]}`, want: `[]`},
	{name: "peerCount", body: `{"jsonrpc":"2.0","id":1,"method":"net_peerCount"}`, want: `"0x0"`},
	{name: "listening", body: `{"jsonrpc":"2.0","id":1,"method":"net_listening"}`, want: `true`},
	{name: "natStatus", body: `{"jsonrpc":"2.0","id":1,"method":"admin_natStatus"}`, want: `{"spec":"none","mechanism":"none","mappings":[]}`},
	{name: "modules", body: `{"jsonrpc":"2.0","id":1,"method":"rpc_modules"}`, want: `"admin":"1.0"`},
	{name: "key not on curve", body: `{"jsonrpc":"2.0","id":1,"method":"admin_addTrustedPeer","params":["enode://` + strings.Repeat("1b", 32) + strings.Repeat("2c", 32) + `@127.0.0.1:1"]}`,
		code: -32000, message: "invalid enode: invalid public key"},
	{name: "bad enode", body: `{"jsonrpc":"2.0","id":1,"method":"admin_addPeer","params":["enode://xyz@127.0.0.1:1"]}`,
		code: -32000, message: "invalid enode: "},
	{name: "missing arg", body: `{"jsonrpc":"2.0","id":1,"method":"admin_addPeer","params":[]}`,
		code: -32602, message: "missing value for required argument 0"},
	{name: "null arg", body: `{"jsonrpc":"2.0","id":1,"method":"admin_addPeer","params":[null]}`,
		code: -32602, message: "missing value for required argument 0"},
	{name: "wrong type", body: `{"jsonrpc":"2.0","id":1,"method":"admin_addPeer","params":[7]}`,
		code: -32602, message: "invalid argument 0: json: cannot unmarshal number"},
	{name: "too many", body: `{"jsonrpc":"2.0","id":1,"method":"admin_peers","params":[1]}`,
		code: -32602, message: "too many arguments, want at most 0"},
	{name: "object params", body: `{"jsonrpc":"2.0","id":1,"method":"admin_addPeer","params":{"url":"x"}}`,
		code: -32602, message: "non-array args"},
	{name: "unknown method", body: `{"jsonrpc":"2.0","id":1,"method":"admin_frobnicate"}`,
		code: -32601, message: "the method admin_frobnicate does not exist/is not available"},
	{name: "subscribe over HTTP", body: `{"jsonrpc":"2.0","id":1,"method":"admin_subscribe","params":["peerEvents"]}`,
		code: -32601, message: "notifications not supported"},
	{name: "parse error", body: `{"jsonrpc":"2.0","id":1,"method":`, code: -32700, message: "parse error"},
	{name: "empty batch", body: `[]`, code: -32600, message: "empty batch"},
}

func TestHTTPCalls(t *testing.T) {
	url := startHTTP(t, HandlerConfig{HTTP: true})
	for _, tc := range httpCallTests {
		t.Run(tc.name, func(t *testing.T) {
			resp := postJSON(t, url, tc.body)
			var r rpcResponse
			if err := json.Unmarshal(resp, &r); err != nil {
				t.Fatalf("response %s: %v", resp, err)
			}
			switch {
			case tc.code == 0 && r.Error != nil:
				t.Fatalf("error %d %q", r.Error.Code, r.Error.Message)
			case tc.code == 0 && !strings.Contains(string(r.Result), tc.want):
				t.Fatalf("result %s does not contain %s", r.Result, tc.want)
			case tc.code != 0 && r.Error == nil:
				t.Fatalf("result %s, want error %d", r.Result, tc.code)
			case tc.code != 0 && (r.Error.Code != tc.code || !strings.HasPrefix(r.Error.Message, tc.message)):
				t.Fatalf("error %d %q, want %d %q…", r.Error.Code, r.Error.Message, tc.code, tc.message)
			}
		})
	}
}

func TestHTTPBatch(t *testing.T) {
	url := startHTTP(t, HandlerConfig{HTTP: true})
	resp := postJSON(t, url, `[{"jsonrpc":"2.0","id":"a","method":"net_peerCount"},{"jsonrpc":"2.0","id":"b","method":"net_listening"}]`)
	var rs []rpcResponse
	if err := json.Unmarshal(resp, &rs); err != nil || len(rs) != 2 {
		t.Fatalf("batch response %s: %v", resp, err)
	}
	if string(rs[0].ID) != `"a"` || string(rs[0].Result) != `"0x0"` || string(rs[1].ID) != `"b"` || string(rs[1].Result) != "true" {
		t.Errorf("batch response %s", resp)
	}
}

func TestHTTPRequestChecks(t *testing.T) {
	url := startHTTP(t, HandlerConfig{HTTP: true})
	do := func(method, host, ctype, body string) int {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		if host != "" {
			req.Host = host
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	call := `{"jsonrpc":"2.0","id":1,"method":"net_listening"}`
	for _, tc := range []struct {
		name, method, host, ctype, body string
		status                          int
	}{
		{"ok", "POST", "", "application/json", call, 200},
		{"localhost", "POST", "localhost:8545", "application/json", call, 200},
		{"rebinding", "POST", "evil.example:8545", "application/json", call, 403},
		{"content type", "POST", "", "text/plain", call, 415},
		{"put", "PUT", "", "application/json", call, 405},
		{"health", "GET", "", "", "", 200},
		{"too large", "POST", "", "application/json", strings.Repeat(" ", httpBodyLimit+1), 413},
	} {
		if got := do(tc.method, tc.host, tc.ctype, tc.body); got != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.status)
		}
	}
	// An explicit vhost list replaces "localhost"; "*" allows any.
	url2 := startHTTP(t, HandlerConfig{HTTP: true, VHosts: []string{"node.example"}})
	req, _ := http.NewRequest("POST", url2, strings.NewReader(call))
	req.Header.Set("Content-Type", "application/json")
	req.Host = "node.example"
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("vhost node.example: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

func TestWebSocketOnly(t *testing.T) {
	url := startHTTP(t, HandlerConfig{WS: true})
	req, _ := http.NewRequest("POST", url, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"net_listening"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("HTTP POST to a WS-only handler: status %d", resp.StatusCode)
	}
}

func TestWebSocketSubscription(t *testing.T) {
	srv1, srv2 := startServer(t), startServer(t)
	h := NewHandler(NewAPI(srv1), HandlerConfig{WS: true})
	hs := httptest.NewServer(h)
	t.Cleanup(func() { h.Close(); hs.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	send := func(msg string) {
		t.Helper()
		if err := ws.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	recv := func() rpcResponse {
		t.Helper()
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var r rpcResponse
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		return r
	}

	// Calls work over WS as over HTTP.
	send(`{"jsonrpc":"2.0","id":1,"method":"net_peerCount"}`)
	if r := recv(); string(r.Result) != `"0x0"` {
		t.Fatalf("net_peerCount: %+v", r)
	}
	send(`{"jsonrpc":"2.0","id":2,"method":"admin_subscribe","params":["nosuch"]}`)
	if r := recv(); r.Error == nil || r.Error.Code != -32601 || r.Error.Message != `no "nosuch" subscription in admin namespace` {
		t.Fatalf("unknown subscription: %+v", r)
	}
	// go-ethereum's errors for a missing or non-string name.
	for _, tc := range []struct{ params, want string }{
		{``, "non-array args"},
		{`,"params":{"name":"peerEvents"}`, "non-array args"},
		{`,"params":[]`, "expected subscription name as first argument"},
		{`,"params":[null]`, "expected subscription name as first argument"},
		{`,"params":[5]`, "expected subscription name as first argument"},
	} {
		send(`{"jsonrpc":"2.0","id":2,"method":"admin_subscribe"` + tc.params + `}`)
		if r := recv(); r.Error == nil || r.Error.Code != -32602 || r.Error.Message != tc.want {
			t.Fatalf("subscribe with params %s: %+v", tc.params, r)
		}
	}

	// Subscribe, then connect a peer: the response comes first, then the
	// add event as an admin_subscription notification.
	send(`{"jsonrpc":"2.0","id":3,"method":"admin_subscribe","params":["peerEvents"]}`)
	r := recv()
	var subID string
	if err := json.Unmarshal(r.Result, &subID); err != nil || string(r.ID) != "3" || !strings.HasPrefix(subID, "0x") || len(subID) != 34 {
		t.Fatalf("subscribe response: %+v", r)
	}
	srv1.AddPeer(srv2.Self())
	n := recv()
	var params struct {
		Subscription string         `json:"subscription"`
		Result       *p2p.PeerEvent `json:"result"`
	}
	if err := json.Unmarshal(n.Params, &params); err != nil || n.Method != "admin_subscription" || n.ID != nil {
		t.Fatalf("notification %+v: %v", n, err)
	}
	if params.Subscription != subID || params.Result.Type != p2p.PeerEventTypeAdd || params.Result.Peer != srv2.Self().ID() {
		t.Fatalf("notification params %+v", params)
	}

	// Unsubscribe; a second time the subscription is not found.
	send(`{"jsonrpc":"2.0","id":4,"method":"admin_unsubscribe","params":["` + subID + `"]}`)
	if r := recv(); string(r.Result) != "true" {
		t.Fatalf("unsubscribe: %+v", r)
	}
	send(`{"jsonrpc":"2.0","id":5,"method":"admin_unsubscribe","params":["` + subID + `"]}`)
	if r := recv(); r.Error == nil || r.Error.Message != "subscription not found" {
		t.Fatalf("second unsubscribe: %+v", r)
	}
	// No more events after unsubscribing: the drop is not delivered, the
	// next message is the answer to the next call.
	srv1.RemovePeer(srv2.Self())
	send(`{"jsonrpc":"2.0","id":6,"method":"net_peerCount"}`)
	if r := recv(); string(r.ID) != "6" {
		t.Fatalf("after unsubscribe got %+v", r)
	}
}

func TestWebSocketClose(t *testing.T) {
	srv := startServer(t)
	h := NewHandler(NewAPI(srv), HandlerConfig{WS: true})
	hs := httptest.NewServer(h)
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	ws.Write(ctx, websocket.MessageText, []byte(`{"jsonrpc":"2.0","id":1,"method":"admin_subscribe","params":["peerEvents"]}`))
	if _, _, err := ws.Read(ctx); err != nil {
		t.Fatal(err)
	}
	// Close ends the connection and its subscription.
	readErr := make(chan error, 1)
	go func() {
		_, _, err := ws.Read(ctx)
		readErr <- err
	}()
	h.Close()
	if err := <-readErr; websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("read after Close: %v", err)
	}
}

func TestWebSocketOrigin(t *testing.T) {
	url := startHTTP(t, HandlerConfig{WS: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hdr := http.Header{"Origin": []string{"http://evil.example"}}
	ws, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http"), &websocket.DialOptions{HTTPHeader: hdr})
	if err == nil {
		ws.CloseNow()
		t.Fatal("cross-origin upgrade accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin upgrade: %v %v", resp, err)
	}
}

// Code below here is the framework for the tests above.

// startHTTP serves a Handler over a started server on an httptest server
// and returns its URL.
func startHTTP(t *testing.T, cfg HandlerConfig) string {
	t.Helper()
	h := NewHandler(NewAPI(startServer(t)), cfg)
	hs := httptest.NewServer(h)
	t.Cleanup(func() { h.Close(); hs.Close() })
	return hs.URL + "/"
}

func postJSON(t *testing.T, url, body string) []byte {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	return b
}
