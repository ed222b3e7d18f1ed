package bfd

import "time"

// slowTx is the least Desired Min TX Interval while a session is not Up
// (RFC 5880 §6.8.3).
const slowTx = time.Second

// transition is one state change of a machine, for Change.
type transition struct {
	from, to    State
	diag        diag
	remoteState State
	at          time.Time
}

// machine is the state of one session (the variables of RFC 5880 §6.8.1)
// and its rules: pure, driven with explicit times by receive (a packet that
// passed parse and was demultiplexed to this session), advance (timers) and
// configure. It sends nothing itself: advance returns the packets due.
type machine struct {
	// configuration
	passive      bool
	multiplier   uint8
	minTx, minRx time.Duration

	state, remoteState    State
	localDiag, remoteDiag diag
	localDiscr            uint32
	remoteDiscr           uint32
	remoteDemand          bool
	since                 time.Time

	// desiredTx and requiredRx are what the packets advertise
	// (bfd.DesiredMinTxInterval, bfd.RequiredMinRxInterval); effTx and
	// effRx are the values in force, which differ from them while a Poll
	// Sequence is running (§6.8.3).
	desiredTx, requiredRx time.Duration
	effTx, effRx          time.Duration
	// From the remote's last packet.
	remoteMinRx, remoteDesiredTx time.Duration
	remoteMult                   uint8

	polling bool // a Poll Sequence is running: periodic packets carry P
	final   bool // a packet with F is owed (the remote polled)
	urgent  bool // send at once (state or timer change)

	nextTx   time.Time // next periodic packet; zero: none scheduled
	detectAt time.Time // Detection Time expiry; zero: not armed

	jitter  func() float64 // uniform in [0, 1)
	changes []transition

	received, sent uint64
}

// newMachine returns a session in state Down. An active session sends its
// first packet at once.
func newMachine(c Config, discr uint32, now time.Time, jitter func() float64) *machine {
	m := &machine{
		passive: c.Passive, multiplier: c.Multiplier, minTx: c.MinTx, minRx: c.MinRx,
		state: Down, remoteState: Down, localDiscr: discr, since: now,
		remoteMinRx: time.Microsecond, // §6.8.1: initialised to 1
		jitter:      jitter,
	}
	m.desiredTx, m.requiredRx = m.wantTx(), m.minRx
	m.effTx, m.effRx = m.desiredTx, m.requiredRx
	if !m.passive {
		m.nextTx = now
	}
	return m
}

// wantTx is the Desired Min TX Interval for the current state: the
// configured one when Up, at least a second otherwise (§6.8.3).
func (m *machine) wantTx() time.Duration {
	if m.state == Up {
		return m.minTx
	}
	return max(m.minTx, slowTx)
}

// configure takes new timers, multiplier or role. Changed intervals are
// advertised with a Poll Sequence when Up, so the session does not flap.
func (m *machine) configure(c Config, now time.Time) {
	m.multiplier, m.minTx, m.minRx = c.Multiplier, c.MinTx, c.MinRx
	if m.passive && !c.Passive && m.nextTx.IsZero() {
		m.nextTx = now
	}
	m.passive = c.Passive
	m.advertise(m.wantTx(), m.minRx, now)
}

// advertise changes bfd.DesiredMinTxInterval and bfd.RequiredMinRxInterval.
// When Up, it starts a Poll Sequence, and until the Final arrives an
// increased TX interval is not used yet and a reduced RX interval not yet
// counted in the Detection Time (§6.8.3).
func (m *machine) advertise(tx, rx time.Duration, now time.Time) {
	if tx == m.desiredTx && rx == m.requiredRx {
		return
	}
	m.desiredTx, m.requiredRx = tx, rx
	if m.state == Up {
		m.effTx, m.effRx = min(m.effTx, tx), max(m.effRx, rx)
		m.polling, m.urgent = true, true
	} else {
		m.effTx, m.effRx = tx, rx
	}
	m.reschedule(now)
}

// detectTime is the Detection Time in asynchronous mode (§6.8.4); 0 until
// the remote's first packet.
func (m *machine) detectTime() time.Duration {
	return time.Duration(m.remoteMult) * max(m.effRx, m.remoteDesiredTx)
}

// txInterval is the negotiated transmit interval before jitter (§6.8.7).
func (m *machine) txInterval() time.Duration { return max(m.effTx, m.remoteMinRx) }

// mayTransmit says whether periodic packets are sent now (§6.8.7).
func (m *machine) mayTransmit() bool {
	switch {
	case m.state == AdminDown:
		return false
	case m.passive && m.remoteDiscr == 0: // §6.1, §6.8.7
		return false
	case m.remoteMinRx == 0: // the remote asks for no packets
		return false
	case m.remoteDemand && m.state == Up && m.remoteState == Up: // §6.6
		return false
	}
	return true
}

// jittered is the time to the next periodic packet: 75–100 % of the
// interval, 75–90 % with a multiplier of 1 (§6.8.7).
func (m *machine) jittered(iv time.Duration) time.Duration {
	spread := 0.25
	if m.multiplier == 1 {
		spread = 0.15
	}
	return time.Duration(float64(iv) * (0.75 + spread*m.jitter()))
}

