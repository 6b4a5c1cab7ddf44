package analyze

import "github.com/nfsstall/nfsstall/capture"

// readPipelined reads in a goroutine of its own (capture.Prefetch) and
// analyses here. Packets reach the analysis in the same order as on the
// sequential path, so the report is the same.
func (a *Analyzer) readPipelined(in *capture.Input) error {
	var tick func(int64)
	if a.opts.Progress != nil {
		tick = func(n int64) { a.progress(in, n) }
	}
	return capture.Prefetch(in, a.packet, progressEvery, tick)
}
