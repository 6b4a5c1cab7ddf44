package decode_test

import (
	"testing"

	"github.com/nfsstall/nfsstall/decode"
	"github.com/nfsstall/nfsstall/internal/gencap"
)

// Benchmarks of the RPC and NFSv3 decoders on the messages of a READ
// exchange as a Linux client and server send them (160-byte call,
// READ3resok header with post_op_attr). MB/s counts the message bytes
// decoded; allocs/op must stay 0.

var (
	readFH    = make([]byte, 32)
	readCall  = gencap.AppendReadCall(nil, 7, 1700000000, readFH, 1<<20, 1<<20)[4:] // without the record marker
	readReply = gencap.AppendReadReply(nil, 7, 1<<20, true, 42, 1700000000)[4:]
)

func BenchmarkDecodeReadCall(b *testing.B) {
	var c decode.Call
	var a decode.NFS3Args
	b.SetBytes(int64(len(readCall)))
	b.ReportAllocs()
	for b.Loop() {
		if err := decode.ParseCall(readCall, &c); err != nil {
			b.Fatal(err)
		}
		if err := decode.ParseNFS3Args(c.Proc, c.Args, &a); err != nil || a.Count != 1<<20 {
			b.Fatal(err, a)
		}
	}
}

func BenchmarkDecodeReadReply(b *testing.B) {
	var r decode.Reply
	var res decode.NFS3Result
	b.SetBytes(int64(len(readReply)))
	b.ReportAllocs()
	for b.Loop() {
		if err := decode.ParseReply(readReply, &r); err != nil {
			b.Fatal(err)
		}
		if err := decode.ParseNFS3Result(decode.NFS3ProcRead, r.Results, &res); err != nil || res.Count != 1<<20 {
			b.Fatal(err, res)
		}
	}
}

type countSink struct{ n int }

func (s *countSink) Record(*decode.Record)           { s.n++ }
func (s *countSink) Plausible(b []byte, _ bool) bool { return decode.LooksLikeCall(b) }

// BenchmarkFramerReadStream frames a client's stream of READ calls, fed
// in 1448-byte segments, into records. One op is one call.
func BenchmarkFramerReadStream(b *testing.B) {
	var stream []byte
	const calls = 1000
	for i := range calls {
		stream = gencap.AppendReadCall(stream, uint32(i), 1700000000, readFH, uint64(i)<<20, 1<<20)
	}
	sink := &countSink{}
	f := decode.NewFramer(sink, true)
	f.SetHeadPool(&decode.HeadPool{})
	b.SetBytes(int64(len(stream) / calls))
	b.ReportAllocs()
	off := 0
	for b.Loop() {
		// 160 bytes of stream per op, in segment-sized feeds.
		end := off + len(stream)/calls
		for off < end {
			n := min(1448-off%1448, end-off)
			f.Feed(stream[off : off+n])
			off += n
		}
		if off == len(stream) {
			off = 0
		}
	}
	if sink.n == 0 {
		b.Fatal("no records")
	}
}
