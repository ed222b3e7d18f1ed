// Command pylonctl is pylon's command-line tool. Today it has one
// subcommand:
//
//	pylonctl validate [--namespace NS] FILE|DIR...
//
// which reads pylon resources (and the Secrets they reference) from YAML
// files, runs them through the same config.Parse the controller and speakers
// use, and prints every problem with its field path. It needs no cluster.
// Exit status: 0 when all is well, 1 when there are problems, 2 when the
// files cannot be read.
package main

import (
	"fmt"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func usage() string {
	return "usage: pylonctl validate [--namespace NS] FILE|DIR..."
}

func run(args []string, stdout, stderr *os.File) int {
	if len(args) == 0 || args[0] != "validate" {
		fmt.Fprintln(stderr, usage())
		return 2
	}
	opts, err := parseValidateFlags(args[1:])
	if err != nil {
		fmt.Fprintf(stderr, "pylonctl validate: %v\n%s\n", err, usage())
		return 2
	}
	return validate(opts, stdout, stderr)
}
