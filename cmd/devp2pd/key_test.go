package main

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
)

var nodeIDLine = regexp.MustCompile(`Node ID: +([0-9a-f]{64})`)

func TestKeyNewAndInspect(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodekey")
	out, _, err := runApp(t, "key", "new", path)
	if err != nil {
		t.Fatal(err)
	}
	m := nodeIDLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("key new printed no node ID:\n%s", out)
	}
	id := m[1]
	k, err := crypto.LoadNodeKey(path)
	if err != nil {
		t.Fatalf("key new wrote an unreadable key: %v", err)
	}
	if enode.PubkeyToIDV4(k.Public()).String() != id {
		t.Fatalf("printed ID %s is not the key's", id)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}

	// A second key new does not replace the key, unless forced.
	if _, _, err := runApp(t, "key", "new", path); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("key new over an existing key: %v", err)
	}
	if k2, _ := crypto.LoadNodeKey(path); k2.Bytes() != k.Bytes() {
		t.Fatal("key replaced without --force")
	}

	// inspect prints the same identity, at the address asked for.
	out, _, err = runApp(t, "key", "inspect", "--ip", "10.1.2.3", "--port", "30400", path)
	if err != nil {
		t.Fatal(err)
	}
	pub := k.Public()
	for _, want := range []string{"Node ID:    " + id, "enode://", "@10.1.2.3:30400", "ENR:        enr:-"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "Public key: "+hex.EncodeToString(pub[:])) {
		t.Errorf("inspect output lacks the public key:\n%s", out)
	}
	enr := regexp.MustCompile(`ENR: +(enr:\S+)`).FindStringSubmatch(out)[1]
	n, err := enode.Parse(enode.ValidSchemes, enr)
	if err != nil || n.ID().String() != id || n.TCP() != 30400 {
		t.Errorf("printed ENR %s: %v", enr, err)
	}

	// The same key as hex, and as the key of a data directory.
	keyHex := strings.TrimSpace(readFile(t, path))
	out, _, err = runApp(t, "key", "inspect", "--nodekeyhex", keyHex)
	if err != nil || !strings.Contains(out, id) {
		t.Errorf("inspect --nodekeyhex: %v\n%s", err, out)
	}
	out, _, err = runApp(t, "--datadir", filepath.Dir(path), "key", "inspect")
	if err != nil || !strings.Contains(out, id) {
		t.Errorf("inspect of the data dir's key: %v\n%s", err, out)
	}
}

func TestKeyErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("not a key"), 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"key", "new"}, "want one argument"},
		{[]string{"key", "new", filepath.Join(dir, "no", "such", "dir", "key")}, "key new:"},
		{[]string{"key", "inspect", filepath.Join(dir, "missing")}, "no key file at"},
		{[]string{"key", "inspect", bad}, "invalid node key file"},
		{[]string{"key", "inspect", "--nodekeyhex", "zz"}, "invalid --nodekeyhex"},
		{[]string{"key", "inspect", "--ip", "nonsense", "--nodekeyhex", strings.Repeat("11", 32)}, "invalid --ip"},
		{[]string{"--datadir", dir, "key", "inspect"}, "no key file at " + filepath.Join(dir, "nodekey")},
	} {
		if _, _, err := runApp(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
