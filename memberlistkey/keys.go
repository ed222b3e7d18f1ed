package memberlistkey

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
)

// Secret data keys. The Secret holds the primary key under DataPrimary and,
// during a rotation, other keys under names starting with DataOtherPrefix.
// Every speaker decrypts with all of them and encrypts with the primary.
const (
	DataPrimary     = "key"
	DataOtherPrefix = "key-"
)

// Keys is a keyring: the primary key, which encrypts, and others that are
// accepted too. Each key is 16, 24 or 32 bytes (AES-128, -192, -256).
type Keys struct {
	Primary []byte
	Others  [][]byte
}

// FromSecret reads a Secret's data. Entries other than DataPrimary and
// DataOtherPrefix* are ignored; every key must be of a valid length.
func FromSecret(data map[string][]byte) (Keys, error) {
	var k Keys
	p, ok := data[DataPrimary]
	if !ok {
		return k, fmt.Errorf("data[%s]: missing", DataPrimary)
	}
	if err := checkKey(p); err != nil {
		return k, fmt.Errorf("data[%s]: %w", DataPrimary, err)
	}
	k.Primary = p
	names := make([]string, 0, len(data))
	for name := range data {
		if len(name) > len(DataOtherPrefix) && strings.HasPrefix(name, DataOtherPrefix) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		if err := checkKey(data[name]); err != nil {
			return Keys{}, fmt.Errorf("data[%s]: %w", name, err)
		}
		if !bytes.Equal(data[name], p) {
			k.Others = append(k.Others, data[name])
		}
	}
	return k, nil
}

// New returns a fresh random 32-byte key.
func New() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // crypto/rand.Read never fails (Go ≥ 1.24)
	return k
}

func checkKey(k []byte) error {
	switch len(k) {
	case 16, 24, 32:
		return nil
	}
	return fmt.Errorf("a key is 16, 24 or 32 bytes, not %d", len(k))
}

// All returns the primary first, then the others.
func (k Keys) All() [][]byte { return append([][]byte{k.Primary}, k.Others...) }

// Equal reports whether two keyrings hold the same keys with the same
// primary.
func (k Keys) Equal(o Keys) bool {
	return bytes.Equal(k.Primary, o.Primary) && slices.EqualFunc(k.Others, o.Others, bytes.Equal)
}
