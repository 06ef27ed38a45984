package admin

// NATInfo is the answer to admin_natStatus: how the node learns its
// external address and the state of its port mappings. go-ethereum has no
// such method; the daemon fills it from its NAT mappers (package nat,
// which this package does not import) through API.SetNATStatus.
type NATInfo struct {
	// Spec is the --nat setting, such as "none", "extip:203.0.113.7" or
	// "pmp:192.168.1.1".
	Spec string `json:"spec"`
	// Mechanism describes what does the mapping: "none",
	// "ExtIP(203.0.113.7)", "NAT-PMP(192.168.1.1)", a UPnP device, or
	// "any"/"upnp"/"natpmp" while no gateway has been found yet.
	Mechanism string `json:"mechanism"`
	// ExternalIP is the address NAT put into the node record; empty until
	// one is known.
	ExternalIP string `json:"externalIP,omitempty"`
	// Mappings are the ports kept mapped on the gateway, TCP first; empty
	// for "none" and "extip".
	Mappings []NATMapping `json:"mappings"`
}

// NATMapping is the state of one port mapping.
type NATMapping struct {
	Protocol     string `json:"protocol"`           // "tcp" or "udp"
	InternalPort int    `json:"internalPort"`       // the local port
	External     string `json:"external,omitempty"` // "IP:port" last granted; empty before the first success
	Mapped       bool   `json:"mapped"`             // the gateway holds the mapping now
	// ExpiresInSeconds is the time left of the mapping's lease, zero
	// when not mapped.
	ExpiresInSeconds int64 `json:"expiresInSeconds"`
	// NextAttemptInSeconds is the time until the next refresh or retry.
	NextAttemptInSeconds int64  `json:"nextAttemptInSeconds"`
	Failures             int    `json:"failures"`            // failed attempts since the last success
	LastError            string `json:"lastError,omitempty"` // error of the last attempt
}

// natStatusFunc holds the function behind admin_natStatus.
type natStatusFunc = func() *NATInfo

// SetNATStatus sets the source of admin_natStatus. Without one, the method
// answers mechanism "none". fn is called for each request and must be safe
// for concurrent use.
func (api *API) SetNATStatus(fn func() *NATInfo) {
	api.natStatus.Store(&fn)
}

// NATStatus returns the NAT state of the node (admin_natStatus, not a
// go-ethereum method).
func (api *API) NATStatus() (*NATInfo, error) {
	if !api.running() {
		return nil, ErrNodeStopped
	}
	if fn := api.natStatus.Load(); fn != nil && *fn != nil {
		if info := (*fn)(); info != nil {
			if info.Mappings == nil {
				info.Mappings = []NATMapping{}
			}
			return info, nil
		}
	}
	return &NATInfo{Spec: "none", Mechanism: "none", Mappings: []NATMapping{}}, nil
}
