// Command onnxexport writes an inception network with the deterministic splitmix fill as weights (the
// weights `inception bench` times) as an ONNX model, and optionally a fill input and inception's logits
// for it, for the side-by-side harness (bench/compare.sh) and parity checks with ONNX Runtime:
//
//	go run ./bench/cmd/onnxexport -arch v3 -o v3.onnx -n 2 -input v3.in.bin -logits v3.logits.bin
//
// The .bin files are raw little-endian float32: the input NCHW [n,3,size,size], the logits [n,classes].
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"os"

	"github.com/inception-cli/inception/internal/fill"
	"github.com/inception-cli/inception/internal/model"
	"github.com/inception-cli/inception/internal/onnx"
)

func main() {
	arch := flag.String("arch", "v1", "network to export (as --arch of inception)")
	size := flag.Int("size", 0, "input size (default: the arch's native size)")
	batch := flag.Int("batch", 0, "fixed batch dimension of the model; 0 leaves it symbolic")
	salt := flag.String("salt", "bench", "salt of the splitmix weight fill (inception bench uses \"bench\")")
	out := flag.String("o", "", "output .onnx file")
	n := flag.Int("n", 1, "images in the input written by -input")
	input := flag.String("input", "", "also write a fill input of -n images here (raw float32)")
	logits := flag.String("logits", "", "also write inception's logits for the -input images here (raw float32)")
	flag.Parse()
	if err := run(*arch, *size, *batch, *salt, *out, *n, *input, *logits); err != nil {
		fmt.Fprintln(os.Stderr, "onnxexport:", err)
		os.Exit(1)
	}
}

func run(arch string, size, batch int, salt, out string, n int, input, logits string) error {
	if out == "" {
		return fmt.Errorf("-o is required")
	}
	if logits != "" && input == "" {
		return fmt.Errorf("-logits needs -input")
	}
	v, err := model.Lookup(arch)
	if err != nil {
		return err
	}
	if size == 0 {
		size = v.Size
	}
	m := model.New(v)
	m.KeepWeights = true // the export reads the folded weights
	src := model.MapSource{}
	for _, p := range m.Params() {
		src[p.Key] = model.Tensor{Shape: p.Shape, Data: fill.Tensor(salt, p.Key, p.Shape, p.Role.String())}
	}
	if err := m.Load(src); err != nil {
		return err
	}
	if err := writeFile(out, func(w *bufio.Writer) error { return onnx.Export(w, m, size, batch) }); err != nil {
		return err
	}
	if input == "" {
		return nil
	}
	// The input `inception bench` times: fill "input" of shape [n,3,size,size].
	x := fill.Tensor(salt, "input", []int{n, 3, size, size}, "input")
	if err := writeFile(input, func(w *bufio.Writer) error { return binary.Write(w, binary.LittleEndian, x) }); err != nil {
		return err
	}
	if logits == "" {
		return nil
	}
	y := make([]float32, n*m.Classes())
	if err := m.ForwardRaw(x, n, size, size, y); err != nil {
		return err
	}
	return writeFile(logits, func(w *bufio.Writer) error { return binary.Write(w, binary.LittleEndian, y) })
}

func writeFile(name string, fn func(*bufio.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	err = fn(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
