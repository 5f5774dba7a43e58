/* common.c - helpers shared by the fuzz targets (see fuzz.h). */
#include "config.h"

#include "fuzz.h"

#include "lib.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmpdir;

static int
remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (remove(path) < 0)
		fprintf(stderr, "fuzz: could not remove %s\n", path);
	return 0;
}

/* Removes the directory and whatever the targets left in it. */
static void
remove_tmpdir(void)
{
	if (tmpdir != NULL)
		nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *
fuzz_tmpdir(void)
{
	const char *base;

	if (tmpdir != NULL)
		return tmpdir;
	base = getenv("TMPDIR");
	tmpdir = xasprintf("%s/outbox-fuzz.XXXXXX", base != NULL && *base != '\0' ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("fuzz: mkdtemp");
		abort();
	}
	atexit(remove_tmpdir);
	return tmpdir;
}

int
fuzz_write_file(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc;

	if (fd < 0)
		return -1;
	rc = write_all(fd, data, size);
	if (close(fd) < 0)
		rc = -1;
	return rc;
}
