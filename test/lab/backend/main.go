package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", ":18080", "address to listen on (both families when the host is empty)")
	nodeAddrs := flag.String("node-addrs", "", "the other nodes' addresses, name=address,… (a name may repeat): a connection from one of them was forwarded by that node")
	flag.Parse()
	node := os.Getenv("NODE_NAME")
	if node == "" {
		fmt.Fprintln(os.Stderr, "backend: NODE_NAME is not set")
		os.Exit(2)
	}
	peers, err := parseNodeAddrs(*nodeAddrs)
	if err != nil {
		fmt.Fprintf(os.Stderr, "backend: --node-addrs: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := serve(ctx, *listen, node, peers); err != nil {
		fmt.Fprintf(os.Stderr, "backend: %v\n", err)
		os.Exit(1)
	}
}

// parseNodeAddrs reads "n1=198.18.0.2,n1=2001:db8::2,…".
func parseNodeAddrs(s string) (map[netip.Addr]string, error) {
	out := map[netip.Addr]string{}
	if s == "" {
		return out, nil
	}
	for _, pair := range strings.Split(s, ",") {
		name, addr, ok := strings.Cut(pair, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("%q is not name=address", pair)
		}
		ip, err := netip.ParseAddr(addr)
		if err != nil {
			return nil, err
		}
		out[ip] = name
	}
	return out, nil
}

// entryNode is the node that took the traffic of a connection from
// remote ("host:port").
func entryNode(remote, self string, peers map[netip.Addr]string) string {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return self
	}
	if name, ok := peers[ap.Addr().Unmap()]; ok {
		return name
	}
	return self
}

func serve(ctx context.Context, listen, node string, peers map[netip.Addr]string) error {
	srv := &http.Server{
		Addr: listen,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprintln(w, entryNode(r.RemoteAddr, node, peers))
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	fmt.Fprintf(os.Stderr, "backend: node %s listening on %s\n", node, listen)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
