package crypto

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNodeKeySaveLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "nodekey")
	k := mustKey(t, vecStaticKeyB)
	if err := SaveNodeKey(path, k); err != nil {
		t.Fatal(err)
	}
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// go-ethereum's SaveECDSA writes the bare hex key, no newline.
	if string(content) != vecStaticKeyB {
		t.Fatalf("file content %q, want %q", content, vecStaticKeyB)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v, %v, want 0600", fi.Mode(), err)
	}
	loaded, err := LoadNodeKey(path)
	if err != nil || loaded.Bytes() != k.Bytes() || *loaded.Public() != *k.Public() {
		t.Fatalf("LoadNodeKey = %v, %v", loaded, err)
	}

	// Saving over an existing, more permissive file replaces it with 0600.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	k2 := mustKey(t, vecStaticKeyA)
	if err := SaveNodeKey(path, k2); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode after overwrite %v", fi.Mode())
	}
	if loaded, err := LoadNodeKey(path); err != nil || loaded.Bytes() != k2.Bytes() {
		t.Fatalf("LoadNodeKey after overwrite = %v, %v", loaded, err)
	}
	// No temporary files are left behind.
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want 1", len(entries))
	}

	if err := SaveNodeKey(path, &PrivateKey{}); !errors.Is(err, ErrInvalidPrivateKey) {
		t.Errorf("SaveNodeKey(zero key) error = %v", err)
	}
	if err := SaveNodeKey(filepath.Join(dir, "missing", "nodekey"), k); err == nil {
		t.Error("SaveNodeKey into a missing directory succeeded")
	}
	if _, err := LoadNodeKey(filepath.Join(dir, "absent")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadNodeKey(absent) error = %v, want fs.ErrNotExist", err)
	}
}

// TestNodeKeyLoadFormats checks which files go-ethereum's LoadECDSA would
// accept: 64 hex digits plus at most two '\r' or '\n'.
func TestNodeKeyLoadFormats(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := vecStaticKeyB
	valid := map[string]string{
		"bare":       key,
		"LF":         key + "\n",
		"CRLF":       key + "\r\n",
		"LF LF":      key + "\n\n",
		"CR":         key + "\r",
		"upper case": strings.ToUpper(key),
	}
	invalid := map[string]string{
		"empty":          "",
		"newline only":   "\n",
		"63 hex":         key[:63],
		"63 hex + LF":    key[:63] + "\n",
		"65 hex":         key + "a",
		"128 hex":        key + key,
		"0x prefix":      "0x" + key,
		"leading space":  " " + key,
		"trailing space": key + " ",
		"three LF":       key + "\n\n\n",
		"LF then hex":    key + "\nab",
		"non-hex":        key[:10] + "z" + key[11:],
		"inner space":    key[:10] + " " + key[11:],
		"zero key":       strings.Repeat("0", 64),
		"key = N":        curveOrderHex,
		"key > N":        strings.Repeat("f", 64),
		"json":           `{"key":"` + key + `"}`,
		"big file":       strings.Repeat(key, 1000),
	}
	for name, content := range valid {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		k, err := LoadNodeKey(path)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if k.Public() == nil || *k.Public() != *mustKey(t, key).Public() {
			t.Errorf("%s: wrong key", name)
		}
	}
	for name, content := range invalid {
		path := filepath.Join(dir, "bad_"+strings.ReplaceAll(name, " ", "_"))
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadNodeKey(path)
		if !errors.Is(err, ErrInvalidKeyFile) {
			t.Errorf("%s: error = %v, want ErrInvalidKeyFile", name, err)
			continue
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
		if strings.Contains(err.Error(), key[:16]) {
			t.Errorf("%s: error %q shows key material", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
}
