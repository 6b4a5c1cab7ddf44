package gencap_test

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/capture"
	"github.com/nfsstall/nfsstall/internal/gencap"
)

// analyse runs a generated capture through nfsstall's whole pipeline.
func analyse(t *testing.T, capBytes []byte) *analyze.Report {
	t.Helper()
	in, err := capture.OpenInputs([]string{"-"}, bytes.NewReader(capBytes))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := analyze.Run(in, analyze.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestNfsstallFindsWhatWasGenerated checks that every call is paired with
// its reply, the unanswered calls are the ones generated, and the TCP
// analysis flags exactly the retransmitted and reordered segments.
func TestNfsstallFindsWhatWasGenerated(t *testing.T) {
	base := gencap.Config{Size: 6 << 20, Conns: 5, BigRate: 0.3, NoAttrRate: 0.3, ReorderRate: 0.005, RetransRate: 0.005,
		Unanswered: 9, Timestamps: true}
	tests := []struct {
		name string
		edit func(*gencap.Config)
	}{
		{"handshake", func(*gencap.Config) {}},
		{"mid-stream", func(c *gencap.Config) { c.NoHandshake = true }},
		{"sequence numbers wrap", func(c *gencap.Config) { c.SeqNearWrap = true; c.Seed = 7 }},
		{"mid-stream wrap no timestamps every segment ACKed", func(c *gencap.Config) {
			c.NoHandshake, c.SeqNearWrap, c.Timestamps, c.NoDelayedAck = true, true, false, true
		}},
		{"many connections small reads", func(c *gencap.Config) {
			c.Conns, c.Active, c.SmallRead, c.BigRate = 400, 32, 4096, 0
		}},
		{"unanswered rate", func(c *gencap.Config) { c.Unanswered, c.UnansweredRate = 0, 0.2 }},
		{"only unanswered calls", func(c *gencap.Config) { c.Size, c.Unanswered = 0, 500 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.edit(&cfg)
			var buf bytes.Buffer
			st, err := gencap.Write(&buf, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if int64(buf.Len()) != st.Bytes {
				t.Errorf("Stats.Bytes %d, wrote %d", st.Bytes, buf.Len())
			}
			if st.Calls == 0 || st.Calls != st.Replies+st.Unanswered {
				t.Fatalf("generated %+v", st)
			}
			if cfg.Unanswered > 0 && st.Unanswered != cfg.Unanswered {
				t.Errorf("generated %d unanswered calls, asked for %d", st.Unanswered, cfg.Unanswered)
			}
			r := analyse(t, buf.Bytes())
			s := r.Summary
			if s.Connections != st.Connections || s.Calls != st.Calls || s.Replies != st.Replies || s.Unanswered != st.Unanswered {
				t.Errorf("nfsstall: %d connections, %d calls, %d replies, %d unanswered; generated %d, %d, %d, %d",
					s.Connections, s.Calls, s.Replies, s.Unanswered, st.Connections, st.Calls, st.Replies, st.Unanswered)
			}
			if s.OrphanReplies != 0 || s.Undecodable != 0 || s.MissingBytes != 0 || s.RPCRetransmissions != 0 {
				t.Errorf("summary %+v", s)
			}
			if cfg.NoHandshake != (s.GarbageBytes > 0) {
				t.Errorf("garbage bytes %d with no-handshake %v", s.GarbageBytes, cfg.NoHandshake)
			}
			want := map[string]int64{}
			if st.Retransmissions > 0 {
				want["retransmission"] = st.Retransmissions
			}
			if st.Reordered > 0 {
				want["out_of_order"], want["lost_segment"] = st.Reordered, st.Reordered
			}
			if len(s.TCPAnalysis) != len(want) {
				t.Errorf("tcp analysis %v, want %v", s.TCPAnalysis, want)
			}
			for k, v := range want {
				if s.TCPAnalysis[k] != v {
					t.Errorf("tcp analysis %s = %d, want %d (all: %v)", k, s.TCPAnalysis[k], v, s.TCPAnalysis)
				}
			}
			if s.TCPRetransmissions != st.Retransmissions || s.UnackedRetransmissions != 0 {
				t.Errorf("tcp_retransmissions %d unacked %d; generated %d", s.TCPRetransmissions, s.UnackedRetransmissions, st.Retransmissions)
			}
			if len(r.Procedures) != 1 || r.Procedures[0].Name != "READ" || r.Procedures[0].Bytes != st.DataBytes || r.Procedures[0].Errors != 0 {
				t.Errorf("procedures %+v, generated %d data bytes", r.Procedures, st.DataBytes)
			}
			if int64(len(r.Unanswered)) != st.Unanswered {
				t.Errorf("%d unanswered calls listed, want %d", len(r.Unanswered), st.Unanswered)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	cfg := gencap.Config{Size: 1 << 20, Conns: 3, RetransRate: 0.01, ReorderRate: 0.01, Unanswered: 2, Timestamps: true}
	sum := func(cfg gencap.Config) [32]byte {
		var buf bytes.Buffer
		if _, err := gencap.Write(&buf, cfg); err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(buf.Bytes())
	}
	a, b := sum(cfg), sum(cfg)
	if a != b {
		t.Error("the same config gave different captures")
	}
	cfg.Seed = 2
	if sum(cfg) == a {
		t.Error("another seed gave the same capture")
	}
}

func TestSize(t *testing.T) {
	for _, size := range []int64{0, 100 << 10, 5 << 20} {
		var buf bytes.Buffer
		st, err := gencap.Write(&buf, gencap.Config{Size: size, Conns: 2, Active: 2, BigRate: 1})
		if err != nil {
			t.Fatal(err)
		}
		// It stops starting READs once size is reached: at most one
		// 1 MiB reply per active connection beyond it.
		if st.Bytes < size || st.Bytes > size+2*(1<<20+64<<10) {
			t.Errorf("size %d: wrote %d bytes", size, st.Bytes)
		}
	}
}