// reschedule brings the next periodic packet forward when the interval
// became shorter than the time left, or schedules one if none is.
func (m *machine) reschedule(now time.Time) {
	iv := m.txInterval()
	if m.nextTx.IsZero() || m.nextTx.After(now.Add(iv)) {
		m.nextTx = now.Add(m.jittered(iv))
	}
}

// to changes state, with the diagnostic of the change.
func (m *machine) to(s State, d diag, now time.Time) {
	m.changes = append(m.changes, transition{from: m.state, to: s, diag: d, remoteState: m.remoteState, at: now})
	m.state, m.localDiag, m.since, m.urgent = s, d, now, true
	if s != Up {
		// Nothing to protect while not Up: values apply at once.
		m.polling = false
		m.effTx, m.effRx = m.desiredTx, m.requiredRx
	}
	m.advertise(m.wantTx(), m.minRx, now)
}

// receive applies a packet of this session's remote (RFC 5880 §6.8.6, from
// "Set bfd.RemoteDiscr" on; the checks before are parse's and the
// demultiplexer's).
func (m *machine) receive(p packet, now time.Time) {
	m.received++
	m.remoteDiscr = p.MyDiscr
	m.remoteState = p.State
	m.remoteDiag = p.Diag
	m.remoteDemand = p.Demand
	m.remoteMinRx = fromMicros(p.RequiredMinRx)
	m.remoteDesiredTx = fromMicros(p.DesiredMinTx)
	m.remoteMult = p.DetectMult
	if p.Final && m.polling {
		m.polling = false
		m.effTx, m.effRx = m.desiredTx, m.requiredRx
	}
	if m.state == AdminDown {
		return
	}
	m.detectAt = now.Add(m.detectTime())
	if p.State == AdminDown {
		if m.state != Down {
			m.to(Down, diagNeighborDown, now)
		}
	} else {
		switch m.state {
		case Down:
			switch p.State {
			case Down:
				m.to(Init, diagNone, now)
			case Init:
				m.to(Up, diagNone, now)
			}
		case Init:
			if p.State == Init || p.State == Up {
				m.to(Up, diagNone, now)
			}
		case Up:
			if p.State == Down {
				m.to(Down, diagNeighborDown, now)
			}
		}
	}
	if p.Poll {
		m.final = true
	}
	m.reschedule(now)
}

// advance runs the timers up to now: the Detection Time, then the packets
// due. It returns them and when advance wants to run next (zero: only
// after a packet or a configuration change).
func (m *machine) advance(now time.Time) ([]packet, time.Time) {
	if !m.detectAt.IsZero() && !now.Before(m.detectAt) {
		m.detectAt = time.Time{}
		if m.state == Init || m.state == Up {
			m.to(Down, diagDetectionExpired, now)
		}
		// §6.8.1: the remote's variables go back to their initial values.
		m.remoteDiscr, m.remoteState, m.remoteDemand = 0, Down, false
		m.remoteMinRx, m.remoteDesiredTx, m.remoteMult = time.Microsecond, 0, 0
		m.reschedule(now)
	}
	var out []packet
	due := m.mayTransmit() && (m.urgent || !now.Before(m.nextTx))
	if m.final && m.state != AdminDown {
		// The Final answer is sent at once, whatever the timer (§6.8.7);
		// it carries the current state, so it also stands for a periodic
		// packet due now, unless that one has to carry P (never both).
		out = append(out, m.packet(false, true))
		m.final = false
		if due && !m.polling {
			due = false
			m.nextTx = now.Add(m.jittered(m.txInterval()))
		}
	}
	if due {
		out = append(out, m.packet(m.polling, false))
		m.nextTx = now.Add(m.jittered(m.txInterval()))
	}
	m.urgent = false
	next := m.detectAt
	if m.mayTransmit() && (next.IsZero() || m.nextTx.Before(next)) {
		next = m.nextTx
	}
	return out, next
}

// adminDown puts the session in AdminDown (diag 7) and returns the packet
// telling the remote, or false when the Passive role forbids sending.
func (m *machine) adminDown(now time.Time) (packet, bool) {
	if m.state != AdminDown {
		m.to(AdminDown, diagAdminDown, now)
	}
	if m.passive && m.remoteDiscr == 0 {
		return packet{}, false
	}
	return m.packet(false, false), true
}

// packet builds the next Control packet of this session.
func (m *machine) packet(poll, final bool) packet {
	m.sent++
	return packet{
		Diag: m.localDiag, State: m.state, Poll: poll, Final: final,
		DetectMult: m.multiplier, MyDiscr: m.localDiscr, YourDiscr: m.remoteDiscr,
		DesiredMinTx: micros(m.desiredTx), RequiredMinRx: micros(m.requiredRx),
	}
}

// takeChanges returns the transitions since the last call.
func (m *machine) takeChanges() []transition {
	c := m.changes
	m.changes = nil
	return c
}
