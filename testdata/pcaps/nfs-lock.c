/*
 * nfs-lock: a tiny libnfs NFSv4 locker used by make-captures.sh for the
 * lock_wait capture (nfs4-lock-wait).
 *
 *   nfs-lock hold SECONDS URL   lock bytes 0-99 (a length of 0 is NFS4ERR_INVAL), hold them SECONDS, unlock
 *   nfs-lock wait TRIES URL     try to lock bytes 0-99 (LOCK, not
 *                               blocking: libnfs' F_TLOCK) once a second until
 *                               it is granted or TRIES tries failed, as a
 *                               blocking lock polls; then unlock
 *
 * URL: nfs://SERVER/PSEUDO/PATH/FILE?version=4&nfsport=2049. libnfs 4.0
 * (Debian 12), synchronous API. Build: cc -O2 -o nfs-lock nfs-lock.c -lnfs
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <nfsc/libnfs.h>

int main(int argc, char **argv)
{
	struct nfs_context *nfs;
	struct nfs_url *url;
	struct nfsfh *fh = NULL;
	int n, i, rc = -1;

	if (argc != 4 || (strcmp(argv[1], "hold") && strcmp(argv[1], "wait"))) {
		fprintf(stderr, "usage: %s hold SECONDS URL | wait TRIES URL\n", argv[0]);
		return 2;
	}
	n = atoi(argv[2]);
	nfs = nfs_init_context();
	if (nfs == NULL)
		return 1;
	url = nfs_parse_url_full(nfs, argv[3]);
	if (url == NULL) {
		fprintf(stderr, "bad url: %s\n", nfs_get_error(nfs));
		return 1;
	}
	if (nfs_mount(nfs, url->server, url->path) != 0) {
		fprintf(stderr, "mount: %s\n", nfs_get_error(nfs));
		return 1;
	}
	if (nfs_open(nfs, url->file, O_RDWR, &fh) != 0) {
		fprintf(stderr, "open %s: %s\n", url->file, nfs_get_error(nfs));
		return 1;
	}
	if (!strcmp(argv[1], "hold")) {
		rc = nfs_lockf(nfs, fh, NFS4_F_TLOCK, 100);
		printf("hold: lock %s\n", rc ? nfs_get_error(nfs) : "granted");
		if (rc)
			return 1;
		fflush(stdout);
		sleep(n);
	} else {
		for (i = 1; i <= n; i++) {
			rc = nfs_lockf(nfs, fh, NFS4_F_TLOCK, 100);
			printf("wait: try %d: %s\n", i, rc ? nfs_get_error(nfs) : "granted");
			fflush(stdout);
			if (rc == 0)
				break;
			sleep(1);
		}
		if (rc)
			return 1;
	}
	rc = nfs_lockf(nfs, fh, NFS4_F_ULOCK, 100);
	printf("%s: unlock %s\n", argv[1], rc ? nfs_get_error(nfs) : "ok");
	nfs_close(nfs, fh);
	nfs_destroy_url(url);
	nfs_destroy_context(nfs);
	return rc ? 1 : 0;
}
