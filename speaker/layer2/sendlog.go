package layer2

import (
	"net/netip"
	"sync/atomic"
)

// sendLog reports a link's failures to send: the first failure after a
// success is logged as an error, with what failed; further failures are
// only counted (Counters.SendFailures, the speaker's
// pylon_speaker_layer2_packets_total{kind="send_failed"}) until a send
// works again, which is logged once. A broken interface would otherwise
// log an error for every ARP request it cannot answer.
type sendLog struct {
	failing atomic.Bool
}

// result records one send of what (a constant, e.g. "ARP reply") for ip
// on l: err nil is a success. c counts the failure.
func (s *sendLog) result(l *link, c *counters, what string, ip netip.Addr, err error) {
	if err == nil {
		if s.failing.Swap(false) {
			l.a.log.Info("sending works again", "interface", l.name, "packet", what, "ip", ip)
		}
		return
	}
	c.sendFailures.Add(1)
	if !s.failing.Swap(true) {
		l.a.log.Error(err, "sending failed; further failures are counted, not logged, until a send works", "interface", l.name, "packet", what, "ip", ip)
	}
}
