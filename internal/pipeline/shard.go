package pipeline

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Shard selects a stable 1/N of the inputs: an input belongs to shard I when FNV-1a-64 of its path,
// modulo N, is I. The choice depends only on the path as enumerated, so N processes running the same
// command with shards 0..N-1 label every input exactly once.
type Shard struct{ I, N int }

// ParseShard parses "i/n" with 0 <= i < n.
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: want i/n with 0 <= i < n, e.g. 0/4", s)
	}
	return Shard{I: i, N: n}, nil
}

// Contains reports whether path belongs to the shard. The zero Shard contains everything.
func (s Shard) Contains(path string) bool {
	if s.N <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(path))
	return h.Sum64()%uint64(s.N) == uint64(s.I)
}

// Select keeps the items of the shard, in order.
func (s Shard) Select(items []Item) []Item {
	if s.N <= 1 {
		return items
	}
	out := items[:0:0]
	for _, it := range items {
		if s.Contains(it.Path) {
			out = append(out, it)
		}
	}
	return out
}
