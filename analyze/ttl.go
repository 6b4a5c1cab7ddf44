package analyze

import (
	"fmt"

	"github.com/nfsstall/nfsstall/tcpflow"
)

// ttlRange is the range of IP TTLs (hop limits) one side's packets had.
type ttlRange struct {
	min, max uint8
	seen     bool
}

func (r *ttlRange) see(ttl uint8) {
	if !r.seen {
		r.min, r.max, r.seen = ttl, ttl, true
		return
	}
	r.min, r.max = min(r.min, ttl), max(r.max, ttl)
}

// initial reports whether every packet had the same TTL, one that hosts
// start with: no router was passed between the sender and the capture.
func (r ttlRange) initial() bool {
	if !r.seen || r.min != r.max {
		return false
	}
	switch r.min {
	case 32, 64, 128, 255:
		return true
	}
	return false
}

// capturedAt says on which side of the routers between them the capture
// was taken, from the TTLs: a sender on the capture's own network segment
// leaves its initial TTL, one behind routers arrives with less. It returns
// "" when the TTLs do not tell (both sides on one segment, or a capture in
// the middle), else "client" or "server" and the evidence.
func (c *connState) capturedAt() (side, why string) {
	cl, sv := c.ttl[tcpflow.ToServer], c.ttl[tcpflow.ToClient]
	switch {
	case cl.initial() && sv.seen && !sv.initial():
		return "client", fmt.Sprintf("the client's packets have TTL %d, the server's %s: the capture was taken on the client's side of the routers between them", cl.min, sv)
	case sv.initial() && cl.seen && !cl.initial():
		return "server", fmt.Sprintf("the server's packets have TTL %d, the client's %s: the capture was taken on the server's side of the routers between them", sv.min, cl)
	}
	return "", ""
}

func (r ttlRange) String() string {
	if r.min == r.max {
		return fmt.Sprint(r.min)
	}
	return fmt.Sprintf("%d to %d", r.min, r.max)
}
