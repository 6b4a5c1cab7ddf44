package analyze

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/nfsstall/nfsstall/tcpflow"
)

// ConnectionGroup sums the connections of one client address and server
// that are not listed in full.
type ConnectionGroup struct {
	Client      string `json:"client"` // an address; "*" for all other clients
	Server      string `json:"server"`
	Connections int64  `json:"connections"`
	Calls       int64  `json:"calls"`
	Replies     int64  `json:"replies"`
	Unanswered  int64  `json:"unanswered"`
	BytesToSrv  int64  `json:"bytes_to_server"`
	BytesToCli  int64  `json:"bytes_to_client"`
	Missing     int64  `json:"missing_bytes"`
	CaptureLoss int64  `json:"capture_loss_bytes"`
	FirstTime   Time   `json:"first_time"`
	LastTime    Time   `json:"last_time"`
}

// add sums o into g: its counts, and the span of their times.
func (g *ConnectionGroup) add(o ConnectionGroup) {
	g.Connections += o.Connections
	g.Calls += o.Calls
	g.Replies += o.Replies
	g.Unanswered += o.Unanswered
	g.BytesToSrv += o.BytesToSrv
	g.BytesToCli += o.BytesToCli
	g.Missing += o.Missing
	g.CaptureLoss += o.CaptureLoss
	if g.FirstTime == 0 || o.FirstTime < g.FirstTime {
		g.FirstTime = o.FirstTime
	}
	g.LastTime = max(g.LastTime, o.LastTime)
}

// rowGroup is one connection's row as a group of one.
func rowGroup(row *Connection) ConnectionGroup {
	return ConnectionGroup{
		Connections: 1, Calls: row.Calls, Replies: row.Replies, Unanswered: row.Unanswered,
		BytesToSrv: row.BytesToSrv, BytesToCli: row.BytesToCli, Missing: row.MissingBytes,
		CaptureLoss: lossBytes(row), FirstTime: row.FirstTime, LastTime: row.LastTime,
	}
}

// pairGroup is the totals of a client and server's folded connections as
// a group.
func pairGroup(p *pairTotals) ConnectionGroup {
	return ConnectionGroup{
		Connections: p.conns, Calls: p.calls, Replies: p.replies,
		BytesToSrv: p.bytes[0], BytesToCli: p.bytes[1], Missing: p.missing, CaptureLoss: p.loss,
		FirstTime: Time(p.first.Time), LastTime: Time(p.last.Time),
	}
}

// groupSet gathers groups by client and server, in the order first met.
type groupSet struct {
	byKey map[pairKey]*ConnectionGroup
	order []pairKey
}

// get returns k's group, made with the names names gives when it is new
// (formatting two addresses for each of thousands of rows, most of them
// in groups already made, was most of the time spent listing).
func (s *groupSet) get(k pairKey, names func() (client, server string)) *ConnectionGroup {
	g := s.byKey[k]
	if g == nil {
		client, server := names()
		g = &ConnectionGroup{Client: client, Server: server}
		s.byKey[k] = g
		s.order = append(s.order, k)
	}
	return g
}

