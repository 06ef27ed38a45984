package servertest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// logRecorder keeps every log record of one server, at every level, so a
// test can wait for a decision the server made: both implementations log a
// failed connection setup with the remote's "id" and the "err".
type logRecorder struct {
	mu      sync.Mutex // guards following
	recs    []logRecord
	changed chan struct{} // closed and replaced on every new record
}

type logRecord struct {
	time  time.Time
	level slog.Level
	msg   string
	attrs map[string]any
}

func (r logRecord) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %v %q", r.time.Format("15:04:05.000"), r.level, r.msg)
	for k, v := range r.attrs {
		fmt.Fprintf(&b, " %s=%v", k, v)
	}
	return b.String()
}

// newLogRecorder returns a recorder that prints the last records of a failed
// test when it ends.
func newLogRecorder(t testing.TB, name string) *logRecorder {
	rec := &logRecorder{changed: make(chan struct{})}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		recs := rec.recs
		if len(recs) > 60 {
			recs = recs[len(recs)-60:]
		}
		for _, r := range recs {
			t.Logf("%s log: %v", name, r)
		}
	})
	return rec
}

func (rec *logRecorder) handler() slog.Handler { return &logHandler{rec: rec} }

func (rec *logRecorder) add(r logRecord) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.recs = append(rec.recs, r)
	close(rec.changed)
	rec.changed = make(chan struct{})
}

// wait returns the first record, oldest first, for which match is true. It
// fails the test after timeout.
func (rec *logRecorder) wait(t testing.TB, what string, timeout time.Duration, match func(logRecord) bool) logRecord {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	next := 0
	for {
		rec.mu.Lock()
		recs, changed := rec.recs[next:], rec.changed
		next = len(rec.recs)
		rec.mu.Unlock()
		for _, r := range recs {
			if match(r) {
				return r
			}
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s in the log", timeout, what)
		}
	}
}

// logHandler is the slog.Handler of a logRecorder. Groups are flattened.
type logHandler struct {
	rec   *logRecorder
	attrs []slog.Attr
}

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	attrs := make(map[string]any, len(h.attrs)+r.NumAttrs())
	for _, a := range h.attrs {
		attrs[a.Key] = a.Value.Any()
	}
	r.Attrs(func(a slog.Attr) bool {
		attrs[a.Key] = a.Value.Any()
		return true
	})
	h.rec.add(logRecord{time: r.Time, level: r.Level, msg: r.Message, attrs: attrs})
	return nil
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &logHandler{rec: h.rec, attrs: append(h.attrs[:len(h.attrs):len(h.attrs)], as...)}
}

func (h *logHandler) WithGroup(string) slog.Handler { return h }
