package analyze

// FilePath is fhNames.path for the tests of package analyze_test: the
// path the capture showed for the handle of Wireshark hash h.
func (a *Analyzer) FilePath(h uint32) string { return a.fhNames.path(h) }
