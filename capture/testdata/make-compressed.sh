#!/usr/bin/env bash
# Writes the compressed copies of ../../testdata/pcaps/mixed.pcapng that
# capture's tests read (TestCompressedFormats): each made by the real tool,
# as captures are shared on mailing lists and bug trackers. Needs xz-utils,
# bzip2 and zstd (apt-get install xz-utils bzip2 zstd). Re-run to remake.
set -euo pipefail
cd "$(dirname "$0")"
src=../../testdata/pcaps/mixed.pcapng.gz
gzip -dc "$src" > mixed.pcapng
xz -6 -c mixed.pcapng > mixed.pcapng.xz
bzip2 -9 -c mixed.pcapng > mixed.pcapng.bz2
zstd -q -19 -c mixed.pcapng > mixed.pcapng.zst
rm mixed.pcapng
ls -l mixed.pcapng.*
