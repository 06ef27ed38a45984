package servertest

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives the tests. Stop waits
// for all of our server's goroutines; go-ethereum's may take a moment
// longer (its peers announce their drop after the run loop has let them
// go), which goleak's retries cover. The one exception is go-ethereum's
// in-memory node database: after Close, goleveldb's memory pool drainer
// waits up to a second for a last buffer before it returns.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"))
}
