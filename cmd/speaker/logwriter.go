package main

import (
	"bytes"

	"github.com/go-logr/logr"
)

// logWriter turns memberlist's log lines into structured log entries:
// "[ERR]" and "[WARN]" lines at the default level, the rest at V(1).
type logWriter struct{ log logr.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	line := string(bytes.TrimSpace(p))
	switch {
	case bytes.Contains(p, []byte("[ERR]")), bytes.Contains(p, []byte("[WARN]")):
		w.log.Info(line)
	default:
		w.log.V(1).Info(line)
	}
	return len(p), nil
}
