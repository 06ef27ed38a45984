package main

import (
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/devp2p-go/devp2p/admin"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/enr"
	"github.com/devp2p-go/devp2p/nat"
)

// natStartWait bounds how long the start waits for the first TCP mapping
// attempt, so that the enode URL printed at start carries the external
// address. Gateway discovery ("any", "upnp", "pmp") takes up to 6 s and a
// mapping request up to 3 s; a slower gateway is still used, the record
// is updated when the mapping arrives.
const natStartWait = 10 * time.Second

// natMappingName describes our mappings in the gateway's user interface.
const natMappingName = "devp2pd"

// parseNAT checks a --nat value. The error leaves out the value, which
// the caller names.
func parseNAT(spec string) (nat.Interface, error) {
	n, err := nat.Parse(spec)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), fmt.Sprintf("nat: %q: ", spec))
		return nil, fmt.Errorf("%s", strings.TrimPrefix(msg, "nat: "))
	}
	return n, nil
}

// natService puts the node's external address into its record: at once
// for extip, and for upnp, pmp and any through Mappers that keep the TCP
// listening port (and the UDP port, which discovery shares) mapped on the
// gateway for as long as the node runs.
type natService struct {
	spec  string
	iface nat.Interface // nil for none
	ln    *enode.LocalNode
	log   *slog.Logger

	mappers  []*nat.Mapper // TCP first; set before the service is shared
	stopOnce sync.Once

	mu    sync.Mutex // guards extIP
	extIP netip.Addr // last external IP put into the record
}

// startNAT applies the NAT setting to the local node ln, whose TCP
// listener is on port (0: none). mapUDP also maps that port for UDP, which
// discovery listens on.
// With a gateway it waits up to natStartWait for the first TCP mapping.
func startNAT(spec string, iface nat.Interface, ln *enode.LocalNode, port int, mapUDP bool, log *slog.Logger) (*natService, error) {
	ns := &natService{spec: spec, iface: iface, ln: ln, log: log}
	switch iface := iface.(type) {
	case nil:
		return ns, nil
	case nat.ExtIP:
		ip, _ := iface.ExternalIP()
		ln.SetStaticIP(ip)
		ns.extIP = ip
		log.Info("External address set", "nat", iface, "ip", ip)
		return ns, nil
	}
	if port == 0 {
		log.Warn("NAT port mapping needs a listening port; none is mapped", "nat", iface)
		return ns, nil
	}
	var firsts []chan struct{} // closed at each mapping's first success
	for _, proto := range []string{"tcp", "udp"} {
		if proto == "udp" && !mapUDP {
			continue
		}
		first := make(chan struct{})
		firsts = append(firsts, first)
		var once sync.Once
		m, err := nat.NewMapper(iface, nat.MapperConfig{
			Protocol:     proto,
			InternalPort: port,
			Name:         natMappingName,
			OnExternal: func(ext netip.AddrPort) {
				ns.external(proto, ext)
				once.Do(func() { close(first) })
			},
			Log: log,
		})
		if err != nil {
			ns.stop()
			return nil, fmt.Errorf("NAT port mapping: %w", err)
		}
		ns.mappers = append(ns.mappers, m)
	}
	log.Info("Mapping ports on the NAT gateway", "nat", iface, "port", port, "udp", mapUDP)
	ns.waitFirst(firsts)
	return ns, nil
}

// waitFirst waits for the first attempt of every mapping (TCP, and UDP if
// mapped): a success, whose external address is then in the record, or a
// failure the Mapper logged and will retry.
func (ns *natService) waitFirst(firsts []chan struct{}) {
	deadline := time.NewTimer(natStartWait)
	defer deadline.Stop()
	poll := time.NewTicker(25 * time.Millisecond)
	defer poll.Stop()
	done := func() bool {
		for i, first := range firsts {
			select {
			case <-first:
				continue
			default:
			}
			if ns.mappers[i].Status().Failures == 0 {
				return false
			}
		}
		return true
	}
	for !done() {
		select {
		case <-poll.C:
		case <-deadline.C:
			ns.log.Warn("No answer from the NAT gateway yet; the node record will be updated when it comes", "nat", ns.iface, "waited", natStartWait)
			return
		}
	}
}

// external puts a mapping's external address into the record. It runs on
// the Mapper's goroutine.
func (ns *natService) external(proto string, ext netip.AddrPort) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ip := ext.Addr(); ip.IsValid() && ip != ns.extIP {
		ns.ln.SetStaticIP(ip)
		ns.extIP = ip
	}
	switch proto {
	case "tcp":
		ns.ln.Set(enr.TCP(ext.Port()))
	case "udp":
		ns.ln.SetFallbackUDP(int(ext.Port()))
	}
	ns.log.Info("Node record updated with the NAT mapping", "proto", proto, "ext", ext, "enode", ns.ln.Node().URLv4())
}

// stop deletes the mappings from the gateway. The Mappers stop in
// parallel: each may wait for a gateway request under way. Calls after the
// first do nothing.
func (ns *natService) stop() {
	if ns == nil {
		return
	}
	ns.stopOnce.Do(ns.stopMappers)
}

func (ns *natService) stopMappers() {
	var wg sync.WaitGroup
	for _, m := range ns.mappers {
		wg.Go(m.Stop)
	}
	wg.Wait()
	for _, m := range ns.mappers {
		st := m.Status()
		switch {
		case st.LastError != nil && st.External.IsValid():
			ns.log.Warn("Could not delete the port mapping", "nat", st.Mechanism, "proto", st.Protocol, "ext", st.External, "err", st.LastError)
		case st.External.IsValid():
			ns.log.Info("Port mapping deleted", "nat", st.Mechanism, "proto", st.Protocol, "ext", st.External)
		}
	}
}

// status is the answer to admin_natStatus.
func (ns *natService) status() *admin.NATInfo {
	info := &admin.NATInfo{Spec: ns.spec, Mechanism: "none", Mappings: []admin.NATMapping{}}
	if ns.iface != nil {
		info.Mechanism = ns.iface.String()
	}
	ns.mu.Lock()
	if ns.extIP.IsValid() {
		info.ExternalIP = ns.extIP.String()
	}
	ns.mu.Unlock()
	for _, m := range ns.mappers {
		st := m.Status()
		info.Mechanism = st.Mechanism // names the gateway once found
		mp := admin.NATMapping{
			Protocol:             st.Protocol,
			InternalPort:         st.InternalPort,
			Mapped:               st.Mapped,
			ExpiresInSeconds:     int64(st.ExpiresIn / time.Second),
			NextAttemptInSeconds: int64(st.NextAttempt / time.Second),
			Failures:             st.Failures,
		}
		if st.External.IsValid() {
			mp.External = st.External.String()
		}
		if st.LastError != nil {
			mp.LastError = st.LastError.Error()
		}
		info.Mappings = append(info.Mappings, mp)
	}
	return info
}
