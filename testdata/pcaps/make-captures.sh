#!/usr/bin/env bash
# make-captures.sh: build the real-traffic test captures for nfsstall.
#
# Usage (as root):  bash testdata/pcaps/make-captures.sh [NAME...]
#   NAME is one of the capture names listed in ALL_CAPTURES below (default: all).
# Or (any user, tshark + capinfos only, no lab):
#                    bash testdata/pcaps/make-captures.sh --views [FILE...]
#   re-writes only the tshark views of the committed captures (FILE: a capture
#   file, relative to this directory, e.g. mixed.pcap.gz or
#   ../../tcpflow/testdata/probes.pcap; default: every capture here), with the
#   same fixed tshark options, e.g. after a column is added to the views.
#
# What it does:
#   1. installs the Debian packages it needs if they are missing;
#   2. builds a lab of two network namespaces joined by one veth pair
#      (client 198.18.0.1 / fd00:198:18::1, server 198.18.0.2 / fd00:198:18::2;
#      198.18.0.0/15 is the benchmarking range, so no traffic can leave the box);
#   3. runs rpcbind + nfs-ganesha (user-space NFS server, FSAL VFS; NFSv3
#      only, then NFSv3 + NFSv4 for the nfs4-* captures) in the server
#      namespace and libnfs-utils (nfs-ls, nfs-cat, nfs-cp) plus the
#      small libnfs program nfs-ops.c (built here) in the client namespace,
#      capturing on the client's veth with tcpdump/dumpcap;
#   4. writes beside every capture FILE (FILE = name without ".gz") tshark's
#      view of it: FILE.rpc.tsv, FILE.tcp.tsv, FILE.srt.txt, FILE.capinfos.txt
#      (a .tsv over 256 KiB is stored as .tsv.gz), plus FILE.nfs4.tsv for the
#      NFSv4 captures (nfs4-*), and checks that the shape each capture is
#      for really happened (summary printed at the end);
#   5. tears everything down (trap EXIT), stopping only the processes it started,
#      by PID.
# Facts this relies on are in shared/capture-lab.md and in README.md here.
set -euo pipefail

OUT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

ALL_CAPTURES=(mixed mixed-pcapng any-sll2 snap200 udp-null cut ipv6
              stall-server-stopped stall-server-hung stall-client-noack zero-window reconnect
              zero-window-ends reconnect-drop reconnect-rst mtu-blackhole nfs4-ops nfs4-grace nfs4-server-hung
              nfs4-lock-wait)

# ---- lab constants ---------------------------------------------------------
NS_C=nfsstall-cli            # client network namespace
NS_S=nfsstall-srv            # server network namespace
VETH_C=nfsst-c               # client end of the veth pair (capture point)
VETH_S=nfsst-s               # server end
MAC_C=02:00:c6:12:00:01      # fixed MACs: captures differ less between runs
MAC_S=02:00:c6:12:00:02
C4=198.18.0.1
S4=198.18.0.2
C6=fd00:198:18::1
S6=fd00:198:18::2
# Fixed (not mktemp) so the export path inside MOUNT calls is the same in
# every run; it is removed at start and at exit.
WORK=/tmp/nfsstall-lab
EXPORT=$WORK/export
NFSOPTS='version=3&nfsport=2049&mountport=20048'

TSHARK_OPTS=(-n -2 -d 'tcp.port==1-1023,rpc' -o tcp.reassemble_out_of_order:TRUE)

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

VIEWS_ONLY=
[[ ${1:-} == --views ]] && { VIEWS_ONLY=1; shift; }
[[ -n $VIEWS_ONLY || $(id -u) == 0 ]] || die "run as root (namespaces, ganesha, tcpdump)"

