package capture

import "github.com/gopacket/gopacket/layers"

// Packet is one captured frame, as read from a file.
//
// Data belongs to whoever read the packet and is valid only until the next
// read from the same source: File.Next and Input.Next point it into their
// read buffers, and Prefetch into the batch it hands over. A copy of Data
// kept for decoding must end where its capacity ends (b[off:end:end]):
// tcpflow's decoder finds where a layer starts inside the packet from the
// difference of slice capacities, which is right only when Data's capacity
// ends with its bytes.
type Packet struct {
	File     int   // index of the file in the input list
	Frame    int64 // 1-based frame number within its file, as Wireshark numbers it
	Time     int64 // capture time, ns since the Unix epoch
	Data     []byte
	Length   int // original length on the wire
	LinkType layers.LinkType
}
