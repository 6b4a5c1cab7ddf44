package analyze

import "testing"

// TestMutkillCompareErrorRate: baseline READ had 1 error in 4 replies (25%),
// candidate 1 in 2 (50%); by hand the error rate rose, so Compare lists an
// error_rate change 0.25 -> 0.5 (ratio 2). A rate computed as errors*replies
// (4 vs 2) would call it a fall and list nothing.
func TestMutkillCompareErrorRate(t *testing.T) {
	proc := func(calls, replies, errs int64) Procedure {
		return Procedure{Program: 100003, Version: 3, Name: "READ", ProgramName: "NFS", Calls: calls, Replies: replies, Errors: errs}
	}
	base := &Report{Procedures: []Procedure{proc(4, 4, 1)}}
	cand := &Report{Procedures: []Procedure{proc(2, 2, 1)}}
	cmp := Compare(base, cand)
	var got *Change
	for i := range cmp.Changes {
		if cmp.Changes[i].Metric == "error_rate" {
			got = &cmp.Changes[i]
		}
	}
	if got == nil {
		t.Fatalf("no error_rate change in %+v", cmp.Changes)
	}
	if got.Baseline != 0.25 || got.Candidate != 0.5 || got.Ratio != 2 {
		t.Errorf("error_rate change = %+v, want baseline 0.25 candidate 0.5 ratio 2", *got)
	}
	// And the reverse (a fall from 50% to 25%) is not a change worth listing.
	for _, c := range Compare(cand, base).Changes {
		if c.Metric == "error_rate" {
			t.Errorf("a falling error rate was listed: %+v", c)
		}
	}
}
