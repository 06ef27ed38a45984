package nat

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// discoverTimeout bounds one discovery run of "any", "upnp" or "pmp": the
// SSDP search waits 2 s for answers, then device descriptions and a SOAP
// check take a round trip each; NAT-PMP probes wait 1 s.
const discoverTimeout = 6 * time.Second

// discoverFunc looks for a gateway. It returns within the context's
// deadline (plus the bounded time of a request already under way).
type discoverFunc func(ctx context.Context) (Interface, error)

// autodisc is an Interface whose gateway is found on first use. Concurrent
// callers share one discovery run. A run that finds nothing is not cached:
// the next call searches again, so a gateway that comes up later is found
// (the Mapper's retry backoff paces this).
type autodisc struct {
	what     string // spec name: "any", "upnp", "natpmp"
	discover discoverFunc
	timeout  time.Duration

	mu      sync.Mutex    // guards following
	found   Interface     // non-nil once discovery succeeded
	running chan struct{} // non-nil while a run is under way; closed when it ends
	lastErr error         // result of the last run that found nothing
	waiters int           // callers waiting for a run under way (tests read it)
}

func newAutodisc(what string, discover discoverFunc) *autodisc {
	return &autodisc{what: what, discover: discover, timeout: discoverTimeout}
}

// get returns the discovered Interface, running discovery if needed.
func (a *autodisc) get() (Interface, error) {
	a.mu.Lock()
	if a.found != nil {
		defer a.mu.Unlock()
		return a.found, nil
	}
	if done := a.running; done != nil {
		// Another caller is searching: wait for its result.
		a.waiters++
		a.mu.Unlock()
		<-done
		a.mu.Lock()
		defer a.mu.Unlock()
		a.waiters--
		if a.found != nil {
			return a.found, nil
		}
		return nil, a.lastErr
	}
	done := make(chan struct{})
	a.running = done
	a.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), a.timeout)
	found, err := a.discover(ctx)
	cancel()
	if found == nil && err == nil {
		err = errors.New("nothing answered")
	}
	if err != nil {
		found, err = nil, fmt.Errorf("%w by %s: %v", ErrNoGateway, a.what, err)
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	a.found, a.lastErr, a.running = found, err, nil
	close(done)
	return found, err
}

// AddMapping discovers the gateway if needed and maps the port on it.
func (a *autodisc) AddMapping(protocol string, extport, intport int, name string, lifetime time.Duration) (uint16, error) {
	n, err := a.get()
	if err != nil {
		return 0, err
	}
	return n.AddMapping(protocol, extport, intport, name, lifetime)
}

// DeleteMapping discovers the gateway if needed and deletes the mapping.
func (a *autodisc) DeleteMapping(protocol string, extport, intport int) error {
	n, err := a.get()
	if err != nil {
		return err
	}
	return n.DeleteMapping(protocol, extport, intport)
}

// ExternalIP discovers the gateway if needed and asks it for its address.
func (a *autodisc) ExternalIP() (netip.Addr, error) {
	n, err := a.get()
	if err != nil {
		return netip.Addr{}, err
	}
	return n.ExternalIP()
}

// String returns the spec name until a gateway is found, then the
// gateway's description.
func (a *autodisc) String() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.found != nil {
		return a.found.String()
	}
	return a.what
}

// MarshalText returns the spec Parse accepts for a.
func (a *autodisc) MarshalText() ([]byte, error) { return []byte(a.what), nil }

// discoverAny is the discovery of "any" on the real network.
func discoverAny(ctx context.Context) (Interface, error) {
	return firstFound(ctx, map[string]discoverFunc{
		"upnp":    discoverUPnPAny,
		"nat-pmp": discoverPMPAny,
	})
}

// firstFound runs the discoveries in parallel and returns the first
// Interface found. The others are cancelled and waited for, so no
// goroutine outlives the call. If none finds anything, the error lists
// each one's reason.
func firstFound(ctx context.Context, discover map[string]discoverFunc) (Interface, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		name  string
		found Interface
		err   error
	}
	results := make(chan result, len(discover))
	for name, fn := range discover {
		go func() {
			found, err := fn(ctx)
			results <- result{name, found, err}
		}()
	}
	var (
		winner Interface
		failed []string
	)
	for range discover {
		r := <-results
		switch {
		case r.err == nil && r.found != nil:
			if winner == nil {
				winner = r.found
				cancel() // stop the others
			}
		case r.err == nil:
			failed = append(failed, r.name+": nothing answered")
		default:
			failed = append(failed, r.name+": "+r.err.Error())
		}
	}
	if winner != nil {
		return winner, nil
	}
	slices.Sort(failed)
	return nil, errors.New(strings.Join(failed, "; "))
}

// joinErrors joins errors into one line, unlike errors.Join.
func joinErrors(errs []error) error {
	msgs := make([]string, len(errs))
	for i, err := range errs {
		msgs[i] = err.Error()
	}
	return errors.New(strings.Join(msgs, "; "))
}
