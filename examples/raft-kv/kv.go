package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"sync"
)

// kvStore is the replicated state machine: a map from key to value.
type kvStore struct {
	mu   sync.RWMutex
	data map[string]string
	// applied is the index of the last entry applied (under mu, so that a
	// hash and its index always go together)
	applied uint64
}

func newKVStore() *kvStore { return &kvStore{data: map[string]string{}} }

func (s *kvStore) get(key string) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.data[key]
	return v, ok
}

func (s *kvStore) set(index uint64, key, value string) {
	s.mu.Lock()
	s.data[key] = value
	s.applied = index
	s.mu.Unlock()
}

// advance records an applied entry that changes no key.
func (s *kvStore) advance(index uint64) {
	s.mu.Lock()
	s.applied = index
	s.mu.Unlock()
}

func (s *kvStore) appliedIndex() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.applied
}

// hash is a SHA-256 of the sorted key/value pairs (hex, 16 digits): equal on
// two nodes when their states are equal.
func (s *kvStore) hash() (hash string, keys int, applied uint64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sorted := make([]string, 0, len(s.data))
	for k := range s.data {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	h := sha256.New()
	var n [4]byte
	for _, k := range sorted {
		for _, part := range []string{k, s.data[k]} {
			binary.BigEndian.PutUint32(n[:], uint32(len(part)))
			h.Write(n[:])
			h.Write([]byte(part))
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], len(sorted), s.applied
}

func (s *kvStore) snapshot() ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return json.Marshal(s.data)
}

func (s *kvStore) restore(data []byte, index uint64) error {
	m := map[string]string{}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &m); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.data = m
	s.applied = index
	s.mu.Unlock()
	return nil
}

// A put as a raft entry: [request id u64][key length u32][key][value]. The
// request id lets the node that proposed it answer its client when it applies.
func encodePut(id uint64, key, value string) []byte {
	b := make([]byte, 12+len(key)+len(value))
	binary.BigEndian.PutUint64(b, id)
	binary.BigEndian.PutUint32(b[8:], uint32(len(key)))
	copy(b[12:], key)
	copy(b[12+len(key):], value)
	return b
}

func decodePut(b []byte) (id uint64, key, value string, err error) {
	if len(b) < 12 {
		return 0, "", "", errors.New("put entry shorter than its header")
	}
	id = binary.BigEndian.Uint64(b)
	n := binary.BigEndian.Uint32(b[8:])
	if uint64(len(b)-12) < uint64(n) {
		return 0, "", "", errors.New("put entry shorter than its key")
	}
	return id, string(b[12 : 12+n]), string(b[12+n:]), nil
}
