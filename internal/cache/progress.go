package cache

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
)

// IsTerminal reports whether w is a terminal (a tty, or a Cygwin/MSYS pty on Windows), for Cache.Terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// bar draws one self-overwriting progress line: name, bar, bytes, percentage and rate. A nil *bar
// draws nothing, so callers need not check whether output is a terminal.
type bar struct {
	w            io.Writer
	name         string
	total        int64 // -1 when unknown
	startBytes   int64 // bytes present when this transfer began (resume), excluded from the rate
	start, drawn time.Time
	done         int64
	width        int // length of the last line, to blank leftovers
}

// barInterval limits redraws; the first and last states are always drawn.
const barInterval = 100 * time.Millisecond

func (c *Cache) newBar(name string, done, total int64) *bar {
	if !c.Terminal || c.Progress == nil {
		return nil
	}
	b := &bar{w: c.Progress, name: name, total: total, startBytes: done, start: time.Now(), done: done}
	b.draw()
	return b
}

func (b *bar) update(done int64) {
	if b == nil {
		return
	}
	b.done = done
	if time.Since(b.drawn) >= barInterval {
		b.draw()
	}
}

func (b *bar) end() {
	if b == nil {
		return
	}
	b.draw()
	fmt.Fprintln(b.w)
}

func (b *bar) draw() {
	b.drawn = time.Now()
	rate := ""
	if secs := time.Since(b.start).Seconds(); secs > 0.2 {
		rate = "  " + mb(int64(float64(b.done-b.startBytes)/secs)) + "/s"
	}
	var line string
	if b.total > 0 {
		const cells = 30
		frac := min(float64(b.done)/float64(b.total), 1)
		full := int(frac * cells)
		line = fmt.Sprintf("%s [%s%s] %s / %s %3.0f%%%s", b.name, strings.Repeat("=", full),
			strings.Repeat(" ", cells-full), mb(b.done), mb(b.total), 100*frac, rate)
	} else {
		line = fmt.Sprintf("%s %s%s", b.name, mb(b.done), rate)
	}
	pad := max(b.width-len(line), 0)
	b.width = len(line)
	fmt.Fprintf(b.w, "\r%s%s", line, strings.Repeat(" ", pad))
}

// mb formats a byte count in decimal megabytes.
func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
