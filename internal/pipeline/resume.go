package pipeline

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Done reads an output file of an earlier run (JSON Lines, or CSV/TSV with a "file" column) and returns
// the files it already holds a record for. A missing file means nothing is done. A last line cut short
// by a crash is ignored (it will be labelled again); any other unreadable line is an error, because
// guessing could label files twice or never.
func Done(path, format string) (map[string]bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	switch format {
	case "jsonl":
		return doneJSONL(path, f)
	case "csv", "tsv":
		return doneCSV(path, f, format)
	}
	return nil, fmt.Errorf("%s: --resume needs a jsonl, csv or tsv output, not %s", path, format)
}

func doneJSONL(path string, r io.Reader) (map[string]bool, error) {
	done := map[string]bool{}
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		if err == io.EOF {
			return done, nil // a final line without its newline was cut short: label it again
		}
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		var rec struct {
			File *string `json:"file"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.File == nil {
			return nil, fmt.Errorf("%s line %d: not a record of this tool (%.40q)", path, n, line)
		}
		done[*rec.File] = true
	}
}

func doneCSV(path string, r io.Reader, format string) (map[string]bool, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if i := strings.LastIndexByte(string(b), '\n'); i+1 < len(b) {
		b = b[:i+1] // drop a final row cut short
	}
	cr := csv.NewReader(strings.NewReader(string(b)))
	if format == "tsv" {
		cr.Comma = '\t'
	}
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	done := map[string]bool{}
	if len(rows) == 0 {
		return done, nil
	}
	col := -1
	for i, h := range rows[0] {
		if h == "file" {
			col = i
		}
	}
	if col < 0 {
		return nil, fmt.Errorf("%s: no \"file\" column in the header %q", path, rows[0])
	}
	for _, row := range rows[1:] {
		if col < len(row) {
			done[row[col]] = true
		}
	}
	return done, nil
}

// Skip drops the items whose path is in done.
func Skip(items []Item, done map[string]bool) []Item {
	if len(done) == 0 {
		return items
	}
	out := items[:0:0]
	for _, it := range items {
		if !done[it.Path] {
			out = append(out, it)
		}
	}
	return out
}
