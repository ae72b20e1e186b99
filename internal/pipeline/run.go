package pipeline

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/inception-cli/inception/internal/model"
	"github.com/inception-cli/inception/internal/preprocess"
)

// Net is one network of a run, with the preprocessing its weights expect.
type Net struct {
	Model  *model.Model
	Preset preprocess.Preset
	Crops  int // views of each image the network sees: 1, 10 or 144 (preprocess.Preset.MultiCrop); 0 means 1
}

// crops is how many views of each image the network sees.
func (n Net) crops() int { return max(n.Crops, 1) }

// imageLen is the length of one preprocessed view.
func (n Net) imageLen() int { return 3 * n.Preset.Size * n.Preset.Size }

// Config says how to label: the networks (one, or the members of an ensemble), their outputs, and how much
// to run at once.
type Config struct {
	Nets      []Net
	Features  bool // also return each view's pooled features (the embedding the head reads)
	Decode    preprocess.DecodeOptions
	BatchSize int // views per forward pass (default 1); an image's crops count one each
	Workers   int // decoding goroutines (default GOMAXPROCS)
}

// Output is what one network gives for one image: a row per crop.
type Output struct {
	Logits []float32 // crops×classes
	Pooled []float32 // crops×features, when Config.Features
}

// Result is the outcome for one item: an Output per network, or why it failed.
type Result struct {
	Item
	Out []Output
}

// maxAheadBytes bounds the memory of the images decoded ahead of the network.
const maxAheadBytes = 512 << 20

// job is one item on its way through the decoders, with the input buffer reserved for it.
type job struct {
	i   int
	buf []float32
	err error
}

