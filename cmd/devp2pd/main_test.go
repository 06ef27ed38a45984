package main

import (
	"bytes"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

func TestNodeKeyCreatedOnceAndReused(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	k1, err := loadKey(options{datadir: dir}, log)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := loadKey(options{datadir: dir}, log)
	if err != nil {
		t.Fatal(err)
	}
	if k1.Bytes() != k2.Bytes() {
		t.Fatal("node key changed between runs")
	}
	if _, err := loadKey(options{nodekey: filepath.Join(dir, "missing")}, log); err == nil {
		t.Fatal("explicit --nodekey that does not exist was accepted")
	}
}

func TestBadFlagsAreNamed(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--bootnodes", "enode://zz@1.2.3.4:1"}, "--bootnodes"},
		{[]string{"--netrestrict", "10.0.0.0/99", "--nodekeyhex", strings.Repeat("11", 32)}, "--netrestrict"},
		{[]string{"--nodekeyhex", "xyz"}, "--nodekeyhex"},
		{[]string{"--no-such-flag"}, "no-such-flag"},
		{[]string{"frobnicate"}, "unknown command"},
	} {
		var stderr bytes.Buffer
		err := run(tc.args, &stderr)
		if err == nil || !strings.Contains(err.Error()+stderr.String(), tc.want) {
			t.Errorf("run(%q) = %v, want error naming %q", tc.args, err, tc.want)
		}
	}
}
