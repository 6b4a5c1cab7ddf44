package tcpflow

import (
	"math"
	"slices"
)

// Filters the command's --since, --until, --client and --server set: what
// tcpdump's filter would have left out, left out here, and counted (a
// packet filtered out is in Stats.Skipped, never silently gone). Frame
// numbers are not changed: they stay those of the file, as Wireshark
// shows them.

// SetWindow analyses only the packets whose time (ns since the epoch) is
// within [since, until]; 0 leaves that end open.
func (f *Flows) SetWindow(since, until int64) {
	if since == 0 && until == 0 {
		f.windowed = false
		return
	}
	if until == 0 {
		until = math.MaxInt64
	}
	f.windowed, f.since, f.until = true, since, until
}

// SetHosts analyses only the connections of these client addresses (none:
// any client) to these server addresses (none: any server). Addresses are
// 16 bytes, IPv4 mapped as Endpoint.Addr holds them.
func (f *Flows) SetHosts(clients, servers [][16]byte) {
	f.clients, f.servers = clients, servers
	f.hostFiltered = len(clients)+len(servers) > 0
}

func (f *Flows) hostWanted(k connKey) bool {
	return (len(f.clients) == 0 || slices.Contains(f.clients, k.client.Addr)) &&
		(len(f.servers) == 0 || slices.Contains(f.servers, k.server.Addr))
}
