package admintest

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives the tests: our
// handler must end its WebSocket connections and subscriptions when
// closed, whatever go-ethereum's client does. The exception is
// go-ethereum's in-memory node database: after Close, goleveldb's memory
// pool drainer waits up to a second for a last buffer.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"))
}
