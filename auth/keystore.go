package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"github.com/careerpath/llmgateway/config"
)

// KeyStore finds the client an API key belongs to. It holds only the
// SHA-256 hashes of the keys, never a key itself, and is immutable: a new
// clients.json builds a new KeyStore (see [WithStoreFunc] for hot reload).
//
// # Why the map lookup is safe
//
// Comparing a presented key with a stored secret byte by byte leaks, in
// the time it takes, how long a prefix matched, and lets an attacker guess
// a key one byte at a time. KeyStore never compares keys: it hashes the
// presented key with SHA-256 and looks the hash up in a map keyed by the
// stored hashes. The timing of that lookup can depend on the presented
// key's hash, but the attacker cannot steer the hash (SHA-256 is preimage
// resistant), so learning that a hash is "close" to a stored one tells
// them nothing about any key; and the stored hashes of 256-bit random
// keys are no help in finding the keys either. The entry found is then
// confirmed with [subtle.ConstantTimeCompare], so that the decision never
// rests on a variable-time comparison.
type KeyStore struct {
	disabled bool
	byHash   map[[sha256.Size]byte]*entry
}

// entry is one client and the hash of its key.
type entry struct {
	hash   [sha256.Size]byte
	client *Client
}

// NewKeyStore builds a KeyStore from a validated clients.json. A
// configuration with auth.disabled builds a disabled store (see
// [KeyStore.Disabled]); nil is an error, so that a missing file never
// turns authentication off by accident: use [DisabledKeyStore] for that.
func NewKeyStore(c *config.Clients) (*KeyStore, error) {
	if c == nil {
		return nil, errors.New("auth: no clients configuration")
	}
	ks := &KeyStore{disabled: c.Auth.Disabled, byHash: make(map[[sha256.Size]byte]*entry, len(c.Clients))}
	names := map[string]bool{}
	for i, cl := range c.Clients {
		var h [sha256.Size]byte
		if n, err := hex.Decode(h[:], []byte(cl.KeySHA256)); err != nil || n != sha256.Size {
			// Never quote the value: it may be a plaintext key.
			return nil, fmt.Errorf("auth: %s: $.clients[%d].key_sha256 is not a SHA-256 in hex", config.ClientsFile, i)
		}
		if _, dup := ks.byHash[h]; dup {
			return nil, fmt.Errorf("auth: %s: $.clients[%d].key_sha256: same key as another client", config.ClientsFile, i)
		}
		if names[cl.Name] {
			return nil, fmt.Errorf("auth: %s: $.clients[%d].name: duplicate client name %q", config.ClientsFile, i, cl.Name)
		}
		names[cl.Name] = true
		group := cl.QuotaGroup
		if group == "" {
			group = cl.Name
		}
		ks.byHash[h] = &entry{hash: h, client: &Client{
			Name:               cl.Name,
			QuotaGroup:         group,
			Routes:             slices.Clone(cl.Routes),
			AllowModelOverride: cl.AllowModelOverride,
			AllowForcedVariant: cl.AllowForcedVariant,
			AllowAllUsage:      cl.AllowAllUsage,
		}}
	}
	return ks, nil
}

// DisabledKeyStore returns a store with authentication disabled: every
// caller is let in as the [Anonymous] client.
func DisabledKeyStore() *KeyStore {
	return &KeyStore{disabled: true}
}

// Disabled reports whether authentication is disabled, so that every
// caller is let in as the [Anonymous] client, whatever key it sends.
func (ks *KeyStore) Disabled() bool { return ks.disabled }

// Len is the number of clients in the store.
func (ks *KeyStore) Len() int { return len(ks.byHash) }

// Lookup returns the client whose key is key. An empty key matches no
// client. Lookup does not consult [KeyStore.Disabled].
func (ks *KeyStore) Lookup(key string) (*Client, bool) {
	if key == "" {
		return nil, false
	}
	h := sha256.Sum256([]byte(key))
	e, ok := ks.byHash[h]
	if !ok || subtle.ConstantTimeCompare(h[:], e.hash[:]) != 1 {
		return nil, false
	}
	return e.client, true
}

// String describes the store without its hashes, so that printing it
// leaks nothing.
func (ks *KeyStore) String() string {
	if ks.disabled {
		return "auth.KeyStore{disabled}"
	}
	return fmt.Sprintf("auth.KeyStore{%d clients}", len(ks.byHash))
}
