package analyze

import "testing"

func TestFHNames(t *testing.T) {
	var n fhNames
	n.max = 4
	n.root(1, []byte("/srv/export/"))
	n.learn(2, 1, []byte("dir"))
	n.learn(3, 2, []byte("file"))
	n.learn(5, 4, []byte("orphan")) // its directory's name was never seen
	for h, want := range map[uint32]string{
		1: "/srv/export/", 2: "/srv/export/dir", 3: "/srv/export/dir/file", 5: "…/orphan", 4: "", 99: "",
	} {
		if got := n.path(h); got != want {
			t.Errorf("path(%d) = %q, want %q", h, got, want)
		}
	}
	// A name seen again costs nothing; a new name for a handle replaces
	// the old (a RENAME's target looked up again).
	n.learn(3, 2, []byte("file"))
	n.learn(3, 1, []byte("moved"))
	if got := n.path(3); got != "/srv/export/moved" {
		t.Errorf("after a new name: %q", got)
	}
	// The table is full at 4 names (2, 3, 5 and this one): past it names
	// are counted, not learnt; names already known are still updated.
	n.learn(6, 1, []byte("four"))
	n.learn(7, 1, []byte("five"))
	if n.dropped != 1 || n.path(7) != "" || n.path(6) != "/srv/export/four" {
		t.Errorf("full table: dropped %d, path(7) %q, path(6) %q", n.dropped, n.path(7), n.path(6))
	}
	n.learn(6, 2, []byte("four"))
	if n.path(6) != "/srv/export/dir/four" || n.dropped != 1 {
		t.Errorf("update in a full table: %q, dropped %d", n.path(6), n.dropped)
	}
	// An empty name is nothing learnt.
	n.learn(2, 1, nil)
	if n.path(2) != "/srv/export/dir" {
		t.Errorf("empty name replaced a name: %q", n.path(2))
	}
	// A loop (handle hashes collide, or a hostile capture) ends at the
	// depth bound, as a relative path.
	var l fhNames
	l.max = 10
	l.learn(10, 11, []byte("a"))
	l.learn(11, 10, []byte("b"))
	if got := l.path(10); len(got) != len("…")+2*maxPathDepth || got[:len("…")] != "…" {
		t.Errorf("loop: %q", got)
	}
}
