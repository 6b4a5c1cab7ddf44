package tcpflow

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/nfsstall/nfsstall/capture"
)

// The connection table (conntable.go) and the sweep (flow.go): counts and
// orders computed by hand from the policy stated in makeRoom, sweep and
// Limits.

// tableRun feeds SYNs and RSTs of many client ports and notes the order
// connections are released in.
type tableRun struct {
	t        *testing.T
	f        *Flows
	frame    int64
	infos    []*ConnInfo
	released []int
	opened   []string // "ID@frame"
}

func newTableRun(t *testing.T, limits Limits, rpc func(id int) bool) *tableRun {
	r := &tableRun{t: t}
	r.f = NewFlows([]uint16{serverPort}, limits, func(info *ConnInfo) ConnHandler {
		r.infos = append(r.infos, info)
		r.opened = append(r.opened, fmt.Sprintf("%d@%d", info.ID, r.frame))
		info.CarriedRPC = rpc != nil && rpc(info.ID)
		return closeRecorder{id: info.ID, closed: &r.released}
	})
	return r
}

func (r *tableRun) send(ns int64, port uint16, flags uint8, seq uint32) {
	r.frame++
	p := build(r.t, pkt{toServer: true, seq: seq, flags: flags, srcPort: port})
	r.f.Packet(&capture.Packet{Frame: r.frame, Time: ns, Data: p, LinkType: layers.LinkTypeEthernet})
}

// TestTableScanCredit: with the table full of connections that carry RPC,
// a refused connection scans the table, and the next MaxConnections/16
// are refused without a scan; once the connections have been idle
// CloseIdle, the first scan after the credit is spent releases them all
// and admits the new one.
func TestTableScanCredit(t *testing.T) {
	limits := Limits{MaxConnections: 32} // batch and scan credit 2
	r := newTableRun(t, limits, func(int) bool { return true })
	const t0 = int64(1e12)
	for i := range 32 {
		r.send(t0+int64(i)*1e3, uint16(1000+i), FlagSYN, 1)
	}
	// 7 refused: a scan, 2 on credit, a scan, 2 on credit, a scan.
	for i := range 7 {
		r.send(t0+1e6+int64(i)*1e3, uint16(2000+i), FlagSYN, 1)
	}
	if got := r.f.Stats.Skipped[SkipConnLimit]; got != 7 || r.f.Stats.TableScans != 3 {
		t.Errorf("full table: %d refused, %d scans; want 7, 3", got, r.f.Stats.TableScans)
	}
	// CloseIdle later: 2 refused on the credit, then a scan releases the
	// 32 idle connections and the third is admitted.
	idle := t0 + 2e6 + DefaultLimits.CloseIdle
	for i := range 3 {
		r.send(idle+int64(i)*1e3, uint16(3000+i), FlagSYN, 1)
	}
	st := r.f.Stats
	if st.Skipped[SkipConnLimit] != 9 || st.TableScans != 4 || st.Evicted != 32 || st.EvictedQuiet != 0 || st.Connections != 33 || r.f.conns.len() != 1 {
		t.Errorf("after CloseIdle: %d refused, %d scans, %d evicted (%d quiet), %d connections, %d tracked; want 9, 4, 32, 0, 33, 1",
			st.Skipped[SkipConnLimit], st.TableScans, st.Evicted, st.EvictedQuiet, st.Connections, r.f.conns.len())
	}
	if want := "33@42"; r.opened[32] != want {
		t.Errorf("opened %v, want the last %s", r.opened[32:], want)
	}
}

