package decode

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestFramerResyncMarksAnyChunks: however a stream joined mid-way is cut
// into chunks (14 bytes, when 64 fill the search window, to a segment and
// more, a frame fed in two calls with the same Mark, a record starting on
// a chunk's first byte or last), each record begins with the
// Mark of the chunk that held its first byte, worked out here from the
// offsets; the garbage before the first record is counted.
func TestFramerResyncMarksAnyChunks(t *testing.T) {
	mic := bytes.Repeat([]byte{0xee}, 28)
	reply := func(xid uint32, n int) []byte {
		return append(wire{}.u32(xid, MsgReply, MsgAccepted, RPCSECGSS).opaque(mic).u32(Success), make([]byte, n)...)
	}
	junk := bytes.Repeat([]byte{0x5a, 0x00, 0x00, 0x01}, 75)
	recs := [][]byte{record(reply(1, 300)), record(reply(2, 10)), record(reply(3, 0)), record(reply(4, 900))}
	stream := cat(append([][]byte{junk}, recs...)...)
	starts := []int{len(junk)}
	for _, r := range recs[:len(recs)-1] {
		starts = append(starts, starts[len(starts)-1]+len(r))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 400 {
		// Chunk sizes: tiny (many chunks in the search window), around a
		// record's start, or segment-sized.
		var cuts []int
		for off := 0; off < len(stream); {
			var n int
			switch trial % 4 {
			case 0:
				n = 14 + rng.IntN(3) // 64 chunks fill the search window
			case 1:
				n = 14 + rng.IntN(40)
			case 2:
				n = 1 + rng.IntN(600)
			default:
				n = 1448
			}
			// Sometimes cut exactly at a record's first byte.
			for _, s := range starts {
				if s > off && s < off+n && rng.IntN(2) == 0 {
					n = s - off
				}
			}
			n = min(n, len(stream)-off)
			cuts = append(cuts, n)
			off += n
		}
		s := &markSink{dirSink: dirSink{replies: true}}
		f := NewFramer(s, false)
		var frameAt []int64 // the Mark's frame of each byte
		frame := int64(0)
		off := 0
		for i, n := range cuts {
			// A frame fed in two calls keeps its Mark.
			if i == 0 || rng.IntN(4) != 0 {
				frame++
			}
			f.Mark = Mark{Frame: frame}
			for range n {
				frameAt = append(frameAt, frame)
			}
			f.Feed(stream[off : off+n])
			off += n
		}
		f.Finish()
		var want []Mark
		for _, st := range starts {
			want = append(want, Mark{Frame: frameAt[st]})
		}
		if fmt.Sprint(s.first) != fmt.Sprint(want) || f.Garbage != int64(len(junk)) {
			t.Fatalf("trial %d (chunks %v): records begin at %v, want %v; garbage %d, want %d",
				trial, cuts, s.first, want, f.Garbage, len(junk))
		}
	}
}

// TestFramerResyncMarksTinyChunks: with chunks of 1 to 3 bytes, more than
// the search remembers (maxChunkMarks), a record found among them begins no
// earlier than its first byte came, and no later than its last: the Marks
// forgotten are the oldest, and their bytes take a later chunk's.
func TestFramerResyncMarksTinyChunks(t *testing.T) {
	mic := bytes.Repeat([]byte{0xee}, 28)
	reply := append(wire{}.u32(1, MsgReply, MsgAccepted, RPCSECGSS).opaque(mic).u32(Success), make([]byte, 40)...)
	junk := bytes.Repeat([]byte{0x5a, 0x00, 0x00, 0x01}, 150)
	stream := cat(junk, record(reply))
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 50 {
		s := &markSink{dirSink: dirSink{replies: true}}
		f := NewFramer(s, false)
		var frameAt []int64
		for off, frame := 0, int64(1); off < len(stream); frame++ {
			n := min(1+rng.IntN(3), len(stream)-off)
			f.Mark = Mark{Frame: frame}
			for range n {
				frameAt = append(frameAt, frame)
			}
			f.Feed(stream[off : off+n])
			off += n
		}
		f.Finish()
		first, last := frameAt[len(junk)], frameAt[len(stream)-1]
		if len(s.first) != 1 || s.first[0].Frame < first || s.first[0].Frame > last {
			t.Fatalf("trial %d: record begins at %v; its bytes came in frames %d to %d", trial, s.first, first, last)
		}
	}
}

// TestFramerResyncMarksPooled: the search buffer goes back to the pool
// when a search ends, and the next search (on another stream, with
// offsets of its own) starts with no Mark of the last: its records begin
// where their own first bytes came.
func TestFramerResyncMarksPooled(t *testing.T) {
	mic := bytes.Repeat([]byte{0xee}, 28)
	reply := func(xid uint32) []byte {
		return record(append(wire{}.u32(xid, MsgReply, MsgAccepted, RPCSECGSS).opaque(mic).u32(Success), make([]byte, 100)...))
	}
	var pool HeadPool
	feed := func(stream []byte, firstFrame int64, chunk int) []Mark {
		s := &markSink{dirSink: dirSink{replies: true}}
		f := NewFramer(s, false)
		f.SetHeadPool(&pool)
		frame := firstFrame
		for off := 0; off < len(stream); off += chunk {
			f.Mark = Mark{Frame: frame}
			f.Feed(stream[off:min(off+chunk, len(stream))])
			frame++
		}
		f.Finish()
		return s.first
	}
	junk := bytes.Repeat([]byte{0x5a, 0x00, 0x00, 0x01}, 40) // 160 bytes
	// The first stream: marks from frame 1000 on, 20-byte chunks.
	feed(cat(junk, reply(1), reply(2)), 1000, 20)
	// The second, with the pooled buffer: its reply begins at byte 80, in
	// its 5th chunk of 20 bytes (frame 5); a Mark left from the first
	// stream (frames 1000 on, offsets 0 to 160) would say otherwise.
	got := feed(cat(junk[:80], reply(3)), 1, 20)
	if len(got) != 1 || got[0].Frame != 5 {
		t.Errorf("second stream's reply begins at %v, want frame 5", got)
	}
}
