package admin

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/creachadair/jrpc2"

	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/p2p"
)

// DiagnosticsResult is the answer to admin_diagnostics: the server's
// p2p.Diagnostics (its fields at the top level of the JSON object) with the
// NAT state of the daemon, and Findings that include those about NAT. Not
// a go-ethereum method; docs/diagnostics.md explains it.
type DiagnosticsResult struct {
	p2p.Diagnostics
	// NAT is what admin_natStatus returns.
	NAT *NATInfo `json:"nat"`
}

// Finding codes about NAT, in addition to p2p's.
const (
	// FindingNATMappingFailed: the gateway refuses or does not answer a
	// port mapping request.
	FindingNATMappingFailed = "nat-mapping-failed"
	// FindingNATNoGateway: --nat any, upnp or pmp found no gateway.
	FindingNATNoGateway = "nat-no-gateway"
)

// Diagnostics explains the node's peer count (admin_diagnostics, not a
// go-ethereum method): slots, reachability, dials, handshake failures,
// bans, NAT, and findings in sentences, most severe first.
func (api *API) Diagnostics() (*DiagnosticsResult, error) {
	if !api.running() {
		return nil, ErrNodeStopped
	}
	res := &DiagnosticsResult{Diagnostics: api.srv.Diagnostics()}
	if res.UptimeSeconds < 0 && res.Running {
		if t := api.started.Load(); t != 0 {
			res.UptimeSeconds = int64(time.Since(time.Unix(0, t)).Seconds())
		}
	}
	res.NAT, _ = api.NATStatus()
	res.Findings = Findings(res, nil)
	return res, nil
}

// Findings draws the conclusions from d: those of p2p.Findings, with NAT
// advice where the node seems unreachable, and those about NAT. If prev is
// an earlier answer of the same node, counter findings look at the changes
// since then. It is a pure function of its arguments.
func Findings(d, prev *DiagnosticsResult) []p2p.Finding {
	var pd *p2p.Diagnostics
	if prev != nil {
		pd = &prev.Diagnostics
	}
	fs := p2p.Findings(&d.Diagnostics, pd)
	nat := d.NAT
	if nat == nil || !d.Running {
		return fs
	}
	port := listenPort(d.Inbound.ListenAddr)
	for i := range fs {
		switch fs[i].Code {
		case p2p.FindingNoInbound, p2p.FindingRecordPrivateIP:
			fs[i].Message = strings.TrimSuffix(fs[i].Message, ".") + " " + natAdvice(nat, port) + "."
		}
	}
	if nat.Spec != "none" && nat.Spec != "" && !strings.HasPrefix(nat.Spec, "extip") && !strings.Contains(nat.Mechanism, "(") {
		fs = append(fs, p2p.Finding{Severity: p2p.SeverityWarning, Code: FindingNATNoGateway,
			Message: fmt.Sprintf("No UPnP or NAT-PMP gateway found (--nat %s): no port is mapped; enable UPnP or NAT-PMP on the router, or forward TCP and UDP %s by hand and use --nat extip:<your public IP>.", nat.Spec, port)})
	}
	for _, m := range nat.Mappings {
		if !m.Mapped && m.Failures > 0 {
			msg := fmt.Sprintf("The NAT port mapping of %s %d fails (%d attempts", strings.ToUpper(m.Protocol), m.InternalPort, m.Failures)
			if m.LastError != "" {
				msg += ", last: " + m.LastError
			}
			fs = append(fs, p2p.Finding{Severity: p2p.SeverityWarning, Code: FindingNATMappingFailed,
				Message: msg + fmt.Sprintf("); next attempt in %d s.", m.NextAttemptInSeconds)})
		}
	}
	slices.SortStableFunc(fs, func(a, b p2p.Finding) int { return cmp.Compare(severityRank(a.Severity), severityRank(b.Severity)) })
	return fs
}

