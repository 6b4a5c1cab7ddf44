package analyze_test

// File names held to tshark's own name snooping (nfs.file_name_snooping,
// nfs.file_full_name_snooping): for every call that carries one file
// handle whose full name tshark knows, the path nfsstall has learned for
// that handle when it reads the call equals it or ends with it: tshark's
// snooping names a handle from the last directory it knows a name for
// (in NFSv4, only the last LOOKUP of a compound), nfsstall follows
// PUTROOTFH and every LOOKUP of the compound up to the root.

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/capture"
)

// pathCaptures are the captures whose file names are checked.
var pathCaptures = []oracleCapture{
	{file: "nfstrace--eth-ipv4-tcp-nfsv4.pcap.gz"},
	{file: "nfstrace--eth-ipv4-tcp-nfsv41.pcap"},
	{file: "suricata-verify--nfs4-01_input.pcap"},
	{file: "nfstrace--eth-ipv4-tcp-nfsv3.pcap.gz"},
	// The lab's: NFSv3 with MOUNT on port 20048, whose MNT names the export.
	{dir: pcapDir, file: "cut.pcap"},
	{dir: pcapDir, file: "mixed.pcap.gz"},
	{dir: pcapDir, file: "reconnect.pcap.gz"},
}

// makePathView runs tshark with name snooping on capture: frame, handle
// hashes, full names, of every call with a full name. One pass, so that
// each frame shows the names learned before it: in two passes tshark shows
// the names its first pass ended with (a file renamed later is shown by
// its new name from the start).
func makePathView(capture string, gapped bool) ([]byte, error) {
	args := []string{"-r", capture, "-n", "-d", "tcp.port==1-1023,rpc", "-o", "nfs.file_name_snooping:TRUE",
		"-o", "nfs.file_full_name_snooping:TRUE", "-Y", "rpc.msgtyp == 0 && nfs.full_name", "-T", "fields",
		"-E", "header=y", "-E", "occurrence=a", "-e", "frame.number", "-e", "nfs.fh.hash", "-e", "nfs.full_name"}
	if !gapped {
		args = append(args, outOfOrder...)
	}
	out, err := exec.Command("tshark", args...).Output()
	if err != nil && len(out) == 0 {
		// A capture cut short (cut.pcap) makes tshark exit 2 after it
		// printed every packet before the cut.
		return nil, fmt.Errorf("tshark %s: %w", capture, err)
	}
	return out, nil
}

func TestPathsAgreeWithTsharkSnooping(t *testing.T) {
	compared, named, same := 0, 0, 0
	for _, pc := range pathCaptures {
		t.Run(pc.file, func(t *testing.T) {
			capPath := pc.path()
			if _, err := os.Stat(capPath); err != nil {
				t.Skipf("%s not found", capPath)
			}
			view := filepath.Join(nfs4ViewDir, pc.file+".paths.tsv")
			if *updateNFS4View {
				b, err := makePathView(capPath, pc.gapped)
				if err != nil {
					t.Fatal(err)
				}
				if err := writeMaybeGzipped(view, b); err != nil {
					t.Fatal(err)
				}
			}
			rows := readTSV(t, view)
			in, err := capture.OpenInputs([]string{capPath}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			// Each call's handle is compared when the call is read: a
			// name learned later (a RENAME, a new file of the name) is
			// not what tshark knew there.
			want := map[int64][2]string{} // frame -> handle hash, full name
			for _, row := range rows {
				hashes, names := strings.Split(row["nfs.fh.hash"], ","), strings.Split(row["nfs.full_name"], ",")
				if len(hashes) != 1 || len(names) != 1 {
					continue // which name is which handle's is not said
				}
				// tshark writes a name it learned from MNT as server:path,
				// keeping the path's trailing "/".
				name := names[0]
				if i := strings.Index(name, ":/"); i >= 0 {
					name = name[i+1:]
				}
				if len(name) > 1 {
					name = strings.TrimSuffix(name, "/")
				}
				want[int64(parseUint(t, row["frame.number"]))] = [2]string{hashes[0], name}
			}
			opts := analyze.DefaultOptions()
			opts.Ports = []uint16{2049, 111, 1048, 20048}
			a := analyze.New(opts)
			var p capture.Packet
			for frame := int64(1); ; frame++ {
				err := in.Next(&p)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				a.Packet(&p)
				w, ok := want[frame]
				if !ok {
					continue
				}
				h, err := strconv.ParseUint(strings.TrimPrefix(w[0], "0x"), 16, 32)
				if err != nil {
					t.Fatalf("frame %d: bad hash %q", frame, w[0])
				}
				compared++
				got := a.Path(uint32(h))
				if got != "" {
					named++
				}
				switch {
				case got == w[1]:
					same++
				case strings.HasSuffix(got, "/"+w[1]):
					// tshark names the handle from a directory it knows no
					// name for; nfsstall knows more of the path.
				default:
					t.Errorf("frame %d: handle %s is %q, tshark's full name %q", frame, w[0], got, w[1])
				}
			}
			a.Finish(in.Captures())
		})
	}
	t.Logf("compared %d handles, %d named, %d the same as tshark's full name (the rest end with it)", compared, named, same)
	if compared > 0 && named < compared/2 {
		t.Errorf("named %d of %d handles tshark names", named, compared)
	}
}
