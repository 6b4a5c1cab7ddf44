package tcpflow

import (
	"math/rand/v2"
	"testing"
)

// TestConnTableAgreesWithAMap runs random puts, gets and deletes on a
// connTable and on a Go map side by side: a small key space and a table
// kept near its load bound make long clusters that wrap around the end of
// the slots, where backward-shift deletion goes wrong if it does.
func TestConnTableAgreesWithAMap(t *testing.T) {
	for trial := range 20 {
		rng := rand.New(rand.NewPCG(uint64(trial), 7))
		tab := newConnTable()
		ref := map[connKey]*conn{}
		keys := make([]connKey, 40+trial*20)
		for i := range keys {
			k := connKey{proto: ProtoTCP}
			k.server.Addr[15], k.server.Port = 1, 2049
			k.client.Addr[14], k.client.Addr[15] = byte(i>>8), byte(i)
			k.client.Port = uint16(700 + i%3)
			keys[i] = k
		}
		for op := range 20000 {
			k := keys[rng.IntN(len(keys))]
			switch rng.IntN(3) {
			case 0:
				if ref[k] == nil {
					c := &conn{key: k}
					ref[k] = c
					tab.put(c)
				}
			case 1:
				delete(ref, k)
				tab.del(&k)
			}
			if got := tab.get(&k); got != ref[k] {
				t.Fatalf("trial %d op %d: get = %p, want %p", trial, op, got, ref[k])
			}
			if tab.len() != len(ref) {
				t.Fatalf("trial %d op %d: len = %d, want %d", trial, op, tab.len(), len(ref))
			}
		}
		seen := map[*conn]bool{}
		for c := range tab.all() {
			if ref[c.key] != c || seen[c] {
				t.Fatalf("trial %d: all() gave %v, not in the map or twice", trial, c.key)
			}
			seen[c] = true
		}
		if len(seen) != len(ref) {
			t.Fatalf("trial %d: all() gave %d connections, want %d", trial, len(seen), len(ref))
		}
		for k, c := range ref {
			if tab.get(&k) != c {
				t.Fatalf("trial %d: %v lost", trial, k)
			}
		}
	}
}

// TestConnTableHashUsesEveryField: keys that differ in one field only
// hash apart (a field left out would put every such key in one cluster).
func TestConnTableHashUsesEveryField(t *testing.T) {
	tab := newConnTable()
	base := connKey{proto: ProtoTCP}
	base.server.Port, base.client.Port = 2049, 700
	variants := []func(*connKey){
		func(k *connKey) { k.server.Addr[0] ^= 1 },
		func(k *connKey) { k.server.Addr[15] ^= 1 },
		func(k *connKey) { k.client.Addr[0] ^= 1 },
		func(k *connKey) { k.client.Addr[15] ^= 1 },
		func(k *connKey) { k.server.Port ^= 1 },
		func(k *connKey) { k.client.Port ^= 1 },
		func(k *connKey) { k.proto = ProtoUDP },
	}
	h0 := tab.hash(&base)
	for i, change := range variants {
		k := base
		change(&k)
		if tab.hash(&k) == h0 {
			t.Errorf("variant %d hashes as the base key", i)
		}
	}
}
