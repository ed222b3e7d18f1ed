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