// natAdvice says what to do about an unreachable port given the NAT state.
func natAdvice(nat *NATInfo, port string) string {
	switch {
	case nat.Spec == "none" || nat.Spec == "":
		return fmt.Sprintf("(NAT: none; try --nat upnp, --nat pmp or --nat any, or forward TCP and UDP %s on the router and use --nat extip:<your public IP>)", port)
	case strings.HasPrefix(nat.Spec, "extip"):
		return fmt.Sprintf("(NAT: %s; check that the router forwards TCP and UDP %s to this host and that no firewall drops them)", nat.Spec, port)
	}
	for _, m := range nat.Mappings {
		if m.Protocol == "tcp" && m.Mapped {
			return fmt.Sprintf("(NAT: %s maps TCP to %s, yet nothing arrives: a second NAT (carrier-grade NAT) or a firewall may be in the way)", nat.Mechanism, m.External)
		}
	}
	return fmt.Sprintf("(NAT: %s; the TCP port is not mapped)", nat.Mechanism)
}

func severityRank(s p2p.Severity) int {
	return slices.Index([]p2p.Severity{p2p.SeverityError, p2p.SeverityWarning, p2p.SeverityInfo, p2p.SeverityOK}, s)
}

// listenPort returns the port of a listening address, or "<port>".
func listenPort(addr string) string {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return fmt.Sprint(ap.Port())
	}
	if i := strings.LastIndexByte(addr, ':'); i >= 0 && i < len(addr)-1 {
		return addr[i+1:]
	}
	return "<port>"
}

// Ban limits.
const (
	// DefaultBanTTL is the length of a ban when admin_banPeer gets none.
	DefaultBanTTL = time.Hour
	// MaxBanTTL is the longest ban admin_banPeer accepts.
	MaxBanTTL = 10 * 365 * 24 * time.Hour
	// maxBanReason caps the length of a ban reason, in bytes.
	maxBanReason = 200
)

// BanTarget is what a ban applies to: a node ID or an IP address.
type BanTarget struct {
	ID enode.ID   // zero for an IP ban
	IP netip.Addr // invalid for an ID ban
}

// String returns the target as ParseBanTarget accepts it.
func (t BanTarget) String() string {
	if t.IP.IsValid() {
		return t.IP.String()
	}
	return t.ID.String()
}

