package nat_test

import (
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/devp2p-go/devp2p/nat"
)

// Parse takes go-ethereum's --nat spellings. It does no network I/O, so it
// can validate configuration; gateways are searched for on first use.
func ExampleParse() {
	for _, spec := range []string{"none", "extip:203.0.113.7", "pmp:192.168.1.1", "upnp", "any", "stun"} {
		n, err := nat.Parse(spec)
		switch {
		case err != nil:
			fmt.Println(err)
		case n == nil:
			fmt.Printf("%s: no port mapping\n", spec)
		default:
			fmt.Printf("%s: %v\n", spec, n)
		}
	}
	// Output:
	// none: no port mapping
	// extip:203.0.113.7: ExtIP(203.0.113.7)
	// pmp:192.168.1.1: NAT-PMP(192.168.1.1)
	// upnp: upnp
	// any: any
	// nat: "stun": stun is not supported (use extip:<IP>, upnp, pmp or any)
}

// A daemon turns its --nat value into an Interface and keeps each
// listening port mapped for as long as it runs; the external address goes
// into the node record. With extip the address is known at once.
func ExampleNewMapper() {
	n, err := nat.Parse("extip:203.0.113.7") // the --nat value
	if err != nil || n == nil {
		return // a bad value, or --nat none
	}
	reported := make(chan netip.AddrPort, 1)
	m, err := nat.NewMapper(n, nat.MapperConfig{
		Protocol:     "tcp",
		InternalPort: 30303,
		Name:         "devp2pd",
		// Runs on the Mapper's goroutine: set the record's IP and TCP port here.
		OnExternal: func(ext netip.AddrPort) { reported <- ext },
		Log:        slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("reachable at", <-reported)

	m.Stop() // deletes the mapping (nothing to delete for extip)
	st := m.Status()
	fmt.Println(st.Mechanism, st.External, st.LastError)
	// Output:
	// reachable at 203.0.113.7:30303
	// ExtIP(203.0.113.7) 203.0.113.7:30303 <nil>
}

// A node maps two ports: TCP for RLPx, UDP for discovery. Both Mappers
// share the Interface, so "any" would search for the gateway once. After
// Stop the status keeps the last address and shows the mapping gone.
func ExampleMapper_Status() {
	n := nat.ExtIP(netip.MustParseAddr("203.0.113.7"))
	var mappers []*nat.Mapper
	for _, proto := range []string{"tcp", "udp"} {
		m, err := nat.NewMapper(n, nat.MapperConfig{
			Protocol:     proto,
			InternalPort: 30303,
			Log:          slog.New(slog.DiscardHandler),
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		mappers = append(mappers, m)
	}
	for _, m := range mappers {
		m.Stop()
		st := m.Status()
		fmt.Println(st.Protocol, st.InternalPort, st.External, st.Mapped, st.NextAttempt)
	}
	// Output:
	// tcp 30303 203.0.113.7:30303 false 0s
	// udp 30303 203.0.113.7:30303 false 0s
}
