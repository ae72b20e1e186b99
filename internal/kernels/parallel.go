package kernels

import (
	"runtime"
	"sync/atomic"
)

// team runs a sequence of phases, each a range of independent units (strips of columns,
// channels, …), on the calling goroutine and up to helpers more. Units are handed out in
// ranges from an atomic counter, so the caller starts at once and each helper joins
// whenever the OS gets it running: waking an idle thread took 20–130 µs on the dev VM,
// which a static split pays in full at every fork and join (measured: a fork-join of two
// 157 µs halves took 284 µs). Ranges shrink as the phase runs out (guided scheduling: a
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
// (worker 0) and helpers more, and returns when all are done.
func runTeam(helpers int, units []int, do func(phase, lo, hi, worker int)) {
	t := &team{units: units, workers: helpers + 1, do: do, states: make([]teamPhase, len(units))}
	for w := 1; w <= helpers; w++ {
		go t.work(w)
	}
	t.work(0)
	t.wait(len(units) - 1)
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