// Run labels items and calls emit once per item, in input order. Decoding and preprocessing run on
// Workers goroutines ahead of the network; at most BatchSize+2·Workers preprocessed images are held at
// once (fewer for large multi-crop images), whatever the number of items. When ctx is cancelled, Run
// finishes the batch in flight, emits its results and returns ctx.Err(); later items get no result. An
// error from emit stops the run.
func Run(ctx context.Context, items []Item, cfg Config, emit func(Result) error) error {
	if len(cfg.Nets) == 0 {
		return fmt.Errorf("pipeline: no network")
	}
	bs := max(cfg.BatchSize, 1)
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// Items per flush: enough for a full forward pass of the network with the most crops, at least one.
	maxCrops, bufLen := 1, 0
	for _, n := range cfg.Nets {
		maxCrops = max(maxCrops, n.crops())
		bufLen += n.crops() * n.imageLen()
	}
	perBatch := max(bs/maxCrops, 1)

	// Buffers are reserved in input order before an item is handed to a decoder, so the item the network
	// waits for always holds one: the bounded pool cannot deadlock. Up to 2·Workers images are decoded
	// ahead, fewer when an image's views are large (144 crops at 299 take 154 MB).
	ahead := 2 * workers
	if limit := max(maxAheadBytes/(4*bufLen), 1); ahead > limit {
		ahead = limit
	}
	// The buffers are made as they are first needed: a run of one image holds one, not the pool's
	// worth (IRv2: 5 × 1.07 MB, which the runtime zeroes, so all resident).
	poolSize := min(perBatch+ahead, len(items))
	free := make(chan []float32, poolSize)
	made := 0
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
			default:
				if made < poolSize {
					buf, made = make([]float32, bufLen), made+1
					break
				}
				select {
				case buf = <-free:
				case <-ctx.Done():
					return
				case <-stop:
					return
				}
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

	runners := make([]*runner, len(cfg.Nets))
	for i, n := range cfg.Nets {
		r, err := newRunner(n, bs, cfg.Features)
		if err != nil {
			return err
		}
		runners[i] = r
	}
	pending := map[int]job{}
	var batch []job // in input order; failed items ride along to keep the output in order
	images := 0
	// flush runs the batch; last says that no item is left to decode, so that the batch's buffers will
	// not be used again and the network may drop their pages once it has read them.
	flush := func(last bool) error {
		outs := make([][]Output, len(batch))
		off := 0
		for ni, r := range runners {
			var bufs [][]float32
			for _, j := range batch {
				if j.err == nil {
					bufs = append(bufs, j.buf[off:off+r.net.crops()*r.net.imageLen()])
				}
			}
			res, err := r.run(bufs, last)
			if err != nil {
				return err
			}
			k := 0
			for bi, j := range batch {
				if j.err == nil {
					if outs[bi] == nil {
						outs[bi] = make([]Output, len(runners))
					}
					outs[bi][ni] = res[k]
					k++
				}
			}
			off += r.net.crops() * r.net.imageLen()
		}
		for bi, j := range batch {
			r := Result{Item: items[j.i], Out: outs[bi]}
			if j.err != nil {
				r.Err = j.err
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
					if err := flush(false); err != nil {
						return err
					}
					return ctx.Err()
				}
				pending[j.i] = j
				continue
			case <-ctx.Done():
				if err := flush(false); err != nil {
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
		if images == perBatch || next == len(items) {
			if err := flush(next == len(items)); err != nil {
				return err
			}
			if ctx.Err() != nil && next < len(items) {
				return ctx.Err()
			}
		}
	}
	return flush(true)
}

// runner runs one network over the views of a batch of images, at most bs views per forward pass.
type runner struct {
	net      Net
	bs       int
	classes  int
	features int       // pooled feature length, or 0 when not wanted
	x        []float32 // made on first use: the views of several images, side by side
	logits   []float32
	pooled   []float32
}

func newRunner(n Net, bs int, features bool) (*runner, error) {
	r := &runner{net: n, bs: bs, classes: n.Model.Classes()}
	if features {
		fs, err := n.Model.FeatureShape(n.Preset.Size, n.Preset.Size)
		if err != nil {
			return nil, err
		}
		r.features = fs.C
	}
	r.logits = make([]float32, bs*r.classes)
	r.pooled = make([]float32, bs*r.features)
	return r, nil
}

// run forwards every view of every image in bufs (each crops×3×size×size) and returns one Output per image;
// last lets the network drop the pages of bufs once read (Outputs.DropInput).
func (r *runner) run(bufs [][]float32, last bool) ([]Output, error) {
	crops, il, size := r.net.crops(), r.net.imageLen(), r.net.Preset.Size
	outs := make([]Output, len(bufs))
	for i := range outs {
		outs[i].Logits = make([]float32, crops*r.classes)
		if r.features > 0 {
			outs[i].Pooled = make([]float32, crops*r.features)
		}
	}
	total := len(bufs) * crops
	for v0 := 0; v0 < total; v0 += r.bs {
		k := min(r.bs, total-v0)
		// Views of one image lie side by side in its buffer: a pass over them reads it in place
		// (the model copies its input in anyway); views of several images are gathered into x.
		var x []float32
		if img, c := v0/crops, v0%crops; c+k <= crops {
			x = bufs[img][c*il : (c+k)*il]
		} else {
			if r.x == nil {
				r.x = make([]float32, r.bs*il)
			}
			for v := 0; v < k; v++ {
				img, c := (v0+v)/crops, (v0+v)%crops
				copy(r.x[v*il:(v+1)*il], bufs[img][c*il:(c+1)*il])
			}
			x = r.x[:k*il]
		}
		o := model.Outputs{Logits: r.logits[:k*r.classes], DropInput: last}
		if r.features > 0 {
			o.Pooled = r.pooled[:k*r.features]
		}
		if err := r.net.Model.Run(x, k, size, size, o); err != nil {
			return nil, err
		}
		for v := 0; v < k; v++ {
			img, c := (v0+v)/crops, (v0+v)%crops
			copy(outs[img].Logits[c*r.classes:(c+1)*r.classes], r.logits[v*r.classes:])
			if r.features > 0 {
				copy(outs[img].Pooled[c*r.features:(c+1)*r.features], r.pooled[v*r.features:])
			}
		}
	}
	return outs, nil
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
	for _, n := range cfg.Nets {
		l := n.crops() * n.imageLen()
		if n.crops() == 1 {
			n.Preset.Into(img, buf[:l])
		} else if err := n.Preset.MultiCrop(img, n.crops(), buf[:l]); err != nil {
			return err
		}
		buf = buf[l:]
	}
	return nil
}
