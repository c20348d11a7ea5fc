package audience

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
)

// Rows travel in batches: a goroutine reads batchSize records, checks
// them, and hands them over with a couple of channel operations, which
// then cost next to nothing per row. A batch is also the unit the calling
// goroutine checks itself before any worker starts (see Reader.advance).
const batchSize = 256

// batch is a run of consecutive records and, once checked, their results.
// Batches are reused with their slots, so reading allocates per row only
// what the caller keeps (the Recipient, or the RowErrors).
type batch struct {
	slots []slot // the first n are filled
	n     int
	end   error         // io.EOF or the read error met after the n records; nil when more follow
	done  chan struct{} // receives once when the n records are checked
}

type slot struct {
	rec  record
	bad  RowErrors // the record could not be decoded; rec is not filled
	rcp  *Recipient
	errs RowErrors // the problems check found, without the duplicate id (see Reader.emit)
}

func newBatch(rows int) *batch {
	return &batch{slots: make([]slot, rows), done: make(chan struct{}, 1)}
}

// fill reads records from src into b until it is full or reading ends.
func fill(src source, b *batch) {
	b.n, b.end = 0, nil
	for b.n < len(b.slots) {
		s := &b.slots[b.n]
		err := src.next(&s.rec)
		s.bad = nil
		if err != nil {
			var re RowErrors
			if !errors.As(err, &re) {
				b.end = err
				return
			}
			s.bad = re
		}
		b.n++
	}
}

// check validates the records of b. It gives up when quit becomes true
// (nil: never), so stopping a pipeline does not wait for a whole batch.
func check(vr *validator, b *batch, quit *atomic.Bool) {
	for i := range b.n {
		if quit != nil && i%32 == 0 && quit.Load() {
			return
		}
		if s := &b.slots[i]; s.bad == nil {
			s.rcp, s.errs = vr.check(&s.rec)
		}
	}
}

// release drops the results of a batch whose rows were handed out, so a
// batch waiting to be reused does not keep the caller's recipients alive.
func (b *batch) release() {
	for i := range b.n {
		s := &b.slots[i]
		s.bad, s.rcp, s.errs = nil, nil, nil
	}
	b.n, b.end = 0, nil
}

// pipeline reads and checks batches on up to GOMAXPROCS worker goroutines
// while the Reader hands rows out of the queue in file order.
//
// A worker takes the lock, reads the next batch and puts it on the queue
// (so the queue is in file order), lets go of the lock, checks the batch on
// its own, and signals done. Reading, which must be sequential, costs a
// fraction of checking, so one lock serialises it without a reader
// goroutine of its own and the hand-over that would come with it.
//
// The queue bounds the read-ahead. A worker that finds it full exits
// instead of waiting, and the Reader starts workers again once it has
// taken half the queue (wake). So when the caller stops calling Next, even
// without Close, the workers finish what is queued and are gone: no
// goroutine is left blocked on a Reader nobody reads.
type pipeline struct {
	mu    sync.Mutex // held while a worker reads: guards src, ended and the sends on queue
	src   source
	rows  int  // records a batch
	ended bool // the batch with end set is on the queue: there is nothing more to read

	queue chan *batch // read batches in file order, checked or being checked
	free  chan *batch // handed-out batches, for reuse

	running atomic.Int32 // workers started and not exited; changed with mu held
	max     int32
	quit    atomic.Bool
	wg      sync.WaitGroup

	// validators of exited workers, with their warm caches, for the next
	// workers; and what a new one is made of
	vrs    chan *validator
	name   string
	known  map[string]bool
	shared *sharedValues
}

func startPipeline(src source, rows int, name string, known map[string]bool, shared *sharedValues) *pipeline {
	n := runtime.GOMAXPROCS(0)
	// Four batches a worker keep every worker busy while the caller is
	// slower for a moment, and hold 1,024 rows a worker at most.
	depth := 4 * n
	p := &pipeline{
		src:   src,
		rows:  rows,
		queue: make(chan *batch, depth),
		free:  make(chan *batch, depth+2),
		max:   int32(n),
		vrs:   make(chan *validator, n),
		name:  name, known: known, shared: shared,
	}
	p.wake()
	return p
}

// next recycles the batch the Reader is done with (released) and returns
// the next one in file order, checked.
func (p *pipeline) next(prev *batch) *batch {
	if prev != nil {
		select {
		case p.free <- prev:
		default:
		}
	}
	p.wake()
	// This cannot wait for ever: after wake either workers are running,
	// which only exit when the queue is full or holds the last batch, or
	// the queue is at least half full.
	b := <-p.queue
	<-b.done
	return b
}

// wake starts workers up to max when some have exited and the queue has
// room for them to fill. The checks without the lock keep the common case
// (every worker running) from waiting for the lock, which a worker holds
// while it reads.
func (p *pipeline) wake() {
	if p.running.Load() == p.max || len(p.queue) > cap(p.queue)/2 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended || p.quit.Load() {
		return
	}
	for p.running.Load() < p.max {
		p.running.Add(1)
		p.wg.Add(1)
		go p.work(p.validator())
	}
}

func (p *pipeline) validator() *validator {
	select {
	case vr := <-p.vrs:
		return vr
	default:
		return &validator{name: p.name, known: p.known, cache: newValueCache(p.shared)}
	}
}

func (p *pipeline) work(vr *validator) {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		if p.ended || p.quit.Load() || len(p.queue) == cap(p.queue) {
			select {
			case p.vrs <- vr:
			default:
			}
			p.running.Add(-1)
			p.mu.Unlock()
			return
		}
		var b *batch
		select {
		case b = <-p.free:
		default:
			b = newBatch(p.rows)
		}
		fill(p.src, b)
		p.ended = b.end != nil
		// Never blocks: there was room, and only workers holding mu send.
		p.queue <- b
		p.mu.Unlock()
		check(vr, b, &p.quit)
		b.done <- struct{}{}
	}
}

// stop makes the workers exit and waits for them. A worker in the middle
// of reading exits when that read returns.
func (p *pipeline) stop() {
	p.quit.Store(true)
	p.wg.Wait()
}
