package main

import (
	"testing"
	"time"
)

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
