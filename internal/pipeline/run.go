package pipeline

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/inception-cli/inception/internal/model"
	"github.com/inception-cli/inception/internal/preprocess"
)

// Config says how to label: the network, the preprocessing, and how much to run at once.
type Config struct {
	Model     *model.Model
	Preset    preprocess.Preset
	Decode    preprocess.DecodeOptions
	BatchSize int // images per forward pass (default 1)
	Workers   int // decoding goroutines (default GOMAXPROCS)
}

// Result is the outcome for one item: its logits, or why it failed.
type Result struct {
	Item
	Logits []float32
}

// job is one item on its way through the decoders, with the input buffer reserved for it.
type job struct {
	i   int
	buf []float32
	err error
}

// Run labels items and calls emit once per item, in input order. Decoding and preprocessing run on
// Workers goroutines ahead of the network; at most BatchSize+2·Workers preprocessed images are held at
// once, whatever the number of items. When ctx is cancelled, Run finishes the batch in flight, emits its
// results and returns ctx.Err(); later items get no result. An error from emit stops the run.
func Run(ctx context.Context, items []Item, cfg Config, emit func(Result) error) error {
	bs := max(cfg.BatchSize, 1)
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	size := cfg.Preset.Size
	imgLen := 3 * size * size

	// Buffers are reserved in input order before an item is handed to a decoder, so the item the network
	// waits for always holds one: the bounded pool cannot deadlock.
	poolSize := bs + 2*workers
	free := make(chan []float32, poolSize)
	for i := 0; i < poolSize; i++ {
		free <- make([]float32, imgLen)
	}
	stop := make(chan struct{})
	defer close(stop)
	jobs := make(chan job, workers)
	done := make(chan job, poolSize)
	go func() {
		defer close(jobs)
		for i := range items {
			var buf []float32
			select {
			case buf = <-free:
			case <-ctx.Done():
				return
			case <-stop:
				return
			}
			select {
			case jobs <- job{i: i, buf: buf}:
			case <-stop:
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				j.err = prepare(items[j.i], cfg, j.buf)
				select {
				case done <- j:
				case <-stop:
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()

	classes := cfg.Model.Classes()
	x := make([]float32, bs*imgLen)
	logits := make([]float32, bs*classes)
	pending := map[int]job{}
	var batch []job // in input order; failed items ride along to keep the output in order
	images := 0
	flush := func() error {
		if images > 0 {
			k := 0
			for _, j := range batch {
				if j.err == nil {
					copy(x[k*imgLen:], j.buf)
					k++
				}
			}
			if err := cfg.Model.ForwardRaw(x[:k*imgLen], k, size, size, logits[:k*classes]); err != nil {
				return err
			}
		}
		k := 0
		for _, j := range batch {
			r := Result{Item: items[j.i]}
			if j.err != nil {
				r.Err = j.err
			} else {
				r.Logits = append([]float32(nil), logits[k*classes:(k+1)*classes]...)
				k++
			}
			if j.buf != nil {
				free <- j.buf
			}
			if err := emit(r); err != nil {
				return err
			}
		}
		batch, images = batch[:0], 0
		return nil
	}
	next := 0
	for next < len(items) {
		j, ok := pending[next]
		if !ok {
			select {
			case j, ok = <-done:
				if !ok {
					// The feeder stopped early: ctx was cancelled.
					if err := flush(); err != nil {
						return err
					}
					return ctx.Err()
				}
				pending[j.i] = j
				continue
			case <-ctx.Done():
				if err := flush(); err != nil {
					return err
				}
				return ctx.Err()
			}
		}
		delete(pending, next)
		next++
		batch = append(batch, j)
		if j.err == nil {
			images++
		}
		if images == bs || next == len(items) {
			if err := flush(); err != nil {
				return err
			}
			if ctx.Err() != nil && next < len(items) {
				return ctx.Err()
			}
		}
	}
	return flush()
}

// prepare decodes and preprocesses one item into buf, turning a decoder panic into an error.
func prepare(it Item, cfg Config, buf []float32) (err error) {
	if it.Err != nil {
		return it.Err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decode: %v", r)
		}
	}()
	img, err := preprocess.Decode(it.Path, cfg.Decode)
	if err != nil {
		return err
	}
	cfg.Preset.Into(img, buf)
	return nil
}
