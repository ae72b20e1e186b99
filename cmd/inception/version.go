package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/inception-cli/inception/internal/kernels"
)

// version is set at link time (-ldflags "-X main.version=…"); otherwise the module's build info is used.
var version = ""

type versionOptions struct {
	IO      *IOStreams
	Kernels bool
}

func newCmdVersion(ios *IOStreams, runF func(*versionOptions) error) *cobra.Command {
	opts := &versionOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, the Go version and the kernel implementations in use",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return versionRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Kernels, "kernels", false, "list every kernel implementation, not only the active ones")
	return cmd
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v = "dev+" + s.Value[:12]
			}
		}
		if v != "" && v != "(devel)" {
			return v
		}
	}
	return "dev"
}

func versionRun(opts *versionOptions) error {
	w := opts.IO.Out
	fmt.Fprintf(w, "inception %s\n", buildVersion())
	fmt.Fprintf(w, "go        %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintln(w, "kernels:")
	for _, k := range kernels.Implementations() {
		if !k.Active && !opts.Kernels {
			continue
		}
		mark := " "
		if k.Active {
			mark = "*"
		}
		fmt.Fprintf(w, "  %s %-12s %s\n", mark, k.Op, k.Name)
	}
	return nil
}
