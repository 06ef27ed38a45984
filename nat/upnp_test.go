package nat

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestUPnPMapping(t *testing.T) {
	igd := newFakeIGD(t, "WANIPConnection:1")
	n := igd.client(t)
	if got := n.String(); !strings.HasPrefix(got, "UPnP(WANIPConnection:1 at 127.0.0.1:") {
		t.Errorf("String = %q", got)
	}

	ip, err := n.ExternalIP()
	if err != nil {
		t.Fatal(err)
	}
	if ip != netip.MustParseAddr("203.0.113.9") {
		t.Errorf("ExternalIP = %v", ip)
	}

	port, err := n.AddMapping("tcp", 0, 30303, "devp2p test", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if port != 30303 {
		t.Errorf("granted %d, want 30303", port)
	}
	want := igdMapping{client: "127.0.0.1", intPort: 30303, desc: "devp2p test", lease: 600}
	if m, ok := igd.mapping("TCP", 30303); !ok || m != want {
		t.Errorf("gateway holds %+v (ok=%v), want %+v", m, ok, want)
	}
	// A renewal of our own mapping is accepted.
	if port, err := n.AddMapping("tcp", 30303, 30303, "devp2p test", 10*time.Minute); err != nil || port != 30303 {
		t.Errorf("renewal: %d, %v", port, err)
	}

	if err := n.DeleteMapping("tcp", 30303, 30303); err != nil {
		t.Fatal(err)
	}
	if _, ok := igd.mapping("TCP", 30303); ok {
		t.Error("mapping still held after DeleteMapping")
	}
	if err := n.DeleteMapping("tcp", 30303, 30303); err == nil || upnpErrorCode(err) != 714 {
		t.Errorf("deleting a missing mapping: err = %v, want UPnP error 714", err)
	}
}

// ConflictInMappingEntry (718) is not retried on the same port: random
// ports in [10000, 65535] are tried instead.
func TestUPnPConflict(t *testing.T) {
	igd := newFakeIGD(t, "WANIPConnection:1")
	igd.set(func(g *fakeIGD) { g.taken[30303] = true })
	n := igd.client(t)
	n.rand = rand.New(rand.NewPCG(1, 2))

	port, err := n.AddMapping("udp", 30303, 30303, "x", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if port < upnpRandomMin || port == 30303 {
		t.Errorf("granted %d, want a random port from %d", port, upnpRandomMin)
	}
	if m, ok := igd.mapping("UDP", port); !ok || m.intPort != 30303 {
		t.Errorf("gateway holds %+v for %d", m, port)
	}
	if c := igd.calls("AddPortMapping"); c != 2 {
		t.Errorf("%d AddPortMapping calls, want 2 (requested port, one random)", c)
	}
}

// Other faults are retried on the requested port, then on random ports,
// and then reported.
func TestUPnPFault(t *testing.T) {
	igd := newFakeIGD(t, "WANIPConnection:1")
	igd.set(func(g *fakeIGD) { g.addFault = 501 })
	n := igd.client(t)
	_, err := n.AddMapping("tcp", 30303, 30303, "x", time.Minute)
	if upnpErrorCode(err) != 501 {
		t.Fatalf("err = %v, want UPnP error 501", err)
	}
	if c, want := igd.calls("AddPortMapping"), upnpRetries+1+upnpRandomPorts; c != want {
		t.Errorf("%d AddPortMapping calls, want %d", c, want)
	}
}

// OnlyPermanentLeasesSupported (725): the request is repeated with lease 0.
func TestUPnPOnlyPermanentLeases(t *testing.T) {
	igd := newFakeIGD(t, "WANPPPConnection:1")
	igd.set(func(g *fakeIGD) { g.onlyPermanent = true })
	n := igd.client(t)
	if !strings.Contains(n.String(), "WANPPPConnection:1") {
		t.Errorf("String = %q", n.String())
	}
	port, err := n.AddMapping("tcp", 0, 30303, "x", time.Minute)
	if err != nil || port != 30303 {
		t.Fatalf("AddMapping = %d, %v", port, err)
	}
	if m, _ := igd.mapping("TCP", 30303); m.lease != 0 {
		t.Errorf("lease %d, want 0", m.lease)
	}
}

// IGDv2's WANIPConnection:2 lets the gateway choose a free port.
func TestUPnPAddAnyPortMapping(t *testing.T) {
	igd := newFakeIGD(t, "WANIPConnection:2")
	igd.set(func(g *fakeIGD) { g.taken[30303] = true })
	n := igd.client(t)
	port, err := n.AddMapping("tcp", 30303, 30303, "x", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if port != 50000 {
		t.Errorf("granted %d, want the gateway's choice 50000", port)
	}
	if igd.calls("AddAnyPortMapping") != 1 || igd.calls("AddPortMapping") != 0 {
		t.Errorf("calls: %v", igd.callCounts())
	}
}

func TestUPnPDeviceRefused(t *testing.T) {
	igd := newFakeIGD(t, "WANIPConnection:1")
	igd.set(func(g *fakeIGD) { g.natEnabled = false })
	if _, err := upnpAt(context.Background(), igd.location()); err == nil {
		t.Error("device with NAT disabled accepted")
	}

	igd.set(func(g *fakeIGD) { g.natEnabled, g.extIP = true, "" })
	n := igd.client(t)
	if _, err := n.ExternalIP(); err == nil {
		t.Error("empty external address accepted")
	}

	igd.srv.Close()
	if _, err := n.AddMapping("tcp", 0, 30303, "x", time.Minute); err == nil {
		t.Error("AddMapping to a closed server succeeded")
	} else if c := igd.calls("AddPortMapping"); c != 0 {
		t.Errorf("%d calls reached a closed server", c)
	}
	if _, err := upnpAt(context.Background(), igd.location()); err == nil {
		t.Error("upnpAt of a closed server succeeded")
	}
}

// Code below here is the framework for the tests above.

// fakeIGD is a UPnP Internet Gateway Device on loopback HTTP: it serves a
// device description with one port-mapping service and answers that
// service's SOAP actions. goupnp reaches it by URL, without SSDP.
type fakeIGD struct {
	t       *testing.T
	srv     *httptest.Server
	service string // "WANIPConnection:1", "WANIPConnection:2" or "WANPPPConnection:1"

	mu            sync.Mutex // guards following
	extIP         string
	natEnabled    bool
	addFault      int  // non-zero: AddPortMapping fails with this UPnP error
	onlyPermanent bool // AddPortMapping with a lease fails with 725
	mappings      map[igdKey]igdMapping
	taken         map[uint16]bool // external ports held by other hosts
	callCount     map[string]int
}

type igdKey struct {
	proto string
	ext   uint16
}

type igdMapping struct {
	client  string
	intPort uint16
	desc    string
	lease   uint32
}

func newFakeIGD(t *testing.T, service string) *fakeIGD {
	g := &fakeIGD{
		t:          t,
		service:    service,
		extIP:      "203.0.113.9",
		natEnabled: true,
		mappings:   make(map[igdKey]igdMapping),
		taken:      make(map[uint16]bool),
		callCount:  make(map[string]int),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /rootDesc.xml", g.serveDescription)
	mux.HandleFunc("POST /ctl/wan", g.serveControl)
	g.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		g.srv.Close()
		http.DefaultClient.CloseIdleConnections()
	})
	return g
}

func (g *fakeIGD) location() *url.URL {
	u, _ := url.Parse(g.srv.URL + "/rootDesc.xml")
	return u
}

// client returns an Interface for the fake, without the rate limit.
func (g *fakeIGD) client(t *testing.T) *upnp {
	t.Helper()
	n, err := upnpAt(context.Background(), g.location())
	if err != nil {
		t.Fatal(err)
	}
	n.minGap = 0
	return n
}

func (g *fakeIGD) set(fn func(*fakeIGD)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	fn(g)
}

func (g *fakeIGD) mapping(proto string, ext uint16) (igdMapping, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m, ok := g.mappings[igdKey{proto, ext}]
	return m, ok
}

func (g *fakeIGD) calls(action string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.callCount[action]
}

func (g *fakeIGD) callCounts() map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return maps.Clone(g.callCount)
}

func (g *fakeIGD) urn() string { return "urn:schemas-upnp-org:service:" + g.service }

func (g *fakeIGD) serveDescription(w http.ResponseWriter, r *http.Request) {
	v := "1"
	if g.service == "WANIPConnection:2" {
		v = "2"
	}
	w.Header().Set("Content-Type", `text/xml; charset="utf-8"`)
	fmt.Fprintf(w, `<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
 <specVersion><major>1</major><minor>0</minor></specVersion>
 <device>
  <deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:%[1]s</deviceType>
  <friendlyName>fake IGD</friendlyName>
  <UDN>uuid:fake-igd</UDN>
  <serviceList><service>
   <serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType>
   <serviceId>urn:upnp-org:serviceId:L3Forwarding1</serviceId>
   <controlURL>/ctl/l3f</controlURL><eventSubURL>/evt/l3f</eventSubURL><SCPDURL>/l3f.xml</SCPDURL>
  </service></serviceList>
  <deviceList><device>
   <deviceType>urn:schemas-upnp-org:device:WANDevice:%[1]s</deviceType>
   <friendlyName>WAN device</friendlyName>
   <UDN>uuid:fake-wan</UDN>
   <deviceList><device>
    <deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:%[1]s</deviceType>
    <friendlyName>WAN connection device</friendlyName>
    <UDN>uuid:fake-wanconn</UDN>
    <serviceList><service>
     <serviceType>%[2]s</serviceType>
     <serviceId>urn:upnp-org:serviceId:WANConn1</serviceId>
     <controlURL>/ctl/wan</controlURL><eventSubURL>/evt/wan</eventSubURL><SCPDURL>/wan.xml</SCPDURL>
    </service></serviceList>
   </device></deviceList>
  </device></deviceList>
 </device>
</root>`, v, g.urn())
}

// soapRequest is the body of a SOAP action request.
type soapRequest struct {
	Body struct {
		Action struct {
			XMLName xml.Name
			Args    []struct {
				XMLName xml.Name
				Value   string `xml:",chardata"`
			} `xml:",any"`
		} `xml:",any"`
	} `xml:"Body"`
}

func (g *fakeIGD) serveControl(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req soapRequest
	if err := xml.Unmarshal(body, &req); err != nil {
		g.t.Errorf("fake IGD: bad SOAP request: %v", err)
		g.fault(w, 402)
		return
	}
	action := req.Body.Action.XMLName.Local
	if got, want := r.Header.Get("SOAPAction"), `"`+g.urn()+"#"+action+`"`; got != want {
		g.t.Errorf("fake IGD: SOAPAction %s, want %s", got, want)
	}
	args := make(map[string]string)
	for _, a := range req.Body.Action.Args {
		args[a.XMLName.Local] = a.Value
	}
	out, code := g.act(action, args)
	if code != 0 {
		g.fault(w, code)
		return
	}
	var sb strings.Builder
	for _, kv := range out {
		fmt.Fprintf(&sb, "<%[1]s>%[2]s</%[1]s>", kv[0], kv[1])
	}
	w.Header().Set("Content-Type", `text/xml; charset="utf-8"`)
	fmt.Fprintf(w, `<?xml version="1.0"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:%[1]sResponse xmlns:u="%[2]s">%[3]s</u:%[1]sResponse></s:Body></s:Envelope>`,
		action, g.urn(), sb.String())
}

// act performs a SOAP action and returns its out arguments or a UPnP error
// code (UPnP IGD:2 WANIPConnection:2 service, section 2.5).
func (g *fakeIGD) act(action string, args map[string]string) (out [][2]string, code int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.callCount[action]++
	port := func(name string) uint16 {
		p, _ := strconv.ParseUint(args[name], 10, 16)
		return uint16(p)
	}
	switch action {
	case "GetExternalIPAddress":
		return [][2]string{{"NewExternalIPAddress", g.extIP}}, 0
	case "GetNATRSIPStatus":
		nat := "0"
		if g.natEnabled {
			nat = "1"
		}
		return [][2]string{{"NewRSIPAvailable", "0"}, {"NewNATEnabled", nat}}, 0
	case "AddPortMapping", "AddAnyPortMapping":
		if action == "AddAnyPortMapping" && g.service != "WANIPConnection:2" {
			return nil, 401 // Invalid Action
		}
		if action == "AddPortMapping" && g.addFault != 0 {
			return nil, g.addFault
		}
		lease, _ := strconv.ParseUint(args["NewLeaseDuration"], 10, 32)
		if g.onlyPermanent && lease != 0 {
			return nil, 725
		}
		key := igdKey{args["NewProtocol"], port("NewExternalPort")}
		m := igdMapping{client: args["NewInternalClient"], intPort: port("NewInternalPort"), desc: args["NewPortMappingDescription"], lease: uint32(lease)}
		if g.usedLocked(key, m) {
			if action == "AddPortMapping" {
				return nil, 718 // ConflictInMappingEntry
			}
			for key.ext = 50000; g.usedLocked(key, m); key.ext++ {
			}
		}
		g.mappings[key] = m
		if action == "AddAnyPortMapping" {
			return [][2]string{{"NewReservedPort", strconv.Itoa(int(key.ext))}}, 0
		}
		return nil, 0
	case "DeletePortMapping":
		key := igdKey{args["NewProtocol"], port("NewExternalPort")}
		if _, ok := g.mappings[key]; !ok {
			return nil, 714 // NoSuchEntryInArray
		}
		delete(g.mappings, key)
		return nil, 0
	}
	return nil, 401
}

// usedLocked reports whether the external port is held by another host or
// by another mapping.
func (g *fakeIGD) usedLocked(key igdKey, m igdMapping) bool {
	if g.taken[key.ext] {
		return true
	}
	old, ok := g.mappings[key]
	return ok && (old.client != m.client || old.intPort != m.intPort)
}

func (g *fakeIGD) fault(w http.ResponseWriter, code int) {
	w.Header().Set("Content-Type", `text/xml; charset="utf-8"`)
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `<?xml version="1.0"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>%d</errorCode><errorDescription>fake error</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>`, code)
}
