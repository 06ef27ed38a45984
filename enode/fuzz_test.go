package enode

import (
	"strings"
	"testing"
)

// FuzzParseNode checks that parsing enr: texts and enode:// URLs never panics
// and that every accepted node survives a round trip through its text form.
func FuzzParseNode(f *testing.F) {
	f.Add(eip778Text)
	f.Add(gethTestRecord)
	for _, test := range parseNodeTests {
		f.Add(test.input)
	}
	f.Add("enode://" + testKeyHex + "@[2001:db8::1]:30303?discport=30301")

	f.Fuzz(func(t *testing.T, input string) {
		ParseV4(input)
		n, err := Parse(ValidSchemes, input)
		if err != nil {
			return
		}
		checkAccessors(n)
		text := n.String()
		n2, err := Parse(ValidSchemes, text)
		if err != nil {
			t.Fatalf("can't parse String() %q of %q: %v", text, input, err)
		}
		// Like go-ethereum, the URL of a node without IP and hostname has no
		// ports.
		hasAddr := n.IPAddr().IsValid() || n.Hostname() != "" || strings.HasPrefix(text, "enr:")
		if n2.ID() != n.ID() || n2.Seq() != n.Seq() || n2.IPAddr() != n.IPAddr() || n2.Hostname() != n.Hostname() ||
			hasAddr && (n2.TCP() != n.TCP() || n2.UDP() != n.UDP()) {
			t.Fatalf("round trip of %q through %q changed the node", input, text)
		}
		if n2.String() != text {
			t.Fatalf("String not stable: %q, then %q", text, n2.String())
		}
		if strings.HasPrefix(input, "enr:") {
			if !strings.HasPrefix(text, "enr:") {
				t.Fatalf("record %q printed as %q", input, text)
			}
			return
		}
		// enode URLs: URLv4 parses back to the same node.
		n3, err := ParseV4(n.URLv4())
		if err != nil || n3.ID() != n.ID() || n3.Hostname() != n.Hostname() {
			t.Fatalf("URLv4 %q of %q: %v", n.URLv4(), input, err)
		}
	})
}

// checkAccessors calls the accessors that compute something.
func checkAccessors(n *Node) {
	n.UDPEndpoint()
	n.TCPEndpoint()
	n.QUICEndpoint()
	n.ValidateComplete()
	n.Pubkey()
	n.IP()
	n.URLv4()
	n.Record().IdentityScheme()
}
