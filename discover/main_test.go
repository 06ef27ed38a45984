package discover

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves goroutines behind: Close must stop
// the read loop, the table loop, lookups and liveness checks.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
