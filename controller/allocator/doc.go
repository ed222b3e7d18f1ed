// Package allocator is the controller's pure IP assignment state: which
// Service holds which external IP, and which address a Service gets next.
//
// An Allocator is built from the validated pools of package config
// (SetPools), refilled from every Service's status when the controller
// starts (Restore), then asked for specific addresses (Assign) or for the
// next free one (Allocate), and told when a Service lets go (Release,
// ReleaseIP). It never takes an address from a Service that holds it: pool
// edits, restarts and other Services' churn leave holds where they are.
//
// Some addresses are never handed out, whatever the pools say: config's
// fixed SpecialRanges (loopback, link-local, multicast, …) and the blocks
// the controller gives with SetUnsafe (Node addresses, pod and Service
// CIDRs). Allocate skips them, jumping over a whole block in one step;
// Assign refuses them (ErrUnsafe, naming the block and why); a Service that
// held one before it became unsafe keeps it (Restore, Allocate and Assign of
// what it holds), and Counts leaves them out of Available.
//
// The choice is deterministic: pools are tried in the order given (config
// sorts them by priority, then name), and within a pool the lowest free
// address wins. A Service with a sharing key first joins the lowest address
// already held under that key by Services it may share with: same key, no
// (protocol, port) in common and, when any of them has
// externalTrafficPolicy Local, all Local with equal pod selectors. A key is
// private to its namespace unless the address's pool allows sharing across
// namespaces; like the other pool rules, that is checked when a Service
// joins an address, not again for holds already in place.
//
// Holds remember each Service's sharing data as last accepted. Recheck,
// which the controller calls on every pass, checks a Service as it is now
// against the others' remembered data, so when a co-holder changes so that
// it clashes, the one that changed is refused and the others keep the
// address, in whatever order they are rechecked.
//
// Cost per operation does not grow with pool size, and memory grows with
// the addresses held, never with the size of a pool. Each range keeps a
// high-water mark below which every address has been handed out at some
// point, and a min-heap of the addresses released below it; the heap is
// bounded by the most addresses the range has held at once, and dropped when
// the range empties. A /64 or /48 is never enumerated; sizes are counted with
// math/big. Joining a shared address looks only at the addresses held under
// the Service's sharing key, and SetPools costs O(held addresses × ranges).
//
// The package imports config, Kubernetes' apimachinery labels and the
// standard library only. It must not import a Kubernetes client,
// controller-runtime or Prometheus, and keeps no clock, goroutines or
// globals: the controller owns the locking, the events and the metrics.
package allocator
