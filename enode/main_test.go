package enode

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves goroutines behind (FairMix sources,
// blocked Next calls).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
