package tcpflow

import (
	"encoding/binary"
	"iter"
	"math/bits"
	"math/rand/v2"
)

// connTable maps connection keys to connections, looked up for every
// packet. It is an open-addressed table (linear probing, deletion by
// backward shift) whose slots hold a key's hash beside its connection,
// not a Go map: the map hashed the 38-byte key and compared it in a slot
// of its own, a cache line that the packet touched for nothing else, and
// on a capture of 10,000 connections its lookups were a tenth of the
// time. Here a probe reads a slot, and a hit compares the key in the
// connection, whose first line the packet reads anyway. The hash is
// seeded per table at random, so a capture cannot be made to collide.
type connTable struct {
	slots []connSlot // a power of two of them, or none
	n     int
	seed  [3]uint64
}

type connSlot struct {
	h uint64
	c *conn // nil: empty
}

func newConnTable() connTable {
	return connTable{seed: [3]uint64{rand.Uint64(), rand.Uint64(), rand.Uint64()}}
}

// mix folds the 128-bit product of a and b to 64 bits (as wyhash does).
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func (t *connTable) hash(k *connKey) uint64 {
	le := binary.LittleEndian
	ports := uint64(k.server.Port)<<24 | uint64(k.client.Port)<<8 | uint64(k.proto)
	h := mix(le.Uint64(k.server.Addr[:8])^t.seed[0], le.Uint64(k.server.Addr[8:])^0x9e3779b97f4a7c15)
	h = mix(h^le.Uint64(k.client.Addr[:8])^t.seed[1], le.Uint64(k.client.Addr[8:])^0xc2b2ae3d27d4eb4f)
	return mix(h^ports^t.seed[2], 0x165667b19e3779f9)
}

// len returns the connections in the table.
func (t *connTable) len() int { return t.n }

// get returns the connection of k, or nil.
func (t *connTable) get(k *connKey) *conn {
	if i := t.find(k); i >= 0 {
		return t.slots[i].c
	}
	return nil
}

// find returns the slot holding k's connection, or -1.
func (t *connTable) find(k *connKey) int {
	if t.n == 0 {
		return -1
	}
	h := t.hash(k)
	mask := len(t.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.c == nil {
			return -1
		}
		if s.h == h && s.c.key == *k {
			return i
		}
	}
}

// put adds c under its key, which is not in the table.
func (t *connTable) put(c *conn) {
	if 4*(t.n+1) > 3*len(t.slots) {
		t.grow()
	}
	t.insert(t.hash(&c.key), c)
	t.n++
}

func (t *connTable) insert(h uint64, c *conn) {
	mask := len(t.slots) - 1
	i := int(h) & mask
	for t.slots[i].c != nil {
		i = (i + 1) & mask
	}
	t.slots[i] = connSlot{h, c}
}

func (t *connTable) grow() {
	old := t.slots
	t.slots = make([]connSlot, max(64, 2*len(old)))
	for _, s := range old {
		if s.c != nil {
			t.insert(s.h, s.c)
		}
	}
}

// del removes k's connection, if there is one.
func (t *connTable) del(k *connKey) {
	i := t.find(k)
	if i < 0 {
		return
	}
	mask := len(t.slots) - 1
	// Shift back the entries after the hole that probing would no longer
	// reach: each whose home slot is not cyclically in (i, j].
	for j := (i + 1) & mask; t.slots[j].c != nil; j = (j + 1) & mask {
		home := int(t.slots[j].h) & mask
		if (j-home)&mask >= (j-i)&mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = connSlot{}
	t.n--
}

// all returns every connection of the table, in no particular order. The
// table must not change while the sequence is read.
func (t *connTable) all() iter.Seq[*conn] {
	return func(yield func(*conn) bool) {
		for _, s := range t.slots {
			if s.c != nil && !yield(s.c) {
				return
			}
		}
	}
}
