package main

import (
	"os"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the child process of the pool
// measurements, as the bench binary does.
func TestMain(m *testing.M) {
	runChildIfRequested()
	raiseFileLimit()
	os.Exit(m.Run())
}

// TestMeasurementsRun runs every measurement once with tiny sizes, for both
// implementations, so that the bench program cannot rot unnoticed.
func TestMeasurementsRun(t *testing.T) {
	k := newKeys()
	lb := newLoopback()
	defer lb.close()
	for _, im := range []impl{ourImpl{k}, gethImpl{k}} {
		t.Run(im.name(), func(t *testing.T) {
			if v := handshakePipe(im, 3); v <= 0 {
				t.Errorf("handshakePipe = %v", v)
			}
			if i, r := handshakeRoles(im, 3); i <= 0 || r <= 0 {
				t.Errorf("handshakeRoles = %v, %v", i, r)
			}
			if v := handshakeTCP(im, lb, 3); v <= 0 {
				t.Errorf("handshakeTCP = %v", v)
			}
			for _, size := range []int{32, 64 << 10} {
				for _, snappy := range []bool{false, true} {
					for _, batch := range []bool{false, true} {
						if v := frames(im, lb, size, snappy, batch, 20*time.Millisecond); v[0] <= 0 || v[2] <= 0 {
							t.Errorf("frames(%d, %v, %v) = %v", size, snappy, batch, v)
						}
					}
				}
			}
			if v := afterLarge(im, lb, 20*time.Millisecond); v[0] <= 0 || v[1] <= 0 {
				t.Errorf("afterLarge = %v", v)
			}
		})
	}
	if v := floorOurs(3); v[0] <= 0 {
		t.Errorf("floorOurs = %v", v)
	}
	if v := floorGeth(3); v[0] <= 0 {
		t.Errorf("floorGeth = %v", v)
	}
	if v := keccakCeiling(10 * time.Millisecond); v <= 0 {
		t.Errorf("keccakCeiling = %v", v)
	}
}

// TestPoolMeasurementsRun runs every pool measurement once with tiny sizes,
// for both implementations, child processes included.
func TestPoolMeasurementsRun(t *testing.T) {
	for _, pi := range []poolImpl{ourPool{}, gethPool{}} {
		t.Run(pi.name(), func(t *testing.T) {
			if v := poolSetup(pi, 3, 2, 2, ""); v[0] <= 0 || v[1] <= 0 || v[2] <= v[1] {
				t.Errorf("poolSetup = %v", v)
			}
			if v := poolReject(pi, 10, 2, ""); v[0] <= 0 || v[1] <= 0 {
				t.Errorf("poolReject = %v", v)
			}
			for _, size := range []int{32, 64 << 10} {
				if v := poolStream(pi, size, 20*time.Millisecond); v[0] <= 0 || v[2] <= 0 {
					t.Errorf("poolStream(%d) = %v", size, v)
				}
			}
			if v := poolIdle(pi, 10, ""); v[1] <= 0 || v[4] < 1.9 {
				t.Errorf("poolIdle = %v", v)
			}
		})
	}
}
