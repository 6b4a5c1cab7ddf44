package decode

// What only the tests need of a Framer.

// NewFramer returns a Framer delivering to sink (see Reset).
func NewFramer(sink RecordSink, synced bool) *Framer {
	f := &Framer{}
	f.Reset(sink, synced)
	return f
}

// SetMaxFragment changes the largest fragment length accepted.
func (f *Framer) SetMaxFragment(n uint32) { f.maxFragment = n }

// Synced reports whether the Framer knows where records start.
func (f *Framer) Synced() bool { return f.synced }
