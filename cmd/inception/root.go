package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// IOStreams are the command's standard streams; tests use buffers. OutTTY and ErrTTY say whether
// Out and ErrOut are terminals (text output and progress bars are for people).
type IOStreams struct {
	In             io.Reader
	Out, ErrOut    io.Writer
	OutTTY, ErrTTY bool
}

// exitCode is the process exit status. There is one table:
type exitCode int

const (
	exitOK          exitCode = 0   // everything worked
	exitFailure     exitCode = 1   // some input failed (a bad image), or an unexpected error
	exitUsage       exitCode = 2   // bad flags or arguments
	exitModelData   exitCode = 3   // bad or missing weights
	exitInterrupted exitCode = 130 // Ctrl-C
)

// flagError marks a usage mistake (exit 2).
type flagError struct{ err error }

func (e *flagError) Error() string { return e.err.Error() }
func (e *flagError) Unwrap() error { return e.err }

func usageErrorf(format string, a ...any) error { return &flagError{fmt.Errorf(format, a...)} }

// modelDataError marks a problem with the weights or the model (exit 3).
type modelDataError struct{ err error }

func (e *modelDataError) Error() string { return e.err.Error() }
func (e *modelDataError) Unwrap() error { return e.err }

// partialError says some inputs failed after the others were processed (exit 1); the failures were
// already reported one per line.
type partialError struct{ failed, total int }

func (e *partialError) Error() string {
	return fmt.Sprintf("%d of %d images failed", e.failed, e.total)
}

func newCmdRoot(ios *IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:   "inception",
		Short: "Classify images with the Inception CNNs (v1, v2, v3, v4, Inception-ResNet v1/v2) on the CPU",
		Long: `inception classifies images with the Inception family of convolutional networks, in one static
binary, on the CPU, with the same numbers as the reference implementations.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	root.SetIn(ios.In)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &flagError{err} })
	root.AddCommand(newCmdClassify(ios, nil))
	root.AddCommand(newCmdVersion(ios, nil))
	root.AddCommand(newCmdBench(ios, nil))
	root.AddCommand(newCmdPull(ios, nil))
	root.AddCommand(newCmdModels(ios, nil))
	root.AddCommand(newCmdPreprocess(ios, nil))
	root.AddCommand(newCmdExport(ios, nil))
	root.AddCommand(newCmdSummary(ios, nil))
	root.AddCommand(newCmdEmbed(ios, nil))
	root.AddCommand(newCmdEval(ios, nil))
	root.AddCommand(newCmdTrainHead(ios, nil))
	root.AddCommand(newCmdExplain(ios, nil))
	return root
}

// run executes the command line args and returns the exit code; errors are printed to ErrOut, one line.
func run(ctx context.Context, args []string, ios *IOStreams) exitCode {
	root := newCmdRoot(ios)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var (
		fe *flagError
		me *modelDataError
		pe *partialError
	)
	code := exitFailure
	switch {
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		fmt.Fprintln(ios.ErrOut, "inception: interrupted")
		return exitInterrupted
	case errors.As(err, &fe) || isCobraUsage(err):
		code = exitUsage
	case errors.As(err, &me):
		code = exitModelData
	case errors.As(err, &pe):
		code = exitFailure
	}
	msg := "inception: " + oneLine(err.Error())
	if code == exitUsage {
		msg += " (see inception --help)"
	}
	fmt.Fprintln(ios.ErrOut, msg)
	return code
}

// isCobraUsage recognises cobra's own argument errors (unknown command, wrong arg count).
func isCobraUsage(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "accepts ") ||
		strings.HasPrefix(msg, "requires at least") || strings.HasPrefix(msg, "unknown flag") ||
		strings.HasPrefix(msg, "unknown shorthand flag")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// checkFormat accepts the --format of the commands that print a report: text or json.
func checkFormat(f string) error {
	if f != "text" && f != "json" {
		return usageErrorf("--format must be text or json, got %q", f)
	}
	return nil
}
