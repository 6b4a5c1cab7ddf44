package tcpflow

// The connection table: opening a connection, releasing it (when it ended,
// was idle too long, or the full table needs room), and the end of the
// capture.

import "slices"

// makeRoom frees places in the full connection table and reports whether
// it did. It releases the connections that ended or have been idle for
// CloseIdle, and then, until a sixteenth of the table is free, those that
// never carried RPC, the least recently active first: a flood of
// connections that carry nothing (SYNs, port scans) cannot hide one that
// does. A scan costs the table's size, so it frees a sixteenth of the
// table when it can, and after a scan that frees less the next waits for
// MaxConnections/16 refused connections: a flood of new connections costs
// a constant per packet.
func (f *Flows) makeRoom(at FrameRef) bool {
	if f.scanCredit > 0 {
		f.scanCredit--
		return false
	}
	f.Stats.TableScans++
	batch := max(1, f.limits.MaxConnections/16)
	var idle, quiet []*conn
	for c := range f.conns.all() {
		switch {
		case c.closed || f.lastTime-c.last >= f.limits.CloseIdle:
			idle = append(idle, c)
		case !c.info.CarriedRPC:
			quiet = append(quiet, c)
		}
	}
	// Release in connection order so the output does not depend on map order.
	slices.SortFunc(idle, func(a, b *conn) int { return a.info.ID - b.info.ID })
	for _, c := range idle {
		if !c.closed || f.lastTime-c.last <= f.limits.CloseIdle {
			f.Stats.Evicted++ // released before sweep would have
		}
		f.release(c.key, c, at)
	}
	if n := min(batch-len(idle), len(quiet)); n > 0 {
		leastRecent(quiet, n)
		for _, c := range quiet[:n] {
			f.Stats.Evicted++
			f.Stats.EvictedQuiet++
			f.release(c.key, c, at)
		}
	}
	if f.conns.len() <= f.limits.MaxConnections-batch {
		return true
	}
	f.scanCredit = f.limits.MaxConnections / 16
	return f.conns.len() < f.limits.MaxConnections
}

// leastRecent puts the n least recently active connections of cs first,
// in that order (then by ID): a selection, then a sort of those n only,
// so a scan costs about the table's size, not its size times its log.
func leastRecent(cs []*conn, n int) {
	before := func(a, b *conn) bool { return a.last < b.last || a.last == b.last && a.info.ID < b.info.ID }
	lo, hi := 0, len(cs)
	for hi-lo > 1 {
		// Partition cs[lo:hi] around its middle element (Lomuto).
		m := lo + (hi-lo)/2
		cs[m], cs[hi-1] = cs[hi-1], cs[m]
		pivot, i := cs[hi-1], lo
		for j := lo; j < hi-1; j++ {
			if before(cs[j], pivot) {
				cs[i], cs[j] = cs[j], cs[i]
				i++
			}
		}
		cs[i], cs[hi-1] = cs[hi-1], cs[i]
		switch {
		case i == n || i == n-1:
			lo = hi // cs[:n] holds the n least
		case i < n:
			lo = i + 1
		default:
			hi = i
		}
	}
	slices.SortFunc(cs[:n], func(a, b *conn) int {
		if before(a, b) {
			return -1
		}
		return 1
	})
}

func (f *Flows) open(key connKey, s *Segment, dir Dir, at FrameRef) *conn {
	f.nextID++
	f.Stats.Connections++
	c := &conn{key: key, info: ConnInfo{ID: f.nextID, Proto: s.Proto, Client: key.client, Server: key.server, First: at}}
	c.info.SawSYN = s.Proto == ProtoTCP && s.Flags&FlagSYN != 0
	c.halves[ToServer].dir = ToServer
	c.halves[ToClient].dir = ToClient
	c.tcp[ToServer].winScale, c.tcp[ToClient].winScale = scaleUnknown, scaleUnknown
	c.ev = &f.ev
	c.trk[ToServer].ev, c.trk[ToClient].ev = c.ev, c.ev
	c.h = f.newConn(&c.info)
	f.conns.put(c)
	return c
}

// sweep releases connections that ended and have been quiet for CloseIdle.
// It runs about once a second of capture time and looks only at the
// connections that ended, so its cost does not grow with the packet rate
// or the open connections. Its clock is the latest time seen, which never
// goes back: a connection stays on the list for at most CloseIdle seconds
// of sweeps after its last packet, even when timestamps jump around.
func (f *Flows) sweep(at FrameRef) {
	f.sweepAt = f.lastTime + 1e9
	f.frags.advance(f.lastTime) // IP datagrams left incomplete too long
	keep := f.closing[:0]
	for _, c := range f.closing {
		switch {
		case c.gone:
		case f.lastTime-c.last > f.limits.CloseIdle:
			f.release(c.key, c, at)
		default:
			keep = append(keep, c)
		}
	}
	clear(f.closing[len(keep):])
	f.closing, f.closingGone = keep, 0
}

func (f *Flows) release(k connKey, c *conn, at FrameRef) {
	for d := range c.halves {
		f.flushHalf(c, &c.halves[d])
	}
	end := at
	if c.closed {
		end = c.closeAt
	}
	var sum *TCPSummary
	if c.info.Proto == ProtoTCP {
		sum = c.finishAnalysis()
	}
	c.h.Close(end, sum)
	c.gone = true
	f.conns.del(&k)
	if c.closed {
		f.closingGone++
		if f.closingGone > 64 && f.closingGone > len(f.closing)/2 {
			f.compactClosing()
		}
	}
}

// compactClosing drops the released connections from the closing list.
// makeRoom releases ended connections long before sweep would, and
// without this the list (and every connection on it) would be kept until
// the next sweep: a flood of SYN+RST connections within one second of
// capture time would hold them all.
func (f *Flows) compactClosing() {
	keep := f.closing[:0]
	for _, c := range f.closing {
		if !c.gone {
			keep = append(keep, c)
		}
	}
	clear(f.closing[len(keep):])
	f.closing, f.closingGone = keep, 0
}

// Finish flushes every connection at the end of the capture: holes still
// open are declared lost and the bytes queued behind them delivered.
func (f *Flows) Finish() {
	f.frags.finish(f.lastTime)
	at := FrameRef{Time: f.lastTime}
	type entry struct {
		id int // c.info.ID, here: sorting 10,000 by a field of each connection missed the cache twice a comparison
		c  *conn
	}
	all := make([]entry, 0, f.conns.len())
	for c := range f.conns.all() {
		all = append(all, entry{c.info.ID, c})
	}
	// Close in connection order so the output does not depend on map order.
	slices.SortFunc(all, func(a, b entry) int { return a.id - b.id })
	for _, e := range all {
		f.release(e.c.key, e.c, at)
	}
}
