//go:build !linux

package layer2

import "errors"

// ReadLinks is implemented on Linux only.
func ReadLinks() ([]Link, error) {
	return nil, errors.New("reading links is implemented on Linux only")
}
