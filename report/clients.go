package report

import (
	"cmp"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/nfsstall/nfsstall/analyze"
)

// textClients bounds the rows of CLIENTS, the worst first.
const textClients = 20

// clientRow is one client host: its connections summed, and its worst
// finding.
type clientRow struct {
	addr                     string
	conns, calls, unanswered int64
	findings                 int
	worst                    int // index in Report.Findings; -1: none
	worstSev                 int // severityRank of worst; 3: none
}

// clientRows sums the report's connections per client address (the
// listed ones and the groups of the others; a group of "*", all other
// clients, is counted apart in others: they cannot be told apart) and
// gives each its worst finding: the most severe, then the longest. The
// worst first.
func clientRows(r *analyze.Report) (rows []*clientRow, others int64) {
	by := map[string]*clientRow{}
	row := func(addr string) *clientRow {
		c := by[addr]
		if c == nil {
			c = &clientRow{addr: addr, worst: -1, worstSev: 3}
			by[addr] = c
		}
		return c
	}
	connClient := map[int]string{}
	for _, cn := range r.Connections {
		host, _, err := net.SplitHostPort(cn.Client)
		if err != nil {
			host = cn.Client
		}
		connClient[cn.ID] = host
		c := row(host)
		c.conns++
		c.calls += cn.Calls
		c.unanswered += cn.Unanswered
	}
	for _, g := range r.ConnectionGroups {
		if g.Client == "*" {
			others += g.Connections
			continue
		}
		c := row(g.Client)
		c.conns += g.Connections
		c.calls += g.Calls
		c.unanswered += g.Unanswered
	}
	for i, f := range r.Findings {
		host, ok := connClient[f.Connection]
		if !ok {
			continue
		}
		c := by[host]
		c.findings++
		sev := severityRank(f.Severity)
		if sev < c.worstSev || sev == c.worstSev && f.DurationMS > r.Findings[c.worst].DurationMS {
			c.worst, c.worstSev = i, sev
		}
	}
	rows = make([]*clientRow, 0, len(by))
	for _, c := range by {
		rows = append(rows, c)
	}
	slices.SortFunc(rows, func(a, b *clientRow) int {
		return cmp.Or(cmp.Compare(a.worstSev, b.worstSev), cmp.Compare(b.unanswered, a.unanswered),
			cmp.Compare(b.calls, a.calls), compareAddr(a.addr, b.addr))
	})
	return rows, others
}

// clientSection is CLIENTS as cells, for text and HTML alike: shown
// only when the connections come from several client hosts.
type clientSection struct {
	Title string
	Rows  [][]string // client, connections, calls, unanswered, findings, worst finding
	More  []string   // what the bound left out
}

// clientCols are the columns of CLIENTS.
var clientCols = []string{"client", "connections", "calls", "unanswered", "findings", "worst finding"}

// clientsOf builds CLIENTS for r; false when there is one client.
func clientsOf(r *analyze.Report) (clientSection, bool) {
	rows, others := clientRows(r)
	if len(rows) < 2 && others == 0 {
		return clientSection{}, false
	}
	shown := rows[:min(len(rows), textClients)]
	count := fmt.Sprint(len(rows))
	if others > 0 {
		count += " told apart"
	}
	cs := clientSection{Title: fmt.Sprintf("CLIENTS (%s; the worst first)", count)}
	for _, c := range shown {
		worst := "-"
		if c.worst >= 0 {
			f := r.Findings[c.worst]
			worst = fmt.Sprintf("%s %s, connection %d", f.Severity, f.Kind, f.Connection)
			if f.DurationMS > 0 {
				worst += ", " + analyze.FormatMS(f.DurationMS)
			}
		}
		cs.Rows = append(cs.Rows, []string{c.addr, fmt.Sprint(c.conns), fmt.Sprint(c.calls), fmt.Sprint(c.unanswered),
			fmt.Sprint(c.findings), worst})
	}
	if n := len(rows) - len(shown); n > 0 {
		bySev := map[string]int64{}
		for _, c := range rows[len(shown):] {
			k := "with no finding"
			if c.worst >= 0 {
				k = "with a " + string(r.Findings[c.worst].Severity) + " at worst"
			}
			bySev[k]++
		}
		cs.More = append(cs.More, fmt.Sprintf("... and %d more %s (%s): --format json lists their connections", n, analyze.Plural(n, "client", "clients"), kindCounts(bySev)))
	}
	if others > 0 {
		cs.More = append(cs.More, fmt.Sprintf("... and %d %s of other clients, not told apart (JSON connection_groups with client \"*\")",
			others, analyze.Plural(int(min(others, 2)), "connection", "connections")))
	}
	return cs, true
}

// clients prints CLIENTS when the connections come from several client
// hosts: which are hit, and how badly, before the per-connection table.
func clients(w *errWriter, r *analyze.Report) {
	cs, ok := clientsOf(r)
	if !ok {
		return
	}
	tableSection(w, cs.Title, "  "+strings.Join(clientCols, "\t")+"\n", len(cs.Rows), func(t io.Writer) {
		for _, row := range cs.Rows {
			fmt.Fprintf(t, "  %s\n", strings.Join(row, "\t"))
		}
		for _, m := range cs.More {
			fmt.Fprintf(t, "  %s\n", m)
		}
	})
}

// compareAddr orders addresses as numbers (198.18.0.2 before
// 198.18.0.10), IPv4 before IPv6; what does not parse after, as text.
func compareAddr(a, b string) int {
	x, errA := netip.ParseAddr(a)
	y, errB := netip.ParseAddr(b)
	switch {
	case errA == nil && errB == nil:
		return x.Compare(y)
	case errA == nil:
		return -1
	case errB == nil:
		return 1
	}
	return cmp.Compare(a, b)
}
