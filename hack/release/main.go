package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	var o options
	flag.StringVar(&o.chart, "chart", "deploy/charts/pylon", "the Helm chart: packaged, and its version, appVersion and image values are the release's")
	flag.StringVar(&o.manifest, "manifest", "deploy/pylon.yaml", "the plain install manifest `make generate` renders from the chart")
	flag.StringVar(&o.version, "version", "", "the release's version, which must be the chart's appVersion (e.g. v0.1.0); empty: the appVersion")
	flag.StringVar(&o.revision, "revision", "", "the commit the binaries report (`controller --version`); empty: none")
	flag.StringVar(&o.out, "out", "dist", "directory to write the artifacts into; must be absent or empty")
	archs := flag.String("arch", "amd64,arm64", "the images' architectures (GOARCH), comma-separated")
	flag.Parse()
	o.archs = strings.Split(*archs, ",")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	files, err := release(ctx, o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "release: %v\n", err)
		os.Exit(1)
	}
	for _, f := range files {
		fmt.Println(f)
	}
}