// TestTableReleaseOrder: room is made by releasing, in connection order,
// every connection that ended (those are counted as evicted when released
// before a sweep would have: at most CloseIdle after their end, CloseIdle
// included), then the quiet connections least recently active, as many as
// make a sixteenth of the table free in all.
func TestTableReleaseOrder(t *testing.T) {
	limits := Limits{MaxConnections: 160, CloseIdle: 10e9} // batch 10
	closed := []int{1, 5, 9, 33, 77, 100, 150}
	for trial := range 5 { // map order changes from run to run
		r := newTableRun(t, limits, nil)
		const t0 = int64(1e12)
		r.send(t0, 1000, FlagSYN, 1)
		r.send(t0+1, 1000, FlagRST, 2) // connection 1 ends at t0+1
		for i := 2; i <= 160; i++ {
			r.send(t0+1e6+int64(i)*1e3, uint16(1000+i), FlagSYN, 1)
		}
		for _, id := range closed[1:] {
			r.send(t0+2e6, uint16(1000+id), FlagRST, 2)
		}
		// Exactly CloseIdle after connection 1 ended: no sweep has
		// released it (a sweep releases after more than CloseIdle).
		r.send(t0+1+limits.CloseIdle, 5000, FlagSYN, 1)
		want := append(slices.Clone(closed), 2, 3, 4)
		if fmt.Sprint(r.released) != fmt.Sprint(want) {
			t.Fatalf("trial %d: released %v, want %v", trial, r.released, want)
		}
		if st := r.f.Stats; st.Evicted != 10 || st.EvictedQuiet != 3 || r.f.conns.len() != 151 {
			t.Fatalf("trial %d: %d evicted (%d quiet), %d tracked; want 10 (3), 151", trial, st.Evicted, st.EvictedQuiet, r.f.conns.len())
		}
	}
}

// TestFinishOrder: at the end of the capture the connections are closed in
// connection order.
func TestFinishOrder(t *testing.T) {
	for trial := range 10 {
		r := newTableRun(t, DefaultLimits, nil)
		for i := range 10 {
			r.send(int64(i+1)*1e6, uint16(1000+i*37), FlagSYN, 1)
		}
		r.f.Finish()
		if want := "[1 2 3 4 5 6 7 8 9 10]"; fmt.Sprint(r.released) != want {
			t.Fatalf("trial %d: closed %v, want %s", trial, r.released, want)
		}
	}
}

// TestSweepSchedule: the sweep runs at the first packet and then at the
// first packet at least one second (capture time) after the last sweep,
// and releases the connections that ended more than CloseIdle before. A
// late packet of a released connection opens a new one; before the
// release it belongs to the old one.
func TestSweepSchedule(t *testing.T) {
	limits := Limits{CloseIdle: 100e6}
	r := newTableRun(t, limits, nil)
	const t0 = int64(1e12)
	r.send(t0, 1000, FlagSYN, 1)           // 1: sweep; the next at t0+1s
	r.send(t0+10e6, 1000, FlagRST, 2)      // 2: connection 1 ends
	r.send(t0+500e6, 2000, FlagSYN, 1)     // 3: no sweep
	r.send(t0+600e6, 1000, FlagACK, 2)     // 4: late, connection 1's
	r.send(t0+1e9, 2000, FlagACK, 2)       // 5: sweep: connection 1 released
	r.send(t0+1e9+1e6, 1000, FlagACK, 2)   // 6: a new connection
	r.send(t0+1e9+500e6, 1000, FlagACK, 2) // 7
	if want := "[1@1 2@3 3@6]"; fmt.Sprint(r.opened) != want {
		t.Errorf("opened %v, want %s", r.opened, want)
	}
	if fmt.Sprint(r.released) != "[1]" || r.f.Stats.Connections != 3 {
		t.Errorf("released %v, %d connections", r.released, r.f.Stats.Connections)
	}
}

// TestClosingListCompacted: connections released before the sweep (here by
// a new SYN on their 4-tuple) leave the list of ended connections once more
// than 64 of them, and more than half the list, are released: the list
// stays within twice the ended connections not yet released, plus 64.
func TestClosingListCompacted(t *testing.T) {
	for _, tc := range []struct{ closed, released, want int }{
		{100, 64, 100}, // 64 released: not more than 64
		{100, 65, 35},
		{130, 65, 130}, // 65 of 130: not more than half
		{130, 66, 64},
	} {
		r := newTableRun(t, DefaultLimits, nil)
		const t0 = int64(1e12)
		for i := range tc.closed {
			r.send(t0+int64(i)*1e3, uint16(1000+i), FlagSYN, 1)
			r.send(t0+int64(i)*1e3+1, uint16(1000+i), FlagRST, 2)
		}
		for i := range tc.released {
			r.send(t0+1e6+int64(i)*1e3, uint16(1000+i), FlagSYN, 100)
		}
		if len(r.released) != tc.released || len(r.f.closing) != tc.want {
			t.Errorf("%d ended, %d released: %d released, list of %d, want %d", tc.closed, tc.released, len(r.released), len(r.f.closing), tc.want)
		}
	}
}
