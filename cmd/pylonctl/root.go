package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/clock"
)

// Exit statuses; see the package documentation.
const (
	exitOK      = 0
	exitProblem = 1
	exitError   = 2
)

// pluginPrefix is how kubectl finds plugins: `kubectl pylon` runs
// kubectl-pylon from the PATH.
const pluginPrefix = "kubectl-"

// problemError ends a command with exitProblem after it printed its
// answer; its message, when not empty, goes to stderr.
type problemError struct{ msg string }

func (e problemError) Error() string { return e.msg }

// exitCode ends a command with a given status without a message: the
// command has said what there was to say.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// app is one run of pylonctl: where it writes, its clock and the flags
// every cluster command shares.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	clock          clock.PassiveClock
	kube           *genericclioptions.ConfigFlags
	// output is -o: table, yaml or json.
	output string
	// pylonNamespace is where pylon runs (--pylon-namespace).
	pylonNamespace string
}

// run runs pylonctl with args (args[0] is the program's name, which says
// whether it runs as a kubectl plugin) and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	return runIO(args, os.Stdin, stdout, stderr)
}

// runIO is run reading standard input from stdin.
func runIO(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, clock: clock.RealClock{}}
	root := a.command(filepath.Base(args[0]))
	root.SetArgs(args[1:])
	err := root.Execute()
	var code exitCode
	var problem problemError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &code):
		return int(code)
	case errors.As(err, &problem):
		if problem.msg != "" {
			fmt.Fprintln(stderr, problem.msg)
		}
		return exitProblem
	}
	fmt.Fprintf(stderr, "Error: %v\n", err)
	return exitError
}

// command builds the command tree. program is the name pylonctl was run
// as: kubectl-pylon makes the help say `kubectl pylon`.
func (a *app) command(program string) *cobra.Command {
	root := &cobra.Command{
		Use:   "pylonctl",
		Short: "Look into pylon, the bare-metal LoadBalancer, and check its configuration",
		Long: `pylonctl reads pylon's state from the cluster: whether it is healthy (status),
why a Service has or lacks its address and which node announces it (why), the
speakers' BGP sessions (bgp peers), and which versions run (version). validate
checks pylon resources in files without a cluster; migrate metallb converts a
MetalLB configuration.

Exit status: 0 all is well, 1 a problem was found, 2 the command could not answer.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	if strings.HasPrefix(program, pluginPrefix) {
		root.Annotations = map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl " + strings.TrimPrefix(program, pluginPrefix),
		}
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w (see %s --help)", err, c.CommandPath())
	})

	// The cluster commands share kubectl's connection flags, -o and
	// --pylon-namespace; validate reads files only.
	a.kube = genericclioptions.NewConfigFlags(true)
	for _, c := range []*cobra.Command{a.statusCommand(), a.whyCommand(), a.bgpCommand(), a.versionCommand()} {
		fl := c.PersistentFlags()
		a.kube.AddFlags(fl)
		fl.StringVarP(&a.output, "output", "o", outputTable, "output format: table, yaml or json")
		fl.StringVar(&a.pylonNamespace, "pylon-namespace", "pylon-system", "namespace pylon runs in (its controller, speakers and leader Lease)")
		_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(outputFormats(), cobra.ShellCompDirectiveNoFileComp))
		c.PersistentPreRunE = a.checkOutput
		root.AddCommand(c)
	}
	root.AddCommand(validateCommand(a))
	// migrate writes objects, not a view: its own -o (yaml or json).
	migrate := newMigrateCmd(a.kube, genericiooptions.IOStreams{In: a.stdin, Out: a.stdout, ErrOut: a.stderr})
	a.kube.AddFlags(migrate.PersistentFlags())
	root.AddCommand(migrate)
	if display := root.DisplayName(); display != root.Name() {
		renameExamples(root, root.Name(), display)
	}
	return root
}

// renameExamples writes the name pylonctl runs as into the examples and
// help texts of c and its subcommands.
func renameExamples(c *cobra.Command, from, to string) {
	c.Example = strings.ReplaceAll(c.Example, from+" ", to+" ")
	c.Long = strings.ReplaceAll(c.Long, from+" ", to+" ")
	for _, sub := range c.Commands() {
		renameExamples(sub, from, to)
	}
}
