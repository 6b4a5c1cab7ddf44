package decode

import "testing"

func TestProgramName(t *testing.T) {
	tests := []struct {
		prog uint32
		want string
	}{
		{ProgPortmap, "PORTMAP"}, {ProgNFS, "NFS"}, {ProgMount, "MOUNT"}, {ProgNLM, "NLM"}, {ProgNSM, "NSM"},
		{ProgNFSACL, "NFS_ACL"}, {ProgRquota, "RQUOTA"}, {ProgKLM, "KLM"}, {100232, "100232"}, {0, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := ProgramName(tt.prog); got != tt.want {
				t.Errorf("ProgramName(%d) = %q, want %q", tt.prog, got, tt.want)
			}
			if known := KnownProgram(tt.prog); known != (tt.want[0] > '9') {
				t.Errorf("KnownProgram(%d) = %v", tt.prog, known)
			}
		})
	}
}

func TestProcName(t *testing.T) {
	tests := []struct {
		name             string
		prog, vers, proc uint32
		want             string
	}{
		{"NFSv3 READ", ProgNFS, 3, 6, "READ"},
		{"NFSv3 NULL", ProgNFS, 3, 0, "NULL"},
		{"NFSv3 READDIRPLUS", ProgNFS, 3, 17, "READDIRPLUS"},
		{"NFSv3 COMMIT", ProgNFS, 3, 21, "COMMIT"},
		{"NFSv3 past COMMIT", ProgNFS, 3, 22, "PROC22"},
		{"NFSv3 huge", ProgNFS, 3, 0xffffffff, "PROC4294967295"},
		{"NFSv2 WRITECACHE", ProgNFS, 2, 7, "WRITECACHE"},
		{"NFSv2 WRITE", ProgNFS, 2, 8, "WRITE"},
		{"NFSv2 STATFS", ProgNFS, 2, 17, "STATFS"},
		{"NFSv2 past STATFS", ProgNFS, 2, 18, "PROC18"},
		{"NFSv4 COMPOUND", ProgNFS, 4, 1, "COMPOUND"},
		{"NFSv4 2", ProgNFS, 4, 2, "PROC2"},
		{"NFS v5 NULL", ProgNFS, 5, 0, "NULL"},
		{"NFS v5 unknown", ProgNFS, 5, 1, "PROC1"},
		{"MOUNT v3 MNT", ProgMount, 3, 1, "MNT"},
		{"MOUNT v3 EXPORT", ProgMount, 3, 5, "EXPORT"},
		{"MOUNT v3 has no EXPORTALL", ProgMount, 3, 6, "PROC6"},
		{"MOUNT v1 EXPORTALL", ProgMount, 1, 6, "EXPORTALL"},
		{"MOUNT v1 has no PATHCONF", ProgMount, 1, 7, "PROC7"},
		{"MOUNT v2 PATHCONF", ProgMount, 2, 7, "PATHCONF"},
		{"NLM v4 LOCK", ProgNLM, 4, 2, "LOCK"},
		{"NLM v4 GRANTED_MSG", ProgNLM, 4, 10, "GRANTED_MSG"},
		{"NLM v4 UNLOCK_RES", ProgNLM, 4, 14, "UNLOCK_RES"},
		{"NLM v4 gap", ProgNLM, 4, 16, "PROC16"},
		{"NLM v4 SHARE", ProgNLM, 4, 20, "SHARE"},
		{"NLM v3 NM_LOCK", ProgNLM, 3, 22, "NM_LOCK"},
		{"NLM v4 FREE_ALL", ProgNLM, 4, 23, "FREE_ALL"},
		{"NLM v1 has no SHARE", ProgNLM, 1, 20, "PROC20"},
		{"NLM v4 past FREE_ALL", ProgNLM, 4, 24, "PROC24"},
		{"portmap v2 GETPORT", ProgPortmap, 2, 3, "GETPORT"},
		{"portmap v2 CALLIT", ProgPortmap, 2, 5, "CALLIT"},
		{"rpcbind v3 GETADDR", ProgPortmap, 3, 3, "GETADDR"},
		{"rpcbind v3 TADDR2UADDR", ProgPortmap, 3, 8, "TADDR2UADDR"},
		{"rpcbind v4 BCAST", ProgPortmap, 4, 5, "BCAST"},
		{"rpcbind v4 GETSTAT", ProgPortmap, 4, 12, "GETSTAT"},
		{"NSM MON", ProgNSM, 1, 2, "MON"},
		{"NSM NOTIFY", ProgNSM, 1, 6, "NOTIFY"},
		{"NFS_ACL v3 GETACL", ProgNFSACL, 3, 1, "GETACL"},
		{"NFS_ACL v3 SETACL", ProgNFSACL, 3, 2, "SETACL"},
		{"NFS_ACL v2 ACCESS", ProgNFSACL, 2, 4, "ACCESS"},
		{"RQUOTA v1 GETACTIVEQUOTA", ProgRquota, 1, 2, "GETACTIVEQUOTA"},
		{"RQUOTA v1 has no SETQUOTA", ProgRquota, 1, 3, "PROC3"},
		{"RQUOTA v2 SETQUOTA", ProgRquota, 2, 3, "SETQUOTA"},
		{"KLM TEST", ProgKLM, 1, 1, "TEST"},
		{"KLM UNLOCK", ProgKLM, 1, 4, "UNLOCK"},
		{"unknown program", 100232, 10, 1, "PROC1"},
		{"unknown program NULL", 100232, 10, 0, "NULL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ProcName(tt.prog, tt.vers, tt.proc); got != tt.want {
				t.Errorf("ProcName(%d, %d, %d) = %q, want %q", tt.prog, tt.vers, tt.proc, got, tt.want)
			}
		})
	}
}

// TestProcNameTablesFull checks every defined slot of the tables has a
// name, so a typo'd index cannot leave a hole that reads as "PROC<n>".
func TestProcNameTablesFull(t *testing.T) {
	for _, p := range []struct {
		prog, vers uint32
		n          int
	}{
		{ProgNFS, 2, 18}, {ProgNFS, 3, 22}, {ProgNFS, 4, 2}, {ProgMount, 3, 6}, {ProgPortmap, 2, 6},
		{ProgPortmap, 3, 9}, {ProgPortmap, 4, 13}, {ProgNSM, 1, 7}, {ProgNLM, 1, 16}, {ProgKLM, 1, 5},
	} {
		for proc := uint32(0); proc < uint32(p.n); proc++ {
			if name := ProcName(p.prog, p.vers, proc); len(name) > 4 && name[:4] == "PROC" && name != "PROC" {
				t.Errorf("ProcName(%d, %d, %d) = %q, want a name", p.prog, p.vers, proc, name)
			}
		}
	}
}

func TestProcNameZeroAllocs(t *testing.T) {
	n := testing.AllocsPerRun(100, func() {
		_ = ProcName(ProgNFS, 3, NFS3ProcRead)
		_ = ProcName(ProgNLM, 4, 23)
		_ = ProcName(ProgPortmap, 4, 12)
		_ = ProcName(100232, 1, 0)
		_ = ProgramName(ProgNFS)
		_ = KnownProgram(ProgMount)
	})
	if n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}

func BenchmarkProcName(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if ProcName(ProgNFS, 3, NFS3ProcWrite) != "WRITE" {
			b.Fatal("wrong name")
		}
	}
}
