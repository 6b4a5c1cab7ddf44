package analyze_test

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"nfsstall/analyze"
	"nfsstall/capture"
)

// TestFileNamesAgreeWithTshark names every file handle of every capture as
// tshark's decoding of the same capture does (NAME.names.tsv, written by
// make-captures.sh): the MOUNT MNT replies give export roots their paths,
// the LOOKUP/CREATE/MKDIR/SYMLINK/MKNOD replies names in directories, and
// a handle's path is its chain of names up to a root (or "…/" and the
// names known, when the chain stops short of one).
func TestFileNamesAgreeWithTshark(t *testing.T) {
	views, _ := filepath.Glob(filepath.Join(pcapDir, "*.names.tsv"))
	if len(views) < 10 {
		t.Fatalf("only %d names views in %s", len(views), pcapDir)
	}
	named := 0
	for _, view := range views {
		name := strings.TrimSuffix(filepath.Base(view), ".names.tsv")
		t.Run(name, func(t *testing.T) {
			capPath := filepath.Join(pcapDir, name)
			if _, err := os.Stat(capPath + ".gz"); err == nil {
				capPath += ".gz"
			}
			// MOUNT is on its own port (20048 here): followed, the export
			// roots have their paths; not (the default), paths are
			// relative to the highest directory the capture named.
			for _, mount := range []bool{true, false} {
				want, handles := tsharkPaths(t, view, mount)
				opts := analyze.DefaultOptions()
				if mount {
					opts.Ports = []uint16{2049, 20048}
				}
				a, _ := analyzeFile(t, capPath, opts)
				for _, h := range handles {
					got := a.FilePath(h)
					if got != want(h) {
						t.Errorf("MOUNT followed %v: FH 0x%08x: path %q, tshark's view gives %q", mount, h, got, want(h))
					}
					if got != "" && mount {
						named++
					}
				}
			}
		})
	}
	if named < 20 {
		t.Errorf("only %d handles named over all captures", named)
	}
}

// analyzeFile runs an Analyzer over the capture at path and returns it
// with its report.
func analyzeFile(t *testing.T, path string, opts analyze.Options) (*analyze.Analyzer, *analyze.Report) {
	t.Helper()
	in, err := capture.OpenInputs([]string{path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	a := analyze.New(opts)
	var p capture.Packet
	for {
		err := in.Next(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		a.Packet(&p)
	}
	return a, a.Finish(in.Captures())
}

// tsharkPaths reads a names view and returns each handle's path as the
// view's calls and replies give it (with the MOUNT replies' roots when
// mount is set), and every handle the view shows.
func tsharkPaths(t *testing.T, view string, mount bool) (func(uint32) string, []uint32) {
	f, err := os.Open(view)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type link struct {
		parent uint32
		name   string
	}
	roots, names := map[uint32]string{}, map[uint32]link{}
	calls := map[string]map[string]string{} // by xid: the call's columns
	seen := map[uint32]bool{}
	var handles []uint32
	sc := bufio.NewScanner(f)
	var cols []string
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if cols == nil {
			cols = fields
			continue
		}
		row := map[string]string{}
		for i, c := range cols {
			if i < len(fields) {
				row[c] = fields[i]
			}
		}
		var fhs []uint32
		for _, s := range strings.Split(row["nfs.fh.hash"], ",") {
			if s == "" {
				continue
			}
			h, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 32)
			if err != nil {
				t.Fatalf("%s frame %s: hash %q", view, row["frame.number"], s)
			}
			fhs = append(fhs, uint32(h))
			if !seen[uint32(h)] {
				seen[uint32(h)] = true
				handles = append(handles, uint32(h))
			}
		}
		xid := row["rpc.xid"]
		if row["rpc.msgtyp"] == "0" {
			calls[xid] = row
			continue
		}
		call := calls[xid]
		if call == nil || len(fhs) == 0 {
			continue
		}
		switch call["rpc.program"] {
		case "100005":
			if mount && row["mount.status"] == "0" {
				roots[fhs[0]] = call["mount.path"]
			}
		case "100003":
			var dir []uint32
			for _, s := range strings.Split(call["nfs.fh.hash"], ",") {
				if h, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 32); err == nil {
					dir = append(dir, uint32(h))
				}
			}
			if row["nfs.status3"] == "0" && len(dir) > 0 && call["nfs.name"] != "" {
				names[fhs[0]] = link{dir[0], call["nfs.name"]}
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	path := func(h uint32) string {
		if r, ok := roots[h]; ok {
			return r
		}
		var parts []string
		for range 64 {
			l, ok := names[h]
			if !ok {
				break
			}
			parts = append([]string{l.name}, parts...)
			h = l.parent
			if r, ok := roots[h]; ok {
				return strings.TrimSuffix(r, "/") + "/" + strings.Join(parts, "/")
			}
		}
		if len(parts) == 0 {
			return ""
		}
		return "…/" + strings.Join(parts, "/")
	}
	return path, handles
}

// TestFindingsNameTheFile: a finding about a call carries the call's
// handle and its path as tshark's decoding of the capture gives them.
func TestFindingsNameTheFile(t *testing.T) {
	for _, name := range []string{"stall-client-noack.pcap", "stall-server-hung.pcap", "zero-window.pcap"} {
		want, _ := tsharkPaths(t, filepath.Join(pcapDir, name+".names.tsv"), true)
		opts := analyze.DefaultOptions()
		opts.Ports = []uint16{2049, 20048}
		_, r := analyzeFile(t, filepath.Join(pcapDir, name+".gz"), opts)
		n := 0
		for _, f := range r.Findings {
			if f.Kind != analyze.KindUnanswered {
				continue
			}
			h, err := strconv.ParseUint(strings.TrimPrefix(f.FH, "0x"), 16, 32)
			if err != nil || !strings.HasPrefix(f.FH, "0x") {
				t.Errorf("%s: finding fh %q", name, f.FH)
				continue
			}
			if w := want(uint32(h)); f.Path != w || w == "" || !strings.Contains(f.Summary, strconv.Quote(w)) {
				t.Errorf("%s: finding path %q, tshark's view gives %q; summary %q", name, f.Path, w, f.Summary)
			}
			n++
		}
		if n == 0 {
			t.Errorf("%s: no unanswered call", name)
		}
	}
}
