package config

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// BFD defaults and limits (BGPPeer.spec.bfd).
const (
	DefaultBFDInterval   = 300 * time.Millisecond
	DefaultBFDMultiplier = 3
	minBFDInterval       = 10 * time.Millisecond
	maxBFDInterval       = 60 * time.Second
)

// parseBFD validates a BFD profile, filling in the defaults.
func parseBFD(in *v1alpha1.BFDProfile, path *field.Path) (*BFD, field.ErrorList) {
	var errs field.ErrorList
	out := &BFD{ReceiveInterval: DefaultBFDInterval, TransmitInterval: DefaultBFDInterval, DetectMultiplier: DefaultBFDMultiplier,
		Passive: in.PassiveMode != nil && *in.PassiveMode}
	interval := func(name string, d *metav1.Duration, to *time.Duration) {
		if d == nil {
			return
		}
		*to = d.Duration
		if d.Duration < minBFDInterval || d.Duration > maxBFDInterval {
			errs = append(errs, field.Invalid(path.Child(name), d.Duration.String(), "must be between 10ms and 60s"))
		}
	}
	interval("receiveInterval", in.ReceiveInterval, &out.ReceiveInterval)
	interval("transmitInterval", in.TransmitInterval, &out.TransmitInterval)
	if m := in.DetectMultiplier; m != nil {
		if *m < 2 || *m > 255 {
			errs = append(errs, field.Invalid(path.Child("detectMultiplier"), *m, "must be between 2 and 255"))
		} else {
			out.DetectMultiplier = uint8(*m)
		}
	}
	if in.EchoMode != nil && *in.EchoMode {
		errs = append(errs, field.Invalid(path.Child("echoMode"), true, "echo mode is not implemented: pylon's BFD runs in asynchronous mode with control packets only; set echoMode to false or leave it out"))
	}
	return out, errs
}
