package main

import (
	"testing"
	"time"
)

// TestFormationRuns runs the formation measurement once with a tiny
// network in this process, for both implementations, so that it cannot rot
// unnoticed. It checks that the run completes and counts something, not
// how fast the network forms.
func TestFormationRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts networks of servers for up to a minute")
	}
	cfg := formationConfig{Nodes: 10, MaxPeers: 6, Timeout: 30 * time.Second, JoinTimeout: 10 * time.Second}
	for _, name := range []string{"ours", "go-ethereum"} {
		t.Run(name, func(t *testing.T) {
			fi, err := formationImplByName(name)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Impl = name
			res, err := formationRun(cfg, fi)
			if err != nil {
				t.Fatal(err)
			}
			t.Log(res.summary())
			if res.Dials == 0 || res.CPUSeconds <= 0 || res.FormSeconds <= 0 || res.JoinSeconds <= 0 {
				t.Errorf("implausible result: %+v", res)
			}
		})
	}
}
