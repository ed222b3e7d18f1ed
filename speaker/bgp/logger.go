package bgp

import (
	"fmt"
	"slices"

	"github.com/go-logr/logr"
	"github.com/osrg/gobgp/v3/pkg/log"
)

// gobgpLogger adapts GoBGP's logger to logr, and picks out of GoBGP's
// messages the reasons sessions fail, which GoBGP reports nowhere else: a
// failed connection attempt is only logged (at debug level), and so is the
// reason a session went down.
type gobgpLogger struct {
	log      logr.Logger
	sessions *sessionTracker
}

// GetLevel answers Debug so that GoBGP logs failed connection attempts; the
// debug messages themselves are not passed on.
func (l *gobgpLogger) GetLevel() log.LogLevel         { return log.DebugLevel }
func (l *gobgpLogger) SetLevel(log.LogLevel)          {}
func (l *gobgpLogger) Panic(msg string, f log.Fields) { l.log.Error(nil, msg, kv(f)...); panic(msg) }
func (l *gobgpLogger) Fatal(msg string, f log.Fields) { l.log.Error(nil, msg, kv(f)...); panic(msg) }
func (l *gobgpLogger) Error(msg string, f log.Fields) {
	l.record(msg, f)
	l.log.Error(nil, msg, kv(f)...)
}
func (l *gobgpLogger) Warn(msg string, f log.Fields) { l.record(msg, f); l.log.Info(msg, kv(f)...) }
func (l *gobgpLogger) Info(msg string, f log.Fields) {
	l.record(msg, f)
	l.log.V(1).Info(msg, kv(f)...)
}
func (l *gobgpLogger) Debug(msg string, f log.Fields) { l.record(msg, f) }

// record passes a peer's error or down reason to the session tracker.
func (l *gobgpLogger) record(msg string, f log.Fields) {
	if f["Topic"] != "Peer" {
		return
	}
	key, _ := f["Key"].(string)
	// A notification GoBGP sends (a Bad Peer AS, say) carries its reason
	// as Data.
	if v, ok := f["Data"]; ok && v != nil && msg == "sent notification" {
		l.sessions.peerError(key, fmt.Sprintf("%s: %v", msg, v))
		return
	}
	for _, field := range []string{"Error", "Err", "Reason"} {
		if v, ok := f[field]; ok && v != nil {
			l.sessions.peerError(key, fmt.Sprintf("%s: %v", msg, v))
			return
		}
	}
}

// kv turns GoBGP's fields into sorted logr key-value pairs with lower-case
// keys.
func kv(f log.Fields) []any {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		out = append(out, lower(k), f[k])
	}
	return out
}

func lower(s string) string {
	b := []byte(s)
	if len(b) > 0 && b[0] >= 'A' && b[0] <= 'Z' {
		b[0] += 'a' - 'A'
	}
	return string(b)
}
