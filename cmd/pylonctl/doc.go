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
//
// It imports its own packages (cmd/pylonctl/internal/...), config, api/,
// cobra and Kubernetes' client libraries; it links neither memberlist nor
// GoBGP.
package main
