/* replay.c - a main() for the fuzz targets without libFuzzer: feeds each
 * file named on the command line, or each file in a directory named there,
 * to LLVMFuzzerTestOneInput() once.  `make check` builds every target
 * with it (tests/e2e/fuzz.t), so the saved corpora and crashers run under
 * the normal and the sanitizer build: a fixed crash stays fixed.
 *
 * Each input is copied into a buffer of exactly its size, as libFuzzer
 * does, so that the sanitizers see a read one byte too far. */
#include "config.h"

#include "fuzz.h"

#include "lib.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* libFuzzer's own default bound on an input. */
#define REPLAY_INPUT_MAX (1024 * 1024)

static int
replay_file(const char *path)
{
	struct buf b;
	char chunk[65536];
	uint8_t *copy;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	buf_init(&b, REPLAY_INPUT_MAX);
	while ((n = read(fd, chunk, sizeof chunk)) > 0)
		if (buf_append(&b, chunk, (size_t)n) < 0) {
			fprintf(stderr, "replay: %s: larger than %d bytes\n", path,
				REPLAY_INPUT_MAX);
			n = -1;
			break;
		}
	close(fd);
	if (n < 0) {
		buf_free(&b);
		return -1;
	}
	copy = xmalloc(b.len > 0 ? b.len : 1);
	if (b.len > 0)
		memcpy(copy, b.data, b.len);
	LLVMFuzzerTestOneInput(copy, b.len);
	free(copy);
	buf_free(&b);
	return 0;
}

static int
replay_dir(const char *dir, unsigned long *count)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 0;

	if (d == NULL) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char *path;

		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		if (replay_file(path) < 0)
			rc = -1;
		else
			(*count)++;
		free(path);
	}
	closedir(d);
	return rc;
}

int
main(int argc, char **argv)
{
	unsigned long count = 0;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			rc = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &count) < 0)
				rc = 1;
		} else if (replay_file(argv[i]) < 0) {
			rc = 1;
		} else {
			count++;
		}
	}
	printf("replay: %lu inputs\n", count);
	return rc;
}
