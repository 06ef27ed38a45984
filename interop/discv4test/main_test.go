package discv4test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives the tests. Close waits
// for every goroutine of both implementations' listeners; the exceptions are
// go-ethereum's: the memory pool drainer of its in-memory node database,
// which waits up to a second for a last buffer after Close, and the NTP
// check its listener starts after many timeouts in a row.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"),
		goleak.IgnoreAnyFunction("github.com/ethereum/go-ethereum/p2p/discover.checkClockDrift"),
	)
}
