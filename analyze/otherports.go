package analyze

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nfsstall/nfsstall/tcpflow"
)

// OtherPort is a port not analysed where RPC calls were seen (see
// tcpflow/otherports.go); an extra beyond the contract.
type OtherPort struct {
	Port      uint16 `json:"port"`
	Transport string `json:"transport"`
	Calls     int64  `json:"calls"`
}

// otherPorts lists the ports not analysed where RPC calls were seen, the
// busiest first.
func (a *Analyzer) otherPorts() []OtherPort {
	out := []OtherPort{}
	for _, o := range a.flows.Stats.OtherPorts {
		transport := "tcp"
		if o.Proto == tcpflow.ProtoUDP {
			transport = "udp"
		}
		out = append(out, OtherPort{Port: o.Port, Transport: transport, Calls: o.Calls})
	}
	slices.SortStableFunc(out, func(x, y OtherPort) int { return int(y.Calls - x.Calls) })
	return out
}

// OtherPortsHint says where RPC calls were seen on ports not analysed and
// the --port that would analyse them; "" when none were.
func OtherPortsHint(others []OtherPort, analysed []uint16) string {
	if len(others) == 0 {
		return ""
	}
	var seen []string
	ports := slices.Clone(analysed)
	for _, o := range others {
		seen = append(seen, fmt.Sprintf("%d/%s (%d)", o.Port, o.Transport, o.Calls))
		if !slices.Contains(ports, o.Port) {
			ports = append(ports, o.Port)
		}
	}
	arg := make([]string, len(ports))
	for i, p := range ports {
		arg[i] = strconv.Itoa(int(p))
	}
	return fmt.Sprintf("RPC calls were seen to ports not analysed: %s; --port %s analyses them too",
		strings.Join(seen, ", "), strings.Join(arg, ","))
}
