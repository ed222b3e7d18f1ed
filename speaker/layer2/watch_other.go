//go:build !linux

package layer2

import (
	"context"
	"errors"
)

// WatchLinks is implemented on Linux only.
func WatchLinks(context.Context, WatchOptions) (<-chan struct{}, error) {
	return nil, errors.New("watching links is implemented on Linux only")
}
