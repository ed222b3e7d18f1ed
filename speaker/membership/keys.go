package membership

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"slices"
	"sort"
)

// Secret data keys. The Secret holds the primary key under KeyPrimary and,
// during a rotation, other keys under names starting with KeyOtherPrefix.
// Every speaker decrypts with all of them and encrypts with the primary.
const (
	KeyPrimary     = "key"
	KeyOtherPrefix = "key-"
)

// Keys is a keyring: the primary key, which encrypts, and others that are
// accepted too. Each key is 16, 24 or 32 bytes (AES-128, -192, -256).
type Keys struct {
	Primary []byte
	Others  [][]byte
}

// KeysFromSecret reads a Secret's data. Entries other than KeyPrimary and
// KeyOtherPrefix* are ignored; every key must be of a valid length.
func KeysFromSecret(data map[string][]byte) (Keys, error) {
	var k Keys
	p, ok := data[KeyPrimary]
	if !ok {
		return k, fmt.Errorf("data[%s]: missing", KeyPrimary)
	}
	if err := checkKey(p); err != nil {
		return k, fmt.Errorf("data[%s]: %w", KeyPrimary, err)
	}
	k.Primary = p
	names := make([]string, 0, len(data))
	for name := range data {
		if len(name) > len(KeyOtherPrefix) && name[:len(KeyOtherPrefix)] == KeyOtherPrefix {
			names = append(names, name)
		}
	}
	sort.Strings(names)
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

// NewKey returns a fresh random 32-byte key.
func NewKey() []byte {
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

// all returns the primary first, then the others.
func (k Keys) all() [][]byte { return append([][]byte{k.Primary}, k.Others...) }

// Equal reports whether two keyrings hold the same keys with the same
// primary.
func (k Keys) Equal(o Keys) bool {
	return bytes.Equal(k.Primary, o.Primary) && slices.EqualFunc(k.Others, o.Others, bytes.Equal)
}
