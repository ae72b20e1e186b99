// Command fillweights writes a network's deterministic splitmix fill (the weights `inception bench`
// times) as a .safetensors file in the reference's keys, so load time and peak memory can be measured on a
// real file of the published size without the published weights:
//
//	go run ./bench/cmd/fillweights -arch v3 -o /tmp/v3.safetensors
//	/usr/bin/time -v inception classify --arch v3 --weights /tmp/v3.safetensors --threads 1 photo.jpg
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/inception-cli/inception/internal/fill"
	"github.com/inception-cli/inception/internal/model"
	"github.com/inception-cli/inception/internal/weights"
)

func main() {
	arch := flag.String("arch", "v1-bn", "network (as --arch of inception)")
	salt := flag.String("salt", "bench", "salt of the splitmix fill")
	out := flag.String("o", "", "output .safetensors file")
	flag.Parse()
	if err := run(*arch, *salt, *out); err != nil {
		fmt.Fprintln(os.Stderr, "fillweights:", err)
		os.Exit(1)
	}
}

func run(arch, salt, out string) error {
	if out == "" {
		return fmt.Errorf("-o is required")
	}
	v, err := model.Lookup(arch)
	if err != nil {
		return err
	}
	var ts []weights.Tensor
	for _, p := range model.New(v).Params() {
		ts = append(ts, weights.Tensor{Name: p.Key, Shape: p.Shape, Data: fill.Tensor(salt, p.Key, p.Shape, p.Role.String())})
	}
	return weights.WriteSafetensors(out, ts, map[string]string{"format": "pt"})
}
