package p2p

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: every Server
// must be gone after Stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testLogger returns a logger that writes to t.Log at the level named by
// the P2P_TEST_LOG environment variable (trace, debug, info; default warn).
// It stops writing when the test ends, so a late log line cannot panic.
func testLogger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	switch strings.ToLower(os.Getenv("P2P_TEST_LOG")) {
	case "trace":
		level = LevelTrace
	case "debug":
		level = slog.LevelDebug
	case "info":
		level = slog.LevelInfo
	case "off":
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w := &testWriter{t: t}
	t.Cleanup(w.close)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

type testWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *testWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Helper()
		w.t.Log(strings.TrimSuffix(string(b), "\n"))
	}
	return len(b), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

var _ = context.Background
