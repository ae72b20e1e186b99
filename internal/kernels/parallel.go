package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// team runs a sequence of phases, each a range of independent units (strips of columns,
// channels, …), on the calling goroutine and up to helpers more. Units are handed out in
// ranges from an atomic counter, so the caller starts at once and each helper joins
// whenever it gets the team: at once when it is polling (helperSpin), else when the OS
// wakes it, which a static split would pay in full at every fork and join (measured: a
// fork-join of two 157 µs halves took 284 µs). Ranges shrink as the phase runs out (guided scheduling: a
// grab takes 1/(2·workers) of what is left, at least 1) so that the workers finish
// together while few range boundaries (rows of C shared by two cores) are created. A phase
// starts when every unit of the previous one is done; waits spin, yielding, as phases are
// short.
//
// Results never depend on which goroutine ran a range: each range writes its own outputs,
// and per-worker buffers (indexed by the worker argument) hold no state between ranges.
type team struct {
	units   []int // units per phase
	workers int
	do      func(phase, lo, hi, worker int) // runs units lo..hi-1 of a phase
	states  []teamPhase
}

// teamPhase counts a phase's units handed out and finished.
type teamPhase struct {
	next, done atomic.Int64
	_          [48]byte // keep phases on separate cache lines
}

// runTeam runs the phases (units[p] units in phase p, by do) on the calling goroutine
// (worker 0) and helpers more, and returns when all are done. The helpers are the
// persistent goroutines of helperPool.
func runTeam(helpers int, units []int, do func(phase, lo, hi, worker int)) {
	t := &team{units: units, workers: helpers + 1, do: do, states: make([]teamPhase, len(units))}
	for w := 1; w <= helpers; w++ {
		pool.submit(w, t)
	}
	t.work(0)
	t.wait(len(units) - 1)
}

// helperSpin is how long a helper keeps polling for its next team after finishing one
// before it parks. A parked goroutine took 0.1–3 ms (median 1.7) to start running again
// on the dev VM, an idle vCPU being slow to wake, which is longer than most convolutions:
// with a goroutine per team, threads=2 ran v3_Mixed_6b_1x7 in 379 µs against 392 µs
// serially. The gaps between the convolutions of a forward pass are shorter than this.
const helperSpin = 2 * time.Millisecond

// helperPool holds the persistent helper goroutines of runTeam, one per worker index
// 1..maxConvThreads-1, started on first use.
type helperPool struct {
	mu      sync.Mutex
	helpers [maxConvThreads]*helper
}

// pool is the process's helper pool.
var pool helperPool

// helper is one persistent goroutine: it runs worker index w of the teams put in next.
type helper struct {
	w      int
	next   atomic.Pointer[team] // the team to join, nil when none
	parked atomic.Bool          // blocked on wake (set before its last check of next)
	wake   chan struct{}        // a token after next is set while parked
}

// submit hands t to the helper of worker index w, starting it if needed. A team still in
// next is finished (runTeam returned), so it may be replaced.
func (p *helperPool) submit(w int, t *team) {
	h := p.get(w)
	h.next.Store(t)
	if h.parked.Load() {
		select {
		case h.wake <- struct{}{}:
		default: // a token is already waiting
		}
	}
}

// get returns the helper of worker index w, starting it on first use.
func (p *helperPool) get(w int) *helper {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.helpers[w] == nil {
		h := &helper{w: w, wake: make(chan struct{}, 1)}
		p.helpers[w] = h
		go h.loop()
	}
	return p.helpers[w]
}

// loop runs teams as they come: it polls next for helperSpin after each team, then parks
// until woken. It parks at once when the process starts goroutines while it polls (the
// model runs the branches of a block on goroutines of its own): a goroutine made runnable
// on the caller's P is not stolen by a P that keeps running this one (Gosched puts it on
// the global queue, which the scheduler checks before stealing), so the branches would
// wait for the end of the spin; that made IRv2 at threads=2 20% slower.
func (h *helper) loop() {
	for {
		deadline := time.Now().Add(helperSpin)
		goroutines := runtime.NumGoroutine()
		for i := 0; ; i++ {
			if t := h.next.Swap(nil); t != nil {
				t.work(h.w)
				deadline = time.Now().Add(helperSpin)
				goroutines = runtime.NumGoroutine()
				continue
			}
			if i%64 == 63 {
				if runtime.NumGoroutine() > goroutines || time.Now().After(deadline) {
					break
				}
				runtime.Gosched()
			}
		}
		// Park: announce it, then check next once more, so that a team stored before the
		// announcement is seen here and one stored after it sends a token.
		h.parked.Store(true)
		if t := h.next.Swap(nil); t != nil {
			h.parked.Store(false)
			t.work(h.w)
			continue
		}
		<-h.wake
		h.parked.Store(false)
	}
}

// work runs ranges of every phase it can get, in phase order.
func (t *team) work(worker int) {
	for p, n := range t.units {
		if p > 0 {
			t.wait(p - 1)
		}
		st := &t.states[p]
		for {
			lo := st.next.Load()
			if lo >= int64(n) {
				break
			}
			hi := min(lo+max((int64(n)-lo)/int64(2*t.workers), 1), int64(n))
			if !st.next.CompareAndSwap(lo, hi) {
				continue
			}
			t.do(p, int(lo), int(hi), worker)
			st.done.Add(hi - lo)
		}
	}
}

// wait returns when every unit of phase p is done.
func (t *team) wait(p int) {
	for t.states[p].done.Load() < int64(t.units[p]) {
		runtime.Gosched()
	}
}

// ParallelFor calls f on ranges [lo, hi) that together cover 0..n-1 once, on the calling
// goroutine and up to threads-1 of the helper goroutines the convolutions use (which are
// still polling right after one), so that memory-bound work between convolutions (pooling,
// the residual sums) does not leave the other cores idle. The ranges shrink as the work runs
// out (see team); f must not depend on which goroutine runs a range.
func ParallelFor(threads, n int, f func(lo, hi int)) {
	workers := min(max(threads, 1), maxConvThreads, n)
	if workers <= 1 {
		if n > 0 {
			f(0, n)
		}
		return
	}
	runTeam(workers-1, []int{n}, func(_, lo, hi, _ int) { f(lo, hi) })
}

// ParallelForWorkers is ParallelFor with the index of the worker running each range, below
// min(threads, n): f may use memory of that worker's own.
func ParallelForWorkers(threads, n int, f func(lo, hi, worker int)) {
	workers := min(max(threads, 1), maxConvThreads, n)
	if workers <= 1 {
		if n > 0 {
			f(0, n, 0)
		}
		return
	}
	runTeam(workers-1, []int{n}, func(_, lo, hi, worker int) { f(lo, hi, worker) })
}
