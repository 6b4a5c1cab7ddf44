/*
 * nfs-ops: a tiny libnfs client used by make-captures.sh.
 *
 * libnfs-utils ships only nfs-ls, nfs-cat and nfs-cp, which never send
 * MKDIR, RMDIR, REMOVE, RENAME, SETATTR, SYMLINK, READLINK or LINK. This
 * program does one fixed sequence of namespace operations in an export
 * directory so a capture has them all (plus a few errors: NOENT, EXIST,
 * NOTEMPTY). It uses libnfs' synchronous API (libnfs 4.0, Debian 12).
 *
 * Usage: nfs-ops 'nfs://SERVER/EXPORT/DIR?version=3&nfsport=2049&mountport=20048'
 * Build: cc -O2 -o nfs-ops nfs-ops.c -lnfs
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <nfsc/libnfs.h>

static struct nfs_context *nfs;
static int failures;

/* expect: 0 = must succeed, 1 = must fail (the error is the point) */
static void step(const char *what, int rc, int expect_fail)
{
	int failed = rc < 0;
	printf("%-28s %s%s%s\n", what, failed ? "error: " : "ok",
	       failed ? nfs_get_error(nfs) : "", failed == expect_fail ? "" : "  (UNEXPECTED)");
	if (failed != expect_fail)
		failures++;
}

int main(int argc, char **argv)
{
	struct nfs_url *url;
	struct nfsfh *fh = NULL;
	struct nfs_stat_64 st;
	char buf[256];
	static const char text[] =
		"nfsstall capture lab: the quick brown fox jumps over the lazy dog 0123456789\n";
	int i, rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s nfs://server/export/dir?...\n", argv[0]);
		return 2;
	}
	nfs = nfs_init_context();
	if (nfs == NULL)
		return 1;
	/* parse_url_dir applies ?version=3&nfsport=...&mountport=... */
	url = nfs_parse_url_dir(nfs, argv[1]);
	if (url == NULL) {
		fprintf(stderr, "bad url: %s\n", nfs_get_error(nfs));
		return 1;
	}
	if (nfs_mount(nfs, url->server, url->path) != 0) {
		fprintf(stderr, "mount: %s\n", nfs_get_error(nfs));
		return 1;
	}

	step("mkdir /ops", nfs_mkdir(nfs, "/ops"), 0);
	step("mkdir /ops again (EXIST)", nfs_mkdir(nfs, "/ops"), 1);
	step("create /ops/f1", nfs_create(nfs, "/ops/f1", O_WRONLY | O_CREAT | O_EXCL, 0644, &fh), 0);
	if (fh != NULL) {
		for (i = 0; i < 4; i++)
			rc = nfs_write(nfs, fh, sizeof(text) - 1, text);
		step("write /ops/f1", rc, 0);
		step("fsync /ops/f1 (COMMIT)", nfs_fsync(nfs, fh), 0);
		step("close /ops/f1", nfs_close(nfs, fh), 0);
	}
	step("chmod /ops/f1 (SETATTR)", nfs_chmod(nfs, "/ops/f1", 0600), 0);
	step("truncate /ops/f1 (SETATTR)", nfs_truncate(nfs, "/ops/f1", 100), 0);
	step("stat /ops/f1", nfs_stat64(nfs, "/ops/f1", &st), 0);
	step("rename f1 -> f2", nfs_rename(nfs, "/ops/f1", "/ops/f2"), 0);
	step("link f2 -> f3", nfs_link(nfs, "/ops/f2", "/ops/f3"), 0);
	step("symlink s1 -> f2", nfs_symlink(nfs, "f2", "/ops/s1"), 0);
	rc = nfs_readlink(nfs, "/ops/s1", buf, sizeof(buf));
	step("readlink s1", rc, 0);
	step("rmdir /ops (NOTEMPTY)", nfs_rmdir(nfs, "/ops"), 1);
	step("stat /ops/missing (NOENT)", nfs_stat64(nfs, "/ops/missing", &st), 1);
	step("unlink s1", nfs_unlink(nfs, "/ops/s1"), 0);
	step("unlink f3", nfs_unlink(nfs, "/ops/f3"), 0);
	step("unlink f2", nfs_unlink(nfs, "/ops/f2"), 0);
	step("unlink f2 again (NOENT)", nfs_unlink(nfs, "/ops/f2"), 1);
	step("rmdir /ops", nfs_rmdir(nfs, "/ops"), 0);

	nfs_destroy_url(url);
	nfs_destroy_context(nfs);
	return failures ? 1 : 0;
}