// ParseBanTarget parses the target of admin_banPeer and admin_unbanPeer:
// an enode URL or enr: record (its node ID is banned, not its IP), a node
// ID (64 hex digits), a public key (128 hex digits), or an IP address.
func ParseBanTarget(s string) (BanTarget, error) {
	s = strings.TrimSpace(s)
	if ip, err := netip.ParseAddr(s); err == nil {
		ip = ip.Unmap()
		if ip.IsUnspecified() || ip.Zone() != "" {
			return BanTarget{}, fmt.Errorf("invalid ban target %q: not a single host address", s)
		}
		return BanTarget{IP: ip}, nil
	}
	hex := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	switch {
	case len(hex) == 64 && isHex(hex):
		id, err := enode.ParseID(hex)
		if err != nil {
			return BanTarget{}, fmt.Errorf("invalid node ID: %v", err)
		}
		return BanTarget{ID: id}, nil
	case len(hex) == 128 && isHex(hex):
		n, err := enode.ParseV4(hex)
		if err != nil {
			return BanTarget{}, fmt.Errorf("invalid enode: %v", err)
		}
		return BanTarget{ID: n.ID()}, nil
	case strings.HasPrefix(s, "enode://") || strings.HasPrefix(s, "enr:"):
		n, err := enode.Parse(enode.ValidSchemes, s)
		if err != nil {
			return BanTarget{}, fmt.Errorf("invalid enode: %v", err)
		}
		return BanTarget{ID: n.ID()}, nil
	}
	return BanTarget{}, fmt.Errorf("invalid ban target %q: want an enode URL, a node ID (64 hex digits) or an IP address", s)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// errBanTTL refuses a ban duration out of range.
func errBanTTL(seconds int64) error {
	return fmt.Errorf("invalid ban duration %d s: want 1 to %d seconds", seconds, int64(MaxBanTTL/time.Second))
}

// errBanSelf refuses a ban of the local node.
var errBanSelf = errors.New("cannot ban the local node")

// BanPeer bans target (see ParseBanTarget) for ttl, and disconnects a
// connected peer it matches (admin_banPeer, not a go-ethereum method).
// ttl must be between one second and MaxBanTTL; reason, shown by
// admin_listBans, is cut to 200 bytes and defaults to "admin".
func (api *API) BanPeer(target string, ttl time.Duration, reason string) (bool, error) {
	if !api.running() {
		return false, ErrNodeStopped
	}
	t, err := ParseBanTarget(target)
	if err != nil {
		return false, err
	}
	if t.ID == api.srv.Self().ID() {
		return false, errBanSelf
	}
	if ttl < time.Second || ttl > MaxBanTTL {
		return false, errBanTTL(int64(ttl / time.Second))
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		reason = "admin"
	}
	if len(reason) > maxBanReason {
		reason = strings.ToValidUTF8(reason[:maxBanReason], "")
	}
	api.srv.BanNode(t.ID, t.IP, ttl, reason)
	return true, nil
}

// UnbanPeer lifts the ban of target (admin_unbanPeer, not a go-ethereum
// method) and reports whether there was one.
func (api *API) UnbanPeer(target string) (bool, error) {
	if !api.running() {
		return false, ErrNodeStopped
	}
	t, err := ParseBanTarget(target)
	if err != nil {
		return false, err
	}
	return api.srv.Unban(t.ID, t.IP), nil
}

// ListBans returns the bans in force, node IDs first (admin_listBans, not
// a go-ethereum method).
func (api *API) ListBans() ([]p2p.BanInfo, error) {
	if !api.running() {
		return nil, ErrNodeStopped
	}
	now := time.Now()
	bans := api.srv.Bans()
	out := make([]p2p.BanInfo, len(bans))
	for i, b := range bans {
		out[i] = b.Info(now)
	}
	return out, nil
}

// banPeer is the JSON-RPC form of BanPeer: target, then optionally the
// duration in seconds (default 3600) and the reason.
func banPeer(_ context.Context, api *API, _ *wsConn, req *jrpc2.Request) (any, error) {
	var (
		target string
		ttl    *int64
		reason *string
	)
	if err := optionalArgs(req, 1, &target, &ttl, &reason); err != nil {
		return nil, err
	}
	d := DefaultBanTTL
	if ttl != nil {
		if *ttl < 1 || *ttl > int64(MaxBanTTL/time.Second) {
			return nil, errBanTTL(*ttl)
		}
		d = time.Duration(*ttl) * time.Second
	}
	r := ""
	if reason != nil {
		r = *reason
	}
	return api.BanPeer(target, d, r)
}

// optionalArgs is positionalArgs where only the first required arguments
// must be present; the others may be missing or null, leaving them as
// they are.
func optionalArgs(req *jrpc2.Request, required int, args ...any) error {
	var raw []json.RawMessage
	if p := bytes.TrimSpace([]byte(req.ParamString())); len(p) > 0 && !bytes.Equal(p, []byte("null")) {
		if p[0] != '[' {
			return invalidParams("non-array args")
		}
		if err := json.Unmarshal(p, &raw); err != nil {
			return invalidParams(err.Error())
		}
	}
	if len(raw) > len(args) {
		return invalidParams(fmt.Sprintf("too many arguments, want at most %d", len(args)))
	}
	for i, arg := range args {
		if i >= len(raw) || bytes.Equal(raw[i], []byte("null")) {
			if i < required {
				return invalidParams(fmt.Sprintf("missing value for required argument %d", i))
			}
			continue
		}
		if err := json.Unmarshal(raw[i], arg); err != nil {
			return invalidParams(fmt.Sprintf("invalid argument %d: %v", i, err))
		}
	}
	return nil
}