// listConnections bounds r.Connections once findings and diagnoses are
// made: rows that a finding, a diagnosis or a listed unanswered call names
// stay, then up to Options.MaxConnsListed more (capture loss first, then
// the most bytes); the others, with every folded connection, are summed in
// r.ConnectionGroups per client and server (at most MaxConnsListed groups,
// the busiest; the rest in one row).
func (a *Analyzer) listConnections(r *Report) {
	gs := groupSet{byKey: map[pairKey]*ConnectionGroup{}}
	a.groupUnnamed(r, &gs)
	for k, p := range a.pairSums {
		gs.get(k, func() (string, string) { return addrString(tcpflow.Endpoint{Addr: k.client}), p.server.String() }).add(pairGroup(p))
	}
	if a.otherPairs != nil {
		g := gs.get(pairKey{server: tcpflow.Endpoint{Port: 1}}, func() (string, string) { return "*", a.otherPairs.server.String() })
		g.Server = "*"
		g.add(pairGroup(a.otherPairs))
	}
	// Sorted as pointers: a stable sort of the groups themselves moved
	// every one of thousands many times.
	byBusy := make([]*ConnectionGroup, 0, len(gs.order))
	for _, k := range gs.order {
		byBusy = append(byBusy, gs.byKey[k])
	}
	slices.SortStableFunc(byBusy, func(x, y *ConnectionGroup) int {
		if x.Connections != y.Connections {
			return cmp.Compare(y.Connections, x.Connections)
		}
		if x.Client != y.Client {
			return cmp.Compare(x.Client, y.Client)
		}
		return cmp.Compare(x.Server, y.Server)
	})
	out := make([]ConnectionGroup, 0, len(byBusy))
	for _, g := range byBusy {
		out = append(out, *g)
	}
	if len(out) > a.opts.MaxConnsListed {
		rest := ConnectionGroup{Client: "*", Server: "*"}
		for _, g := range out[a.opts.MaxConnsListed-1:] {
			rest.add(g)
		}
		out = append(out[:a.opts.MaxConnsListed-1], rest)
	}
	r.ConnectionGroups = out
	if n := a.folded.conns + a.connsNotListed; n > 0 {
		r.Skipped = append(r.Skipped, Skipped{Bound: true, What: "connections listed", Count: n,
			Reason: fmt.Sprintf("summed per client and server in connection_groups, not listed in full: %d are listed, those a finding, a diagnosis or an unanswered call names and %d more (capture loss first, then the most bytes); closed connections with nothing to report are folded as they close (%d client and server pairs summed apart at most)",
				len(r.Connections), a.opts.MaxConnsListed, a.opts.MaxPairs)})
	}
}

// groupUnnamed keeps the rows that a finding, a diagnosis or a listed
// unanswered call names, and Options.MaxConnsListed more (capture loss
// first, then the most bytes); the rest it sums into gs.
func (a *Analyzer) groupUnnamed(r *Report, gs *groupSet) {
	named := map[int]bool{}
	for _, f := range r.Findings {
		named[f.Connection] = true
	}
	for _, d := range r.Diagnoses {
		named[d.Connection] = true
	}
	for _, u := range r.Unanswered {
		named[u.Connection] = true
	}
	var others []int
	for i, row := range r.Connections {
		if !named[row.ID] {
			others = append(others, i)
		}
	}
	n := len(others) - a.opts.MaxConnsListed
	if n <= 0 {
		return
	}
	slices.SortStableFunc(others, func(i, j int) int {
		x, y := &r.Connections[i], &r.Connections[j]
		lx, ly := lossBytes(x), lossBytes(y)
		if (lx > 0) != (ly > 0) {
			if lx > 0 {
				return -1
			}
			return 1
		}
		return cmp.Compare(y.BytesToSrv+y.BytesToCli, x.BytesToSrv+x.BytesToCli)
	})
	drop := map[int]bool{}
	for _, i := range others[a.opts.MaxConnsListed:] {
		drop[i] = true
		row := &r.Connections[i]
		c := a.byID(row.ID)
		k := pairKey{}
		if c != nil {
			k = pairKey{c.info.Client.Addr, c.info.Server}
		}
		gs.get(k, func() (string, string) {
			if c == nil {
				return "*", row.Server
			}
			return addrString(c.info.Client), row.Server
		}).add(rowGroup(row))
	}
	a.connsNotListed += int64(n)
	kept := r.Connections[:0]
	for i, row := range r.Connections {
		if !drop[i] {
			kept = append(kept, row)
		}
	}
	r.Connections = kept
}

func lossBytes(c *Connection) int64 {
	if c.CaptureLoss == nil {
		return 0
	}
	return c.CaptureLoss.ClientToServer.Bytes + c.CaptureLoss.ServerToClient.Bytes
}
