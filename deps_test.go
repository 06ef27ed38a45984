package devp2p_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// The layering of DESIGN.md §2, enforced: each package may import only the
// module packages listed for it (plus the standard library and its external
// libraries), and of go-ethereum the main module uses only the leaf crypto
// packages.
var allowedImports = map[string][]string{
	"rlp":                    {},
	"internal/mclock":        {},
	"crypto":                 {},
	"crypto/ecies":           {"crypto"},
	"enr":                    {"rlp"},
	"netutil":                {"internal/mclock"},
	"enode":                  {"rlp", "crypto", "enr", "netutil"},
	"rlpx":                   {"rlp", "crypto", "crypto/ecies"},
	"p2p/internal/dialsched": {"enode", "enr", "netutil", "internal/mclock", "crypto", "rlp"},
	"nodedb":                 {"rlp", "crypto", "enr", "enode"},
	"discover/v4wire":        {"rlp", "crypto", "enr", "enode", "netutil"},
	"nat":                    {"internal/mclock"},
	"p2p": {"rlp", "crypto", "crypto/ecies", "enr", "enode", "netutil", "internal/mclock", "rlpx",
		"discover", "discover/v4wire", "nodedb", "p2p/internal/dialsched"},
	"admin":    {"p2p", "enode", "enr", "crypto", "rlp", "netutil"},
	"metrics":  {"p2p", "enode", "discover"},
	"discover": {"rlp", "crypto", "enr", "enode", "netutil", "internal/mclock", "discover/v4wire", "nodedb"},
}

const module = "github.com/devp2p-go/devp2p/"

// gethAllowed are the go-ethereum packages the main module may depend on.
var gethAllowed = map[string]bool{
	"github.com/ethereum/go-ethereum/crypto/secp256k1": true,
	"github.com/ethereum/go-ethereum/crypto/keccak":    true,
	"github.com/ethereum/go-ethereum/common/math":      true, // imported by crypto/secp256k1
}

type listedPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func TestImportLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(p.ImportPath, module)
		for _, dep := range p.Deps {
			if strings.HasPrefix(dep, "github.com/ethereum/go-ethereum/") && !gethAllowed[dep] {
				t.Errorf("%s depends on %s: only go-ethereum's leaf crypto packages are allowed", rel, dep)
			}
		}
		if !strings.HasPrefix(rel, "cmd/") {
			for _, imp := range p.Imports {
				if strings.HasPrefix(imp, module+"cmd/") {
					t.Errorf("library package %s imports %s", rel, imp)
				}
			}
		}
		allowed, ok := allowedImports[rel]
		if !ok {
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			target := strings.TrimPrefix(imp, module)
			if !contains(allowed, target) {
				t.Errorf("%s imports %s, which its layer does not allow", rel, target)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