# ---- 1. packages ------------------------------------------------------------
need_pkgs() {
    local -A bin_pkg=(
        [ganesha.nfsd]=nfs-ganesha [rpcbind]=rpcbind [rpcinfo]=rpcbind
        [nfs-cat]=libnfs-utils [tshark]=tshark [tcpdump]=tcpdump
        [dumpcap]=wireshark-common [capinfos]=wireshark-common
        [iptables]=iptables [ethtool]=ethtool [ip]=iproute2 [ss]=iproute2
        [tc]=iproute2 [pv]=pv [od]=coreutils [unshare]=util-linux [cc]=gcc
    )
    local missing=() b
    for b in "${!bin_pkg[@]}"; do
        command -v "$b" >/dev/null 2>&1 || PATH=$PATH:/sbin:/usr/sbin command -v "$b" >/dev/null 2>&1 \
            || missing+=("${bin_pkg[$b]}")
    done
    # nfs-ops.c (REMOVE, RENAME, MKDIR, ... which libnfs-utils never sends)
    # is built against libnfs' header.
    [[ -e /usr/include/nfsc/libnfs.h ]] || missing+=(libnfs-dev)
    # The VFS backend is a plugin, not a binary.
    [[ -e /usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so ]] || ls /usr/lib/*/ganesha/libfsalvfs.so >/dev/null 2>&1 \
        || missing+=(nfs-ganesha-vfs)
    if ((${#missing[@]})); then
        mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
        log "installing: ${missing[*]}"
        apt-get update -q
        # tshark asks (debconf) whether non-root users may capture.
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
    fi
}
export PATH=$PATH:/sbin:/usr/sbin
[[ -n $VIEWS_ONLY ]] || need_pkgs

# ---- 2. process bookkeeping & teardown ---------------------------------------
PIDS=()          # every long-running process we started (killed in cleanup)
STOPPED=()       # PIDs we SIGSTOPped (CONT before kill, else they never die)

forget_pid() {   # forget_pid PID: it has exited and been waited for
    local keep=() p
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

kill_pid() {     # kill_pid PID [SIG]: stop one process we started, wait for it
    local pid=$1 sig=${2:-TERM}
    kill -0 "$pid" 2>/dev/null || return 0
    kill -CONT "$pid" 2>/dev/null || true
    kill -"$sig" "$pid" 2>/dev/null || true
    local i
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Processes left in our namespaces by an earlier run that was SIGKILLed:
# `ip netns pids` lists exactly the processes inside *our* namespaces, so this
# never touches anything else.
kill_ns_leftovers() {
    local ns pid
    for ns in "$NS_C" "$NS_S"; do
        ip netns list | grep -qw "^$ns" || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill_pid "$pid"; done
    done
}

teardown() {
    local rc=$?
    set +e
    local pid
    for pid in "${STOPPED[@]}"; do kill -CONT "$pid" 2>/dev/null; done
    # reverse order: clients/captures first, then ganesha, then rpcbind
    for ((i=${#PIDS[@]}-1; i>=0; i--)); do kill_pid "${PIDS[i]}"; done
    kill_ns_leftovers
    ip netns del "$NS_C" 2>/dev/null
    ip netns del "$NS_S" 2>/dev/null
    rm -rf "$WORK"
    ((rc)) && log "failed (exit $rc); lab torn down"
    exit $rc
}
[[ -n $VIEWS_ONLY ]] || trap teardown EXIT
trap 'exit 130' INT TERM

# ---- 3. the lab ---------------------------------------------------------------
# CNS/SNS: prefix that runs a command in the client/server namespace, each in
# its own UTS namespace with a fixed hostname, so that no tool can put this
# machine's real name into a capture (libnfs itself sends "libnfs" as the
# AUTH_SYS machine name; rpcinfo uses AUTH_NONE).
# Each step execs the next, so after `"${CNS[@]}" CMD &` (a simple command, NOT
# a shell function: backgrounding a function forks a subshell and $! would be
# the subshell's PID) "$!" is the PID of CMD itself, which we SIGSTOP/kill.
CNS=(ip netns exec "$NS_C" unshare --uts sh -c 'hostname nfsstall-client; exec "$@"' sh)
SNS=(ip netns exec "$NS_S" unshare --uts sh -c 'hostname nfsstall-server; exec "$@"' sh)
cns() { "${CNS[@]}" "$@"; }   # foreground use only

# Repetitive text, so gzip squeezes the captured payload to almost nothing.
gen_text() {   # gen_text BYTES FILE
    yes 'nfsstall capture lab: the quick brown fox jumps over the lazy dog 0123456789' \
        | head -c "$1" > "$2" || true     # `yes` dies of SIGPIPE: expected
}

setup_lab() {
    log "setting up namespaces $NS_C <-> $NS_S"
    kill_ns_leftovers
    ip netns del "$NS_C" 2>/dev/null || true
    ip netns del "$NS_S" 2>/dev/null || true
    ip link del "$VETH_C" 2>/dev/null || true
    rm -rf "$WORK"
    mkdir -p "$WORK"

    ip netns add "$NS_C"
    ip netns add "$NS_S"
    ip link add "$VETH_C" address "$MAC_C" netns "$NS_C" type veth \
        peer name "$VETH_S" address "$MAC_S" netns "$NS_S"
    local ns dev
    for ns in "$NS_C" "$NS_S"; do
        [[ $ns == "$NS_C" ]] && dev=$VETH_C || dev=$VETH_S
        # IPv6 off until the ipv6 capture wants it: otherwise router
        # solicitations, MLD reports and DAD probes clutter every capture.
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
            net.ipv6.conf.default.disable_ipv6=1
        ip -n "$ns" link set lo up
        # Offloads off: frames on the wire (and in the capture) are then at most
        # 1514 bytes with real checksums instead of 64 KiB super-frames.
        ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off tx off >/dev/null 2>&1 || true
        ip -n "$ns" link set "$dev" mtu 1500 up
    done
    ip -n "$NS_C" addr add "$C4/24" dev "$VETH_C"
    ip -n "$NS_S" addr add "$S4/24" dev "$VETH_S"
    # Permanent neighbour entries: no ARP exchange in the middle of a capture.
    ip -n "$NS_C" neigh replace "$S4" lladdr "$MAC_S" dev "$VETH_C" nud permanent
    ip -n "$NS_S" neigh replace "$C4" lladdr "$MAC_C" dev "$VETH_S" nud permanent

    # ---- export contents (text: compressible) ----
    mkdir -p "$EXPORT/dir1/dir2" "$WORK/local"
    gen_text $((5 * 1024 * 1024 / 2)) "$EXPORT/big.txt"        # 2.5 MiB: 3 READs
    gen_text $((1024 * 1024 + 4096)) "$EXPORT/one-mib.txt"     # 2 READs
    gen_text 20000 "$EXPORT/small.txt"
    gen_text 3000 "$EXPORT/dir1/a.txt"
    gen_text 4000 "$EXPORT/dir1/dir2/b.txt"
    gen_text $((8 * 1024 * 1024)) "$EXPORT/paced.txt"          # stall cases: 8 READs
    gen_text $((5 * 1024 * 1024 / 2)) "$WORK/local/upload.txt" # 2.5 MiB: 3 WRITEs
    gen_text 50000 "$WORK/local/up-small.txt"
    chmod -R a+rwX "$EXPORT"

    cc -O2 -Wall -o "$WORK/nfs-ops" "$OUT/nfs-ops.c" -lnfs
    cc -O2 -Wall -o "$WORK/nfs-lock" "$OUT/nfs-lock.c" -lnfs
    start_server
}

start_server() {
    start_rpcbind
    start_ganesha
}

# GANESHA_MODE: v3 (the issue-3 captures: NFSv3 only, Graceless, as they were
# made) or v4 (Protocols = 3, 4, a 5 s grace period with an fs recovery
# directory, and a second export with 64 KiB READ/WRITE size for paced
# NFSv4 reads). The nfs4-* captures switch to v4 (use_v4_server).
GANESHA_MODE=v3
V4GRACE=5         # NFSV4 Grace_Period (s) in v4 mode
V4LEASE=5         # NFSV4 Lease_Lifetime (s) in v4 mode (not above the grace period)
EXPORT64=$WORK/export64   # v4 mode: second export, MaxRead = MaxWrite = 64 KiB
RECOVERY=$WORK/v4recov    # v4 mode: fs recovery backend's root (client records)

ganesha_conf() {
    local protos=3 nfsv4='NFSV4 { Graceless = true; }' export2=
    if [[ $GANESHA_MODE == v4 ]]; then
        protos='3, 4'
        # Not graceless: after a crash (SIGKILL) ganesha finds the clients'
        # records in RecoveryRoot and refuses new OPENs with NFS4ERR_GRACE
        # for Grace_Period seconds (nfs4-grace). Lease_Lifetime may not be
        # longer than the grace period.
        nfsv4="NFSV4 {
    Graceless = false;
    Grace_Period = $V4GRACE;
    Lease_Lifetime = $V4LEASE;
    RecoveryBackend = fs;
    RecoveryRoot = $RECOVERY;
}"
        export2="EXPORT {
    Export_Id = 2;
    Path = $EXPORT64;
    Pseudo = /export64;
    Access_Type = RW;
    Squash = No_Root_Squash;
    Protocols = 4;
    Transports = TCP;
    SecType = sys;
    MaxRead = 65536;
    MaxWrite = 65536;
    PrefRead = 65536;
    PrefWrite = 65536;
    FSAL { Name = VFS; }
}"
    fi
    cat > "$WORK/ganesha.conf" <<EOF
# Generated by make-captures.sh ($GANESHA_MODE mode). NLM and RQUOTA off so
# that only NFS (2049) and MOUNT (20048) are registered with rpcbind.
NFS_CORE_PARAM {
    Protocols = $protos;
    NFS_Port = 2049;
    MNT_Port = 20048;
    Enable_NLM = false;
    Enable_RQUOTA = false;
}
$nfsv4
EXPORT {
    Export_Id = 1;
    Path = $EXPORT;
    Pseudo = /export;
    Access_Type = RW;
    Squash = No_Root_Squash;
    Protocols = $protos;
    Transports = TCP, UDP;
    SecType = sys;
    FSAL { Name = VFS; }
}
$export2
LOG { Default_Log_Level = EVENT; }
EOF
}

start_rpcbind() {
    mkdir -p /var/run/ganesha /var/lib/nfs/ganesha
    # rpcbind first: ganesha exits at start if it cannot register (capture-lab.md).
    # Plain `-f` (foreground); `-h ADDR` aborts with a double free in Debian 12.
    "${SNS[@]}" rpcbind -f > "$WORK/rpcbind.log" 2>&1 &
    RPCBIND_PID=$!; PIDS+=("$RPCBIND_PID")
    wait_for "rpcbind" 50 ip netns exec "$NS_S" rpcinfo -p 127.0.0.1
}

start_ganesha() {   # start_ganesha [nowarm]
    ganesha_conf
    "${SNS[@]}" ganesha.nfsd -F -f "$WORK/ganesha.conf" -L "$WORK/ganesha.log" \
        -p "$WORK/ganesha.pid" -N NIV_EVENT > "$WORK/ganesha.out" 2>&1 &
    GANESHA_PID=$!; PIDS+=("$GANESHA_PID")
    local want='3 *tcp *2049'
    [[ $GANESHA_MODE == v4 ]] && want='4 *tcp *2049'
    # Registered with rpcbind and listening (after a SIGKILL the old
    # registration is still there: rpcinfo alone would not tell).
    if ! wait_for "ganesha" 150 sh -c "ip netns exec $NS_S rpcinfo -p 127.0.0.1 | grep -q '$want' \
            && ip netns exec $NS_S rpcinfo -p 127.0.0.1 | grep -q 20048 \
            && ip netns exec $NS_S ss -Hltn 'sport = :2049' | grep -q ."; then
        cat "$WORK/ganesha.log" "$WORK/ganesha.out" >&2 || true
        die "ganesha did not register NFS / MOUNT"
    fi
    [[ $(ps -o comm= -p "$GANESHA_PID") == ganesha.nfsd ]] || die "PID $GANESHA_PID is not ganesha"
    # One throw-away listing so the server is warm (exports loaded, first
    # handles cached) before anything is captured.
    [[ ${1:-} == nowarm ]] || cns nfs-ls "$(url /)" >/dev/null
    log "ganesha up (pid $GANESHA_PID, $GANESHA_MODE mode), rpcbind pid $RPCBIND_PID"
}

# stop_ganesha [SIG]: stop the running ganesha (TERM: clean; KILL: a crash,
# its NFSv4 client records stay in $RECOVERY).
stop_ganesha() {
    kill_pid "$GANESHA_PID" "${1:-TERM}"; forget_pid "$GANESHA_PID"; GANESHA_PID=
}

# wait_no_grace: wait (up to 40 s) until ganesha's log says its grace period
# is over (it logs "NOT IN GRACE" when it lifts it).
wait_no_grace() {
    wait_for "ganesha to leave its grace period" 400 \
        sh -c "grep -i 'in grace' '$WORK/ganesha.log' | tail -n 1 | grep -q 'NOT IN GRACE'" \
        || grep -i grace "$WORK/ganesha.log" | tail -5 >&2
}

use_v4_server() {
    [[ $GANESHA_MODE == v4 ]] && return 0
    log "restarting ganesha with NFSv4 (v4 mode)"
    stop_ganesha
    GANESHA_MODE=v4
    mkdir -p "$EXPORT64" "$RECOVERY"
    [[ -e $EXPORT64/paced.txt ]] || gen_text $((8 * 1024 * 1024)) "$EXPORT64/paced.txt"
    [[ -e $EXPORT/v4-200k.txt ]] || gen_text 200000 "$EXPORT/v4-200k.txt"
    [[ -e $WORK/local/v4-up.txt ]] || gen_text 3000 "$WORK/local/v4-up.txt"
    chmod -R a+rwX "$EXPORT64" "$EXPORT"
    start_ganesha
    wait_no_grace
}

wait_for() {   # wait_for WHAT TRIES CMD...: poll CMD every 0.1 s
    local what=$1 tries=$2; shift 2
    local i
    for ((i=0; i<tries; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        # (the polled command may be a grep on a log file that has no match yet)
        sleep 0.1
    done
    log "timeout waiting for $what"; return 1
}

url() {        # url PATH-IN-EXPORT [HOST]
    echo "nfs://${2:-$S4}$EXPORT${1}?$NFSOPTS"
}

# NFSv4: the pseudo path (no MOUNT protocol), e.g. url4 /export/small.txt.
NFS4OPTS='version=4&nfsport=2049'
url4() {       # url4 PSEUDO-PATH [HOST]
    echo "nfs://${2:-$S4}${1}?$NFS4OPTS"
}

# ---- 4. capture helpers --------------------------------------------------------
CAP_PID= ; CAP_ERR=
# start_capture FILE [tcpdump|dumpcap] [extra args...]: capture inside the
# client namespace (CAP_NS=$NS_S: the server's); returns once the capturer
# says it is listening.
start_capture() {
    local file=$1 tool=${2:-tcpdump}; shift 2 || shift $#
    CAP_ERR=$WORK/$(basename "$file").capture.log
    rm -f "$file"
    if [[ $tool == dumpcap ]]; then
        # -B 256 (MiB): with the default 2 MiB buffer dumpcap drops frames
        # during a 1 MiB READ burst (capture-lab.md).
        ip netns exec "${CAP_NS:-$NS_C}" dumpcap -B 256 -w "$file" "$@" 2> "$CAP_ERR" &
    else
        # -U: write each packet at once; -Z root: Debian's tcpdump would
        # otherwise drop to user tcpdump and fail to write into $WORK;
        # -B 65536 KiB buffer so no frame is dropped in 1 MiB bursts.
        ip netns exec "${CAP_NS:-$NS_C}" tcpdump -n -U -Z root -B 65536 -w "$file" "$@" 2> "$CAP_ERR" &
    fi
    CAP_PID=$!; PIDS+=("$CAP_PID")
    wait_for "$tool to listen" 100 grep -qE 'listening on|Capturing on' "$CAP_ERR" \
        || { cat "$CAP_ERR" >&2; die "$tool did not start"; }
    sleep 0.5
}

stop_capture() {
    # 2 s grace: tcpdump loses what is still in its buffer if stopped right
    # after the last packet (capture-lab.md).
    sleep 2
    kill -INT "$CAP_PID"
    wait "$CAP_PID" || true
    forget_pid "$CAP_PID"
    # Drop counters: tcpdump "N packets dropped by kernel|interface";
    # dumpcap "Packets received/dropped on interface 'X': R/D (...)".
    local drops
    drops=$( { grep -oE '[0-9]+ packets dropped by (kernel|interface)' "$CAP_ERR" | awk '{print $1}'
               grep -oE "received/dropped on interface '[^']*': [0-9]+/[0-9]+" "$CAP_ERR" | awk -F/ '{print $NF}'
             } | awk '{s+=$1} END{print s+0}' || true)
    { grep -iE 'packets' "$CAP_ERR" || true; } | tr '\n' ' ' | sed 's/^/    /' >&2; echo >&2
    ((drops == 0)) || log "WARNING: capture dropped $drops packets"
}

TICK_PID=
# Light background traffic (UDP portmapper NULL calls every 2 s): a pcap has
# no end-of-capture marker, so without later frames a stall at the end of a
# file could not be told from a capture that just stopped.
start_ticker() {
    ip netns exec "$NS_C" bash -c "while :; do rpcinfo -u $S4 portmapper 2 >/dev/null 2>&1 || true; sleep 2; done" &
    TICK_PID=$!; PIDS+=("$TICK_PID")
}
stop_ticker() {
    kill_pid "$TICK_PID"; forget_pid "$TICK_PID"; TICK_PID=
}

# The client, started in the background as one process (so its PID is known):
# nfs-cat writes into a FIFO that pv drains at a fixed rate. pv's 64 KiB pipe
# fills, nfs-cat blocks in write(), and so it asks for the next 1 MiB READ
# about once a second at 1m.
CLIENT_PID= ; PV_PID=
start_paced_cat() {   # start_paced_cat PATH|nfs://URL RATE
    local u=$1
    [[ $u == nfs://* ]] || u=$(url "$1")
    rm -f "$WORK/fifo"; mkfifo "$WORK/fifo"
    pv -qL "$2" < "$WORK/fifo" > /dev/null &
    PV_PID=$!; PIDS+=("$PV_PID")
    "${CNS[@]}" nfs-cat "$u" > "$WORK/fifo" &
    CLIENT_PID=$!; PIDS+=("$CLIENT_PID")
}
wait_client() {       # wait until the client (and pv) finished by themselves
    wait "$CLIENT_PID" || log "WARNING: client exited with $?"
    [[ -n $PV_PID ]] && { wait "$PV_PID" || true; forget_pid "$PV_PID"; PV_PID=; }
    forget_pid "$CLIENT_PID"; CLIENT_PID=
}
stop_client() {       # stop the paced client (and pv) before it is done
    kill_pid "$CLIENT_PID"; forget_pid "$CLIENT_PID"; CLIENT_PID=
    [[ -n $PV_PID ]] && { kill_pid "$PV_PID"; forget_pid "$PV_PID"; PV_PID=; }
}

# store RAW NAME: move a finished capture into testdata, gzip'd if large.
# gzip -n: no name/timestamp in the header, so same bytes give same .gz.
store() {
    local raw=$1 name=$2 ext=${raw##*.}
    rm -f "$OUT/$name.$ext" "$OUT/$name.$ext.gz"
    if (( $(stat -c %s "$raw") > 64 * 1024 )); then
        gzip -9n -c "$raw" > "$OUT/$name.$ext.gz"
        STORED=$OUT/$name.$ext.gz
    else
        cp "$raw" "$OUT/$name.$ext"
        STORED=$OUT/$name.$ext
    fi
    log "stored $(basename "$STORED") ($(stat -c %s "$STORED") bytes)"
}

# ---- 5. tshark views -----------------------------------------------------------
RPC_FIELDS=(frame.number frame.time_epoch ip.src ipv6.src tcp.srcport udp.srcport
    ip.dst ipv6.dst tcp.dstport udp.dstport tcp.stream rpc.xid rpc.msgtyp
    rpc.program rpc.programversion rpc.procedure rpc.replystat rpc.state_accept
    rpc.time rpc.repframe rpc.reqframe rpc.lastfrag rpc.fraglen rpc.auth.flavor
    rpc.auth.machinename rpc.auth.uid nfs.status nfs.fh.hash nfs.offset3
    nfs.count3 nfs.read.eof nfs.write.stable nfs.write.committed nfs.name)
# frame.len - frame.cap_len: the bytes of a frame the snaplen cut (all TCP
# payload here: every header fits in 200 bytes), for the missing-bytes oracle.
TCP_FIELDS=(frame.number frame.time_epoch tcp.stream ip.src ipv6.src tcp.srcport
    ip.dst ipv6.dst tcp.dstport tcp.seq_raw tcp.ack_raw tcp.len tcp.flags tcp.seq
    tcp.window_size_value tcp.window_size tcp.window_size_scalefactor
    frame.len frame.cap_len)
# Expert-info flags are FT_NONE. tshark 4.0.17 prints "1" for a present FT_NONE
# field with `-T fields -e`, but that is not promised (other versions print an
# empty cell, set or not). So: take the flags from the one `-T fields` pass
# (non-empty -> 1, empty -> 0), count each flag independently with
# `-z io,stat,0,tcp.analysis.X,...` (a display filter per column: reliable for
# FT_NONE), and if any column's count of 1s differs, rebuild that column from
# its own `-Y tcp.analysis.X` pass (frames listed -> 1, others 0).
# Every flag nfsstall sets (analysisNames in tcpflow/analysis.go) has a
# column: the tests compare each one frame by frame and skip none.
TCP_FLAGS=(retransmission fast_retransmission spurious_retransmission out_of_order
    lost_segment ack_lost_segment duplicate_ack zero_window zero_window_probe
    zero_window_probe_ack keep_alive keep_alive_ack window_full window_update)

ts() {  # tshark with the fixed oracle options; a capture cut mid-record makes
        # tshark exit 2 after printing all complete frames: that is fine here.
    local rc=0
    tshark "${TSHARK_OPTS[@]}" "$@" 2>>"$TS_ERR" || rc=$?
    ((rc == 0 || rc == 2)) || { cat "$TS_ERR" >&2; die "tshark failed ($rc)"; }
}

# View files are named after the capture file without ".gz":
# mixed.pcap.gz -> mixed.pcap.rpc.tsv, mixed.pcapng -> mixed.pcapng.rpc.tsv.
make_views() {  # make_views STORED_FILE
    local f=$1 name base
    base=$(basename "$f"); name=${base%.gz}
    rm -f "$OUT/$name".{rpc,tcp}.tsv{,.gz}
    TS_ERR=$WORK/$name.tshark.err; : > "$TS_ERR"
    # Run from $OUT with a relative name so no absolute path lands in the views.
    (
        cd "$OUT"
        local fa=() x
        for x in "${RPC_FIELDS[@]}"; do fa+=(-e "$x"); done
        ts -r "$base" -Y rpc -T fields -E header=y -E separator=/t -E occurrence=a \
            -E aggregator=, "${fa[@]}" > "$name.rpc.tsv"
        ts -r "$base" -q -z rpc,srt,100003,3 > "$name.srt.txt"

        fa=()
        for x in "${TCP_FIELDS[@]}"; do fa+=(-e "$x"); done
        for x in "${TCP_FLAGS[@]}"; do fa+=(-e "tcp.analysis.$x"); done
        local nf=${#TCP_FIELDS[@]} nflags=${#TCP_FLAGS[@]}
        ts -r "$base" -Y tcp -T fields -E header=y -E separator=/t -E occurrence=a \
            -E aggregator=, "${fa[@]}" \
          | awk -F'\t' -v OFS='\t' -v nf="$nf" 'NR > 1 { for (i = nf + 1; i <= NF; i++) $i = ($i == "" ? 0 : 1) } 1' \
          > "$name.tcp.tsv"
        # Independent per-flag frame counts (one pass, one column per flag).
        local io=tcp.analysis.${TCP_FLAGS[0]}
        for x in "${TCP_FLAGS[@]:1}"; do io+=",tcp.analysis.$x"; done
        local want got i bad=()
        want=$(ts -r "$base" -q -z "io,stat,0,$io" \
            | awk -F'|' -v n="$nflags" '/<>/ { for (i = 1; i <= n; i++) printf "%d ", $(2 * i + 1) }')
        got=$(awk -F'\t' -v nf="$nf" -v n="$nflags" 'NR > 1 { for (i = 1; i <= n; i++) c[i] += $(nf + i) }
                 END { for (i = 1; i <= n; i++) printf "%d ", c[i] }' "$name.tcp.tsv")
        read -ra want <<<"$want"; read -ra got <<<"$got"
        ((${#want[@]} == nflags)) || die "$name: could not read io,stat flag counts"
        for ((i = 0; i < nflags; i++)); do
            [[ ${want[i]} == "${got[i]}" ]] || bad+=("$i")
        done
        for i in "${bad[@]}"; do
            x=${TCP_FLAGS[i]}
            log "$name: -T fields gave ${got[i]} frames with tcp.analysis.$x, a filter gives ${want[i]}: rebuilding that column"
            ts -r "$base" -Y "tcp.analysis.$x" -T fields -e frame.number > "$WORK/$name.flag"
            awk -F'\t' -v OFS='\t' -v col=$((nf + i + 1)) -v setf="$WORK/$name.flag" '
                FILENAME == setf { set[$1] = 1; next }
                FNR > 1 { $col = ($1 in set) ? 1 : 0 } 1' "$WORK/$name.flag" "$name.tcp.tsv" > "$WORK/$name.tcp.fixed"
            mv "$WORK/$name.tcp.fixed" "$name.tcp.tsv"
        done
        # capinfos also complains (and exits non-zero) about a cut file: keep
        # its message in the view, that is what the file is for.
        capinfos -M "$base" > "$name.capinfos.txt" 2>&1 || true
    )
    # Views over 256 KiB are stored gzip'd (NAME.tcp.tsv.gz), like the
    # captures, to keep testdata small; the text compresses ~10:1.
    local v
    for v in "$OUT/$name".{rpc,tcp}.tsv; do
        if (( $(stat -c %s "$v") > 256 * 1024 )); then gzip -9nf "$v"; fi
    done
    # tshark always warns about running as root: not worth keeping.
    sed -i '/Running as user "root"/d' "$TS_ERR"
    if [[ -s $TS_ERR ]]; then
        log "tshark said (kept in $name.tshark-stderr.txt):"; sort -u "$TS_ERR" | sed 's/^/    /' >&2
        sort -u "$TS_ERR" > "$OUT/$name.tshark-stderr.txt"
    else
        rm -f "$OUT/$name.tshark-stderr.txt"
    fi
}

# The NFSv4 view (nfs4-* captures only): one row per frame tshark shows as
# an NFS (program 100003) message, all occurrences comma-joined in the order
# tshark shows them. nfs.nfsstat4 holds the compound's status, then each
# op's (and each READDIR entry's rdattr_error); nfs.count4 READ's and
# COMMIT's count in calls, WRITE's count in replies; rpc.time on replies.
NFS4_FIELDS=(frame.number rpc.xid rpc.msgtyp nfs.main_opcode nfs.opcode nfs.nfsstat4
    nfs.count4 rpc.time nfs.minorversion nfs.tag)

make_nfs4_view() {  # make_nfs4_view STORED_FILE: writes NAME.nfs4.tsv
    local f=$1 name base
    base=$(basename "$f"); name=${base%.gz}
    rm -f "$OUT/$name".nfs4.tsv{,.gz}
    TS_ERR=$WORK/$name.tshark4.err; : > "$TS_ERR"
    (
        cd "$OUT"
        local fa=() x
        for x in "${NFS4_FIELDS[@]}"; do fa+=(-e "$x"); done
        ts -r "$base" -Y 'rpc.program == 100003' -T fields -E header=y -E separator=/t \
            -E occurrence=a -E aggregator=, "${fa[@]}" > "$name.nfs4.tsv"
    )
    local v=$OUT/$name.nfs4.tsv
    if (( $(stat -c %s "$v") > 256 * 1024 )); then gzip -9nf "$v"; fi
}

# The SACK view (mtu-* captures only): every TCP segment that carries SACK
# blocks, with raw sequence numbers (tcp.seq_raw has no raw twin for the
# SACK edges: relative numbers are turned off instead).
make_sack_view() {  # make_sack_view STORED_FILE: writes NAME.sack.tsv
    local f=$1 name base
    base=$(basename "$f"); name=${base%.gz}
    TS_ERR=$WORK/$name.tshark-sack.err; : > "$TS_ERR"
    (
        cd "$OUT"
        ts -r "$base" -o tcp.relative_sequence_numbers:FALSE -Y tcp.options.sack_le -T fields -E header=y \
            -E separator=/t -E occurrence=a -E aggregator=, -e frame.number -e tcp.stream \
            -e tcp.srcport -e tcp.ack_raw -e tcp.options.sack_le -e tcp.options.sack_re > "$name.sack.tsv"
    )
}

# q FILE FILTER [FIELDS...]: tshark query used by the shape checks below.
q() {
    local f=$1 filter=$2; shift 2
    local fa=() x
    for x in "$@"; do fa+=(-e "$x"); done
    ((${#fa[@]})) || fa=(-e frame.number)
    tshark "${TSHARK_OPTS[@]}" -r "$f" -Y "$filter" -T fields -E separator=/t \
        -E occurrence=a -E aggregator=, "${fa[@]}" 2>/dev/null || true
}
count() { q "$@" | grep -c . || true; }

# ---- 6. the captures ---------------------------------------------------------------
# Each cap_NAME makes $WORK/NAME.pcap(ng), stores it, writes views, checks shape.

cap_mixed() {
    local raw=$WORK/mixed.pcap
    start_capture "$raw" tcpdump -i "$VETH_C"
    cns nfs-ls "$(url /)" >/dev/null                        # MNT, READDIRPLUS, ...
    cns nfs-ls -R "$(url /dir1)" >/dev/null                 # LOOKUPs, nested dirs
    cns nfs-cp "$WORK/local/upload.txt" "$(url /upload.txt)"  # CREATE + 3 WRITEs
    cns nfs-cat "$(url /big.txt)" > /dev/null               # 3 READs (1 MiB max)
    cns nfs-cp "$(url /small.txt)" "$WORK/local/small.copy" # LOOKUP/GETATTR/READ
    cns nfs-cp "$(url /dir1/a.txt)" "$(url /dir1/a-copy.txt)"  # READ + CREATE + WRITE
    cns nfs-cat "$(url /no-such-file)" >/dev/null 2>&1 || true # LOOKUP -> NOENT
    cns nfs-ls -s "$(url /)" >/dev/null                     # summary: FSSTAT
    # MKDIR CREATE WRITE COMMIT SETATTR RENAME LINK SYMLINK READLINK REMOVE
    # RMDIR, and the errors EXIST, NOTEMPTY, NOENT (see nfs-ops.c).
    cns "$WORK/nfs-ops" "$(url /)" >/dev/null
    stop_capture
    store "$raw" mixed; make_views "$STORED"
    local w r
    w=$(count "$STORED" 'nfs.procedure_v3 == 7 && rpc.msgtyp == 0')
    r=$(count "$STORED" 'nfs.procedure_v3 == 6 && rpc.msgtyp == 0')
    check "mixed: WRITE calls" "$w" -ge 3
    check "mixed: READ calls" "$r" -ge 3
    check "mixed: REMOVE/RENAME/MKDIR/RMDIR/SETATTR/SYMLINK/LINK calls" \
        "$(q "$STORED" 'rpc.msgtyp == 0 && nfs' nfs.procedure_v3 | sort -u | grep -cxE '2|9|10|12|13|14|15' || true)" -ge 7
}

cap_mixed-pcapng() {
    local raw=$WORK/mixed.pcapng
    start_capture "$raw" dumpcap -i "$VETH_C"
    cns nfs-ls "$(url /)" >/dev/null
    cns nfs-cp "$WORK/local/up-small.txt" "$(url /up-small.txt)"
    cns nfs-cat "$(url /one-mib.txt)" > /dev/null
    cns nfs-cat "$(url /dir1/dir2/b.txt)" > /dev/null
    stop_capture
    store "$raw" mixed; make_views "$STORED"
}

cap_any-sll2() {
    # -i any inside the client namespace: tcpdump writes LINUX_SLL2 (DLT 276),
    # not Ethernet; the decoder has to cope with the cooked header.
    local raw=$WORK/any-sll2.pcap
    start_capture "$raw" tcpdump -i any
    cns nfs-ls "$(url /)" >/dev/null
    cns nfs-cat "$(url /one-mib.txt)" > /dev/null
    stop_capture
    store "$raw" any-sll2; make_views "$STORED"
    check "any-sll2 is LINUX_SLL2" "$(capinfos -E "$STORED" | grep -c 'cooked-mode capture v2' || true)" -ge 1
}

cap_snap200() {
    # Snap length 200: every frame is cut after 200 bytes, so WRITE payloads
    # and READ data are missing, but every call and reply header is there.
    local raw=$WORK/snap200.pcap
    start_capture "$raw" tcpdump -i "$VETH_C" -s 200
    cns nfs-cp "$WORK/local/upload.txt" "$(url /snap-upload.txt)"
    cns nfs-cat "$(url /big.txt)" > /dev/null
    stop_capture
    store "$raw" snap200; make_views "$STORED"
    check "snap200: WRITE calls seen" "$(count "$STORED" 'nfs.procedure_v3 == 7 && rpc.msgtyp == 0')" -ge 3
    check "snap200: READ replies seen" "$(count "$STORED" 'nfs.procedure_v3 == 6 && rpc.msgtyp == 1')" -ge 3
}

cap_udp-null() {
    # libnfs cannot do NFS over UDP; rpcinfo -u makes real NULL calls over UDP
    # (to NFS 3 and MOUNT 3 at the ports rpcbind hands out, and to portmap).
    local raw=$WORK/udp-null.pcap i
    start_capture "$raw" tcpdump -i "$VETH_C"
    for i in 1 2 3; do cns rpcinfo -u "$S4" nfs 3; done
    cns rpcinfo -u "$S4" mountd 3
    cns rpcinfo -u "$S4" portmapper
    stop_capture
    store "$raw" udp-null; make_views "$STORED"
    check "udp-null: NFS NULL over UDP answered" \
        "$(count "$STORED" 'udp && rpc.program == 100003 && rpc.procedure == 0 && rpc.msgtyp == 1')" -ge 3
}

# Byte offsets of the records of a little-endian microsecond pcap
# (as tcpdump writes): prints "INDEX OFFSET INCL_LEN" per record.
pcap_records() {
    local f=$1 size off=24 i=1 incl
    size=$(stat -c %s "$f")
    while ((off + 16 <= size)); do
        incl=$(od -An -tu4 -j $((off + 8)) -N 4 "$f" | tr -d ' ')
        echo "$i $off $incl"
        off=$((off + 16 + incl)); i=$((i + 1))
    done
}

cap_cut() {
    # A small healthy capture, then cut with head -c in the middle of one
    # record's packet data: the file ends inside a frame, as when tcpdump is
    # killed hard or a disk fills. Which record: the first full-size frame
    # (READ reply data) in the second half of the file, cut 700 bytes into it.
    local raw=$WORK/cut-source.pcap n cut
    start_capture "$raw" tcpdump -i "$VETH_C"
    cns nfs-ls "$(url /dir1)" >/dev/null
    cns nfs-cat "$(url /small.txt)" > /dev/null
    stop_capture
    pcap_records "$raw" > "$WORK/cut.records"
    n=$(wc -l < "$WORK/cut.records")
    cut=$(awk -v half=$(( (n + 1) / 2 )) '$1 >= half && $3 > 1000 { print $2 + 16 + 700; exit }' "$WORK/cut.records")
    [[ -n $cut ]] || die "cut: no full-size frame in the second half"
    head -c "$cut" "$raw" > "$WORK/cut.pcap"
    log "cut: source has $n records, cut at byte $cut of $(stat -c %s "$raw")"
    store "$WORK/cut.pcap" cut; make_views "$STORED"
    check "cut: tshark reports the cut record" \
        "$(grep -c 'cut short in the middle of a packet' "$OUT/cut.pcap.tshark-stderr.txt" || true)" -ge 1
}

cap_ipv6() {
    # Same kind of traffic over IPv6 (ULA fd00:198:18::/64). IPv6 is switched
    # on only for this capture; nodad + a short wait keep the neighbour
    # discovery noise out of the file.
    local raw=$WORK/ipv6.pcap ns
    for ns in "$NS_C" "$NS_S"; do
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 \
            net.ipv6.conf.default.disable_ipv6=0 \
            net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
    done
    ip netns exec "$NS_C" sysctl -qw net.ipv6.conf.$VETH_C.disable_ipv6=0 net.ipv6.conf.$VETH_C.accept_ra=0
    ip netns exec "$NS_S" sysctl -qw net.ipv6.conf.$VETH_S.disable_ipv6=0 net.ipv6.conf.$VETH_S.accept_ra=0
    ip -n "$NS_C" addr add "$C6/64" dev "$VETH_C" nodad
    ip -n "$NS_S" addr add "$S6/64" dev "$VETH_S" nodad
    ip -n "$NS_C" neigh replace "$S6" lladdr "$MAC_S" dev "$VETH_C" nud permanent
    ip -n "$NS_S" neigh replace "$C6" lladdr "$MAC_C" dev "$VETH_S" nud permanent
    sleep 3
    # Filter: IPv6 only and no ICMPv6 (late MLD reports / neighbour discovery
    # after IPv6 was switched on are not what this capture is about).
    start_capture "$raw" tcpdump -i "$VETH_C" ip6 and not icmp6
    # libnfs 4.0 takes a bare IPv6 address as URL host; "[addr]" is rejected
    # ("Invalid address:[fd00:198:18::2]").
    cns nfs-ls "$(url / "$S6")" >/dev/null
    cns nfs-cp "$WORK/local/up-small.txt" "$(url /v6-upload.txt "$S6")"
    cns nfs-cat "$(url /one-mib.txt "$S6")" > /dev/null
    cns rpcinfo -u "$S6" nfs 3 >/dev/null
    stop_capture
    store "$raw" ipv6; make_views "$STORED"
    check "ipv6: NFS replies over IPv6" "$(count "$STORED" 'ipv6 && rpc.program == 100003 && rpc.msgtyp == 1')" -ge 3
}

# --- issue 3: stall shapes ----------------------------------------------------

cap_stall-server-stopped() {
    # Paced reader (1 MiB READ about once a second); the server process is
    # frozen with SIGSTOP for 10 s: its kernel still ACKs the READ call, but no
    # reply comes until SIGCONT.
    local raw=$WORK/stall-server-stopped.pcap t0
    start_capture "$raw" tcpdump -i "$VETH_C"
    start_ticker
    start_paced_cat /paced.txt 1m
    sleep 3.5
    t0=$(date +%s.%N)
    kill -STOP "$GANESHA_PID"; STOPPED+=("$GANESHA_PID")
    sleep 10
    kill -CONT "$GANESHA_PID"
    wait_client
    sleep 2
    stop_ticker
    stop_capture
    store "$raw" stall-server-stopped; make_views "$STORED"
    # Evidence: the NFS call with the longest wait for its reply.
    local worst
    worst=$(q "$STORED" 'rpc.msgtyp == 1 && rpc.program == 100003' rpc.time rpc.repframe frame.number rpc.xid | sort -gr | head -1)
    log "stall-server-stopped: longest reply (rpc.time call-frame reply-frame xid): $worst"
    check "stall-server-stopped: a reply took >= 9 s" "$(awk '{print int($1)}' <<<"$worst")" -ge 9
}

cap_stall-server-hung() {
    # As stall-server-stopped, but the capture ends while the server is still
    # frozen (thawed only after tcpdump stopped): the READ call was ACKed by
    # the server's kernel and its reply never comes, as in the lab repro of
    # the incident. The ticker keeps frames coming after the stall.
    local raw=$WORK/stall-server-hung.pcap
    start_capture "$raw" tcpdump -i "$VETH_C"
    start_ticker
    start_paced_cat /paced.txt 1m
    sleep 3.5
    kill -STOP "$GANESHA_PID"; STOPPED+=("$GANESHA_PID")
    sleep 10
    stop_capture
    stop_ticker
    kill -CONT "$GANESHA_PID"
    wait_client
    store "$raw" stall-server-hung; make_views "$STORED"
    # Evidence: an NFS call tshark shows with no reply (no rpc.reqframe).
    local lone
    lone=$(q "$STORED" 'rpc.msgtyp == 0 && rpc.program == 100003 && !rpc.reqframe' frame.number rpc.xid)
    log "stall-server-hung: NFS calls without a reply (frame xid): $lone"
    check "stall-server-hung: unanswered NFS call" "$(grep -c . <<<"$lone" || true)" -ge 1
}

cap_stall-client-noack() {
    # Client's pure ACKs to 2049 are dropped in OUTPUT (before the packet
    # reaches the device, so tcpdump on the veth never sees them): the server
    # sends its initial window of the next READ reply, then retransmits it with
    # exponential backoff. The rule is removed by its exact spec once the
    # capture has stopped.
    local raw=$WORK/stall-client-noack.pcap
    local rule=(OUTPUT -p tcp -d "$S4" --dport 2049 --tcp-flags ALL ACK -j DROP)
    start_capture "$raw" tcpdump -i "$VETH_C"
    start_ticker
    start_paced_cat /paced.txt 1m
    sleep 3.5
    local t_in t_out
    ip netns exec "$NS_C" iptables -I "${rule[@]}"; t_in=$(date +%s.%N)
    sleep 12
    # The capture ends while the ACKs are still dropped, as in the incident:
    # the last frames are the server's backed-off retransmissions and the
    # ticker, so the file shows data the client has not ACKed for seconds.
    stop_capture
    t_out=$(date +%s.%N)
    stop_ticker
    ip netns exec "$NS_C" iptables -D "${rule[@]}"
    wait_client
    store "$raw" stall-client-noack; make_views "$STORED"
    local rtx acks
    # Only retransmissions after the rule went in: veth reordering makes tshark
    # flag "retransmissions" inside healthy 1 MiB replies too (capture-lab.md).
    rtx=$(q "$STORED" "tcp.analysis.retransmission && ip.src == $S4 && tcp.srcport == 2049 && frame.time_epoch > $t_in" \
        frame.number frame.time_relative tcp.seq)
    log "stall-client-noack: server retransmissions after the rule went in (frame, time, rel. seq):" $rtx
    # Client segments to 2049 without data while the rule was in: must be none.
    acks=$(count "$STORED" "ip.src == $C4 && tcp.dstport == 2049 && tcp.len == 0 && frame.time_epoch > $t_in && frame.time_epoch < $t_out")
    check "stall-client-noack: server retransmits" "$(grep -c . <<<"$rtx" || true)" -ge 4
    check "stall-client-noack: client ACKs on the wire while dropped (want 0)" "$acks" -le 0
}

cap_zero-window() {
    # Small client receive buffer + 20 Mbit/s server link (so a 1 MiB reply is
    # still arriving when the client freezes); SIGSTOP the reader for 8 s: its
    # socket buffer fills, it advertises window 0 and the server probes; the
    # capture stops before the reader is thawed.
    local raw=$WORK/zero-window.pcap old_rmem
    old_rmem=$(ip netns exec "$NS_C" sysctl -n net.ipv4.tcp_rmem)
    ip netns exec "$NS_C" sysctl -qw net.ipv4.tcp_rmem='4096 131072 262144'
    ip netns exec "$NS_S" tc qdisc add dev "$VETH_S" root tbf rate 20mbit burst 64kb latency 200ms
    start_capture "$raw" tcpdump -i "$VETH_C"
    start_ticker
    "${CNS[@]}" nfs-cat "$(url /paced.txt)" > /dev/null &
    CLIENT_PID=$!; PIDS+=("$CLIENT_PID")
    sleep 1.5
    kill -STOP "$CLIENT_PID"; STOPPED+=("$CLIENT_PID")
    sleep 8
    # The capture ends with the reader still frozen: the window is still
    # closed and the server still probing.
    stop_capture
    stop_ticker
    kill -CONT "$CLIENT_PID"
    wait_client
    ip netns exec "$NS_S" tc qdisc del dev "$VETH_S" root
    ip netns exec "$NS_C" sysctl -qw net.ipv4.tcp_rmem="$old_rmem"
    store "$raw" zero-window; make_views "$STORED"
    local zw pr
    zw=$(q "$STORED" "tcp.analysis.zero_window && ip.src == $C4" frame.number | tr '\n' ' ')
    pr=$(q "$STORED" "(tcp.analysis.zero_window_probe || tcp.analysis.keep_alive) && ip.src == $S4" frame.number | tr '\n' ' ')
    log "zero-window: client zero-window frames: $zw"
    log "zero-window: server probe frames (zero_window_probe or keep_alive): $pr"
    check "zero-window: client advertises 0" "$(wc -w <<<"$zw")" -ge 1
    check "zero-window: server probes" "$(wc -w <<<"$pr")" -ge 2
}

cap_reconnect() {
    # Server frozen while a READ is outstanding; the client's connection to
    # 2049 is then killed from the client side (ss -K: the kernel sends RST).
    # libnfs reconnects from a new port and re-sends the same XID; the server
    # answers once it is thawed.
    local raw=$WORK/reconnect.pcap
    start_capture "$raw" tcpdump -i "$VETH_C"
    start_ticker
    start_paced_cat /paced.txt 1m
    sleep 3.5
    kill -STOP "$GANESHA_PID"; STOPPED+=("$GANESHA_PID")
    sleep 3
    # -t state established: only the NFS connection (without it ss also tries
    # other socket kinds and prints "RTNETLINK answers: Invalid argument").
    ip netns exec "$NS_C" ss -K -t state established dst "$S4" dport = :2049 >/dev/null
    sleep 4
    kill -CONT "$GANESHA_PID"
    wait_client
    sleep 2
    stop_ticker
    stop_capture
    store "$raw" reconnect; make_views "$STORED"
    local rst dup
    rst=$(q "$STORED" "tcp.flags.reset == 1 && ip.src == $C4 && tcp.dstport == 2049" frame.number | tr '\n' ' ')
    # XIDs of NFS calls that appear in more than one TCP stream.
    dup=$(q "$STORED" 'rpc.msgtyp == 0 && rpc.program == 100003' rpc.xid tcp.stream frame.number \
        | awk '{ s[$1] = s[$1] " " $3 "(stream " $2 ")"; if (!seen[$1, $2]++) n[$1]++ }
               END { for (x in n) if (n[x] > 1) print x ":" s[x] }')
    log "reconnect: client RST frames: $rst"
    log "reconnect: XIDs re-sent on a new connection: $dup"
    check "reconnect: client RST" "$(wc -w <<<"$rst")" -ge 1
    check "reconnect: same XID on two connections" "$(grep -c . <<<"$dup" || true)" -ge 1
}

# --- issue 9: zero-window episodes that end ------------------------------------

cap_zero-window-ends() {
    # As zero-window, but the reader is thawed while the capture runs, twice:
    # two zero-window episodes that end (the client's window update reopens
    # the window), then the read runs to its end. Small tcp_rmem + 20 Mbit/s
    # server link, as in cap_zero-window.
    local raw=$WORK/zero-window-ends.pcap old_rmem
    old_rmem=$(ip netns exec "$NS_C" sysctl -n net.ipv4.tcp_rmem)
    ip netns exec "$NS_C" sysctl -qw net.ipv4.tcp_rmem='4096 131072 262144'
    ip netns exec "$NS_S" tc qdisc add dev "$VETH_S" root tbf rate 20mbit burst 64kb latency 200ms
    start_capture "$raw" tcpdump -i "$VETH_C"
    start_ticker
    "${CNS[@]}" nfs-cat "$(url /paced.txt)" > /dev/null &
    CLIENT_PID=$!; PIDS+=("$CLIENT_PID")
    sleep 1.5
    kill -STOP "$CLIENT_PID"; STOPPED+=("$CLIENT_PID")
    sleep 4
    kill -CONT "$CLIENT_PID"
    sleep 0.7
    kill -STOP "$CLIENT_PID"
    sleep 3
    kill -CONT "$CLIENT_PID"
    wait_client
    sleep 1
    stop_ticker
    stop_capture
    ip netns exec "$NS_S" tc qdisc del dev "$VETH_S" root
    ip netns exec "$NS_C" sysctl -qw net.ipv4.tcp_rmem="$old_rmem"
    store "$raw" zero-window-ends; make_views "$STORED"
    local zw wu
    zw=$(q "$STORED" "tcp.analysis.zero_window && ip.src == $C4" frame.number | tr '\n' ' ')
    # The reopening: the client's first segment with a non-zero window after
    # a zero one (tshark flags it window_update).
    wu=$(q "$STORED" "tcp.analysis.window_update && ip.src == $C4 && tcp.srcport != 111" frame.number | tr '\n' ' ')
    log "zero-window-ends: client zero-window frames: $zw"
    log "zero-window-ends: client window updates: $wu"
    check "zero-window-ends: client advertises 0" "$(wc -w <<<"$zw")" -ge 2
    check "zero-window-ends: client reopens the window" "$(wc -w <<<"$wu")" -ge 2
}

# --- issue 12: NFSv4.0 (libnfs 4.0 speaks NFSv4.0 only) --------------------------
# What libnfs 4.0 (Debian 12) and ganesha 4.3 do over NFSv4, found by running
# them (2026-11-29; see also shared/capture-lab.md):
# - URL nfs://SERVER/PSEUDO/PATH?version=4&nfsport=2049: the pseudo path
#   (/export, /export64), no MOUNT protocol, no portmap.
# - Every command opens its own TCP connection from a reserved port, sends
#   an NFSv4 NULL, then SETCLIENTID + SETCLIENTID_CONFIRM (a new client each
#   time; SETCLIENTID's callback is program 0 at r_addr 0.0.0.0.0.0: no
#   callback service), then PUTROOTFH LOOKUP.. GETATTR GETFH to the pseudo
#   path, and ends with a client RST. minorversion is always 0, the tag
#   always empty. No RENEW was seen (every command is shorter than the lease).
# - nfs-ls does READDIR (PUTFH GETATTR GETFH READDIR); nfs-ls -R looks each
#   subdirectory up and reads it in one compound (PUTFH LOOKUP GETATTR GETFH
#   READDIR). The entries' attributes come in READDIR: no GETATTR per entry.
# - nfs-cat: PUTFH GETATTR ACCESS OPEN GETFH (CLAIM_NULL, OPEN4_NOCREATE),
#   OPEN_CONFIRM, PUTFH GETATTR, then PUTFH READ asking for the server's
#   maximum (1 MiB on /export; on /export64, MaxRead 64 KiB, it still asks
#   1 MiB and ganesha answers with 64 KiB), PUTFH CLOSE. A small file is one
#   READ. Paced through pv (start_paced_cat) it reads ahead 4 READs, then
#   about one a second at 64k.
# - nfs-cp to the server: OPEN (OPEN4_CREATE), OPEN_CONFIRM, PUTFH SETATTR
#   (mode 0660), PUTFH WRITE (one WRITE of the whole file: over ~4000 bytes
#   libnfs fails before sending), PUTFH COMMIT CLOSE.
# - nfs-ops.c works unchanged over v4: MKDIR and SYMLINK are CREATE, then
#   REMOVE, RENAME (SAVEFH/PUTFH), LINK, READLINK, SETATTR, COMMIT, and the
#   errors NFS4ERR_EXIST (17), NFS4ERR_NOTEMPTY (66), NFS4ERR_NOENT (2).
# - ganesha grants no delegation (OPEN_DELEGATE_NONE on every OPEN: libnfs
#   has no callback), so no CB_RECALL, DELEGRETURN or callback connection
#   can be captured here; no NFSv4.1/4.2 (no EXCHANGE_ID, sessions, SEQUENCE).

# A healthy NFSv4.0 mix, each step its own connection: ls of the pseudo
# export (READDIR), ls -R of dir1 (LOOKUP + READDIR per subdirectory), cat of
# a 20000-byte and a 200000-byte file (one READ each), a 3000-byte nfs-cp
# (WRITE, COMMIT), cat of a missing file (OPEN -> NFS4ERR_NOENT), nfs-ops
# (CREATE, REMOVE, RENAME, LINK, READLINK, SETATTR, COMMIT; EXIST, NOTEMPTY,
# NOENT).
cap_nfs4-ops() {
    use_v4_server
    local raw=$WORK/nfs4-ops.pcap
    start_capture "$raw" tcpdump -i "$VETH_C"
    cns nfs-ls "$(url4 /export)" >/dev/null
    cns nfs-ls -R "$(url4 /export/dir1)" >/dev/null
    cns nfs-cat "$(url4 /export/small.txt)" >/dev/null
    cns nfs-cat "$(url4 /export/v4-200k.txt)" >/dev/null
    cns nfs-cp "$WORK/local/v4-up.txt" "$(url4 /export/v4-up.txt)"
    cns nfs-cat "$(url4 /export/no-such-file)" >/dev/null 2>&1 || true
    cns "$WORK/nfs-ops" "$(url4 /export)" > "$WORK/nfs4-ops.out" 2>&1 || true
    sed 's/^/    nfs-ops: /' "$WORK/nfs4-ops.out" >&2
    stop_capture
    store "$raw" nfs4-ops; make_views "$STORED"; make_nfs4_view "$STORED"
    check "nfs4-ops: COMPOUND calls" "$(count "$STORED" 'nfs.main_opcode && rpc.msgtyp == 0')" -ge 10
    check "nfs4-ops: READ replies" "$(count "$STORED" 'nfs.opcode == 25 && rpc.msgtyp == 1')" -ge 2
    check "nfs4-ops: WRITE replies" "$(count "$STORED" 'nfs.opcode == 38 && rpc.msgtyp == 1')" -ge 1
    check "nfs4-ops: NFS4ERR_NOENT replies" "$(count "$STORED" 'nfs.nfsstat4 == 2 && rpc.msgtyp == 1')" -ge 1
}

# A lock wait (issue 13, item 9): one nfs-lock (its own connection and
# client ID) locks small.txt over NFSv4 and holds it 4 s; a second, started
# 1 s later from the same client namespace, tries LOCK once a second
# (NFS4ERR_DENIED, LOCK4denied naming the holder's lock) until the holder's
# LOCKU frees it and its LOCK is granted.
cap_nfs4-lock-wait() {
    use_v4_server
    local raw=$WORK/nfs4-lock-wait.pcap holder
    start_capture "$raw" tcpdump -i "$VETH_C"
    "${CNS[@]}" "$WORK/nfs-lock" hold 4 "$(url4 /export/small.txt)" > "$WORK/lock-hold.out" 2>&1 &
    holder=$!; PIDS+=("$holder")
    sleep 1
    cns "$WORK/nfs-lock" wait 10 "$(url4 /export/small.txt)" > "$WORK/lock-wait.out" 2>&1 || log "WARNING: nfs-lock wait exited with $?"
    wait "$holder" || log "WARNING: nfs-lock hold exited with $?"
    forget_pid "$holder"
    sed 's/^/    nfs-lock: /' "$WORK/lock-hold.out" "$WORK/lock-wait.out" >&2
    stop_capture
    store "$raw" nfs4-lock-wait; make_views "$STORED"; make_nfs4_view "$STORED"
    check "nfs4-lock-wait: LOCK replies NFS4ERR_DENIED" "$(count "$STORED" 'nfs.opcode == 12 && nfs.nfsstat4 == 10010 && rpc.msgtyp == 1')" -ge 2
    check "nfs4-lock-wait: LOCK replies granted" "$(count "$STORED" 'nfs.opcode == 12 && rpc.msgtyp == 1 && !(nfs.nfsstat4 != 0)')" -ge 2
}

# Server crash and grace period: a paced NFSv4 read of /export64/paced.txt
# (64 KiB READs, about one a second); ganesha is SIGKILLed mid-read (its
# kernel closes the connection with FIN, the client answers RST: libnfs
# does not reconnect NFSv4 and nfs-cat fails, "Failed to read from file"),
# started again 1.5 s later; it finds the client's record in RecoveryRoot
# and stays in grace for Grace_Period (5 s). A new nfs-cat every second:
# NULL, SETCLIENTID(+_CONFIRM) and the LOOKUP compound succeed, the OPEN
# compound fails with NFS4ERR_GRACE (10013; libnfs never retries or
# reclaims), until one after the grace period opens and reads the file.
cap_nfs4-grace() {
    use_v4_server
    wait_no_grace
    local raw=$WORK/nfs4-grace.pcap i
    start_capture "$raw" tcpdump -i "$VETH_C"
    start_paced_cat "$(url4 /export64/paced.txt)" 64k
    sleep 3.5
    stop_ganesha KILL
    log "nfs4-grace: ganesha killed; client records in the recovery directory: $(find "$RECOVERY" -mindepth 1 | wc -l) entries"
    sleep 1.5
    stop_client
    start_ganesha nowarm
    for i in $(seq $((V4GRACE + 6))); do
        if cns nfs-cat "$(url4 /export/small.txt)" >/dev/null 2>"$WORK/grace.err"; then
            log "nfs4-grace: OPEN succeeded at attempt $i"; break
        fi
        log "nfs4-grace: attempt $i: $(tr '\n' ' ' < "$WORK/grace.err")"
        sleep 1
    done
    stop_capture
    store "$raw" nfs4-grace; make_views "$STORED"; make_nfs4_view "$STORED"
    check "nfs4-grace: NFS4ERR_GRACE replies" "$(count "$STORED" 'nfs.nfsstat4 == 10013 && rpc.msgtyp == 1')" -ge 1
    local last
    last=$(q "$STORED" 'nfs.nfsstat4 == 10013 && rpc.msgtyp == 1' frame.number | tail -1)
    log "nfs4-grace: last NFS4ERR_GRACE reply in frame ${last:-none}"
    check "nfs4-grace: READ replies after the grace period" \
        "$(count "$STORED" "nfs.opcode == 25 && rpc.msgtyp == 1 && frame.number > ${last:-0}")" -ge 1
}

# As stall-server-hung over NFSv4.0: a paced read of /export64/paced.txt,
# ganesha SIGSTOPped; the next READ COMPOUND is ACKed by the server's TCP and
# never answered. The capture stops 8 s later with ganesha still frozen; the
# ticker (UDP portmap NULL every 2 s) keeps frames coming meanwhile, so the
# wait shows. Then ganesha is thawed and the reader stopped.
cap_nfs4-server-hung() {
    use_v4_server
    wait_no_grace
    local raw=$WORK/nfs4-server-hung.pcap
    start_capture "$raw" tcpdump -i "$VETH_C"
    start_ticker
    start_paced_cat "$(url4 /export64/paced.txt)" 64k
    sleep 3.5
    kill -STOP "$GANESHA_PID"; STOPPED+=("$GANESHA_PID")
    sleep 8
    stop_capture
    stop_ticker
    kill -CONT "$GANESHA_PID"
    stop_client
    store "$raw" nfs4-server-hung; make_views "$STORED"; make_nfs4_view "$STORED"
    local lone
    lone=$(q "$STORED" 'rpc.msgtyp == 0 && rpc.program == 100003 && !rpc.reqframe' frame.number rpc.xid nfs.main_opcode)
    log "nfs4-server-hung: NFS calls without a reply (frame xid main-op): $lone"
    check "nfs4-server-hung: unanswered COMPOUND" "$(grep -c . <<<"$lone" || true)" -ge 1
}

# --- issue 13: reconnects that fail ----------------------------------------------

cap_reconnect-drop() {
    # A READ is left waiting (server frozen), the client's connection is
    # killed (ss -K: RST) while the server's firewall drops every SYN to
    # 2049; the server is thawed at once, so only the reconnect is broken.
    # libnfs reconnects and the kernel re-sends its SYN with backoff; the
    # capture ends with the rule still in (the ticker keeps frames coming,
    # so the wait shows), and the rule goes once tcpdump stopped.
    local raw=$WORK/reconnect-drop.pcap
    local rule=(INPUT -p tcp --dport 2049 --syn -j DROP)
    start_capture "$raw" tcpdump -i "$VETH_C"
    start_ticker
    start_paced_cat /paced.txt 1m
    sleep 3.5
    kill -STOP "$GANESHA_PID"; STOPPED+=("$GANESHA_PID")
    sleep 1.5
    ip netns exec "$NS_S" iptables -I "${rule[@]}"
    ip netns exec "$NS_C" ss -K -t state established dst "$S4" dport = :2049 >/dev/null
    kill -CONT "$GANESHA_PID"
    sleep 14
    stop_capture
    stop_ticker
    ip netns exec "$NS_S" iptables -D "${rule[@]}"
    stop_client
    store "$raw" reconnect-drop; make_views "$STORED"
    local syn ack
    syn=$(q "$STORED" "tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.dstport == 2049" frame.number frame.time_relative tcp.srcport | tr '\n' ' ')
    ack=$(q "$STORED" "tcp.flags.syn == 1 && tcp.flags.ack == 1 && tcp.srcport == 2049" frame.number | tr '\n' ' ')
    log "reconnect-drop: SYNs to 2049 (frame time port): $syn"
    log "reconnect-drop: SYN-ACKs from 2049: $ack"
    check "reconnect-drop: SYNs to 2049 (the first connection's and the dropped ones)" "$(q "$STORED" "tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.dstport == 2049" | grep -c . || true)" -ge 4
}

cap_reconnect-rst() {
    # As reconnect-drop, but the server's firewall answers the SYNs with RST
    # (REJECT --reject-with tcp-reset): libnfs reconnects at once, again and
    # again, 12-25k SYN/RST pairs a second (capture-lab.md), so the rule stays
    # in only as long as the two commands take (tens of ms: ~1000 pairs, the
    # file under 200 KB); then the reconnect succeeds and the waiting READ is
    # re-sent and answered.
    local raw=$WORK/reconnect-rst.pcap
    local rule=(INPUT -p tcp --dport 2049 --syn -j REJECT --reject-with tcp-reset)
    start_capture "$raw" tcpdump -i "$VETH_C"
    start_ticker
    start_paced_cat /paced.txt 1m
    sleep 1.2
    kill -STOP "$GANESHA_PID"; STOPPED+=("$GANESHA_PID")
    sleep 1.5
    ip netns exec "$NS_S" iptables -I "${rule[@]}"
    ip netns exec "$NS_C" ss -K -t state established dst "$S4" dport = :2049 >/dev/null
    ip netns exec "$NS_S" iptables -D "${rule[@]}"
    kill -CONT "$GANESHA_PID"
    sleep 3
    stop_client
    sleep 1
    stop_ticker
    stop_capture
    store "$raw" reconnect-rst; make_views "$STORED"
    local syn rst
    syn=$(count "$STORED" "tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.dstport == 2049")
    rst=$(count "$STORED" "tcp.flags.reset == 1 && tcp.srcport == 2049")
    log "reconnect-rst: $syn SYNs to 2049, $rst RSTs from 2049"
    check "reconnect-rst: RSTs from 2049" "$rst" -ge 10
}

# --- issue 13: MTU black hole ------------------------------------------------------

cap_mtu-blackhole() {
    # The client's firewall drops every packet of 600 bytes or more that
    # comes in (no ICMP back), as a path with a smaller MTU that sends no
    # "fragmentation needed" does: the server's full-size segments (1448
    # bytes of payload) vanish, its smaller ones pass. Captured in the
    # SERVER namespace (the dropped segments are on the wire there). The
    # file is 7408 bytes, so its READ reply is 5 full-size segments and a
    # 300-byte tail, all in the server's initial window: the tail passes
    # and the client SACKs it, the full-size ones are re-sent with backoff
    # and never ACKed. The mount and lookups before (small replies) pass.
    # The ticker keeps frames coming, and an NFS NULL call over TCP every
    # 2 s (rpcinfo -t, each on a new connection: small segments only, all
    # answered) shows the path passes small packets to the end; the rule
    # goes once tcpdump stopped.
    local raw=$WORK/mtu-blackhole.pcap null_pid
    local rule=(INPUT -m length --length 600:65535 -j DROP)
    gen_text 7408 "$EXPORT/mtu-7408.txt"; chmod a+rw "$EXPORT/mtu-7408.txt"
    ip netns exec "$NS_C" iptables -I "${rule[@]}"
    CAP_NS=$NS_S start_capture "$raw" tcpdump -i "$VETH_S"
    start_ticker
    "${CNS[@]}" nfs-cat "$(url /mtu-7408.txt)" > /dev/null &
    CLIENT_PID=$!; PIDS+=("$CLIENT_PID")
    sleep 1
    ip netns exec "$NS_C" bash -c "while :; do rpcinfo -t $S4 100003 3 >/dev/null 2>&1 || true; sleep 2; done" &
    null_pid=$!; PIDS+=("$null_pid")
    sleep 13
    stop_capture
    kill_pid "$null_pid"; forget_pid "$null_pid"
    stop_ticker
    ip netns exec "$NS_C" iptables -D "${rule[@]}"
    kill_pid "$CLIENT_PID"; forget_pid "$CLIENT_PID"; CLIENT_PID=
    store "$raw" mtu-blackhole; make_views "$STORED"; make_sack_view "$STORED"
    local rtx sack
    rtx=$(q "$STORED" "tcp.analysis.retransmission && tcp.srcport == 2049 && tcp.len >= 1000" frame.number frame.time_relative tcp.len | tr '\n' ' ')
    sack=$(q "$STORED" "tcp.dstport == 2049 && tcp.options.sack_le" frame.number tcp.options.sack_le tcp.options.sack_re | tr '\n' ' ')
    log "mtu-blackhole: full-size re-sends from 2049 (frame time len): $rtx"
    log "mtu-blackhole: client SACKs (frame le re): $sack"
    check "mtu-blackhole: full-size re-sends" "$(wc -w <<<"$rtx" | awk '{print int($1/3)}')" -ge 3
    check "mtu-blackhole: client SACKs" "$(q "$STORED" "tcp.dstport == 2049 && tcp.options.sack_le" | grep -c . || true)" -ge 1
}

# ---- 7. main ---------------------------------------------------------------------
VERDICTS=()
check() {   # check WHAT VALUE -ge MIN
    if [[ ${2:-x} =~ ^[0-9]+$ ]] && [ "$2" "$3" "$4" ]; then
        VERDICTS+=("OK       $1 ($2)")
    else
        VERDICTS+=("MISSING  $1 (${2:-none})")
    fi
}

# views_only [FILE...]: re-write the views of committed captures, no lab.
views_only() {
    local files=("$@") f
    if ((${#files[@]} == 0)); then
        for f in "$OUT"/*.pcap "$OUT"/*.pcap.gz "$OUT"/*.pcapng "$OUT"/*.pcapng.gz; do
            [[ -e $f ]] && files+=("$(basename "$f")")
        done
    fi
    # FILE is relative to this directory; the views go beside it (e.g.
    # ../../tcpflow/testdata/probes.pcap, the hand-made probe capture).
    local here=$OUT
    for f in "${files[@]}"; do
        [[ -e $here/$f ]] || die "no capture $f in $here"
        log "views of $f"
        OUT=$(cd "$(dirname "$here/$f")" && pwd)
        make_views "$OUT/$(basename "$f")"
        [[ $(basename "$f") != nfs4-* ]] || make_nfs4_view "$OUT/$(basename "$f")"
        [[ $(basename "$f") != mtu-* ]] || make_sack_view "$OUT/$(basename "$f")"
    done
    OUT=$here
}

main() {
    local names=("$@") n
    ((${#names[@]})) || names=("${ALL_CAPTURES[@]}")
    # nfs4-* switch ganesha to v4 mode for the rest of the run: they go last,
    # so the NFSv3 captures are always made with the NFSv3-only server.
    local v3=() v4=()
    for n in "${names[@]}"; do [[ $n == nfs4-* ]] && v4+=("$n") || v3+=("$n"); done
    names=("${v3[@]}" "${v4[@]}")
    for n in "${names[@]}"; do
        declare -F "cap_$n" >/dev/null || die "unknown capture '$n' (known: ${ALL_CAPTURES[*]})"
    done
    setup_lab
    for n in "${names[@]}"; do
        log "=== capture $n"
        "cap_$n"
    done
    log "shape checks:"
    printf '    %s\n' "${VERDICTS[@]}" >&2
    du -ch "$OUT" | tail -1 | sed 's/^/    testdata\/pcaps total: /' >&2
}

if [[ -n $VIEWS_ONLY ]]; then
    # make_views keeps tshark's stderr and a temporary file in $WORK.
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
    views_only "$@"
else
    main "$@"
fi
