// Command pause is the pod sandbox's first process in the lab's node stack,
// as Kubernetes' pause image is: it holds the pod's namespaces open, reaps
// the zombies reparented to it (it is PID 1 of a pod sharing its PID
// namespace), and exits 0 on SIGTERM or SIGINT. It imports only the standard
// library; test/images builds it into the pause image.
package main
