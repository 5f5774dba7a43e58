/* conf_write-t.c - tests for src/conf_write.c: conf_append() creates a new
 * file 0600 (and its directories 0700), appends to an existing one after a
 * byte-for-byte backup without changing what it held (also a last line
 * without its newline), numbers backups of the same second, and refuses a
 * symbolic link. */
#include "config.h"

#include "conf.h"

#include "tap/basic.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir;

static char *
slurp(const char *path)
{
	struct buf b;
	int fd = open(path, O_RDONLY);

	buf_init(&b, 0);
	buf_puts(&b, "");
	if (fd >= 0) {
		read_to_eof(fd, &b, false);
		close(fd);
	}
	return b.data;
}

static void
spit(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write_all(fd, text, strlen(text)) < 0 || close(fd) < 0)
		bail("cannot write %s", path);
}

static void
test_new_file(void)
{
	char *path = xasprintf("%s/new/outbox/config", dir), *backup = path, *got;
	struct error e;
	struct stat st;

	is_int(0, conf_append(path, "account a\nhost h\n", &backup, &e), "a new file is written");
	ok(backup == NULL, "... no backup");
	got = slurp(path);
	is_string("account a\nhost h\n", got, "... holds the text");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "... mode 0600");
	free(path);
	path = xasprintf("%s/new/outbox", dir);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700, "... its directory 0700");
	free(path);
	free(got);
}

static const struct {
	const char *before, *after;
} appends[] = {
	{"account x\nhost y\n", "account x\nhost y\n\naccount a\n"},
	{"account x\nhost y", "account x\nhost y\n\naccount a\n"},
	{"", "\naccount a\n"},
};

static void
test_append(void)
{
	char *path = xasprintf("%s/config", dir);

	for (size_t i = 0; i < sizeof appends / sizeof appends[0]; i++) {
		char *backup = NULL, *got, *saved;
		struct error e;
		struct stat st;

		spit(path, appends[i].before);
		is_int(0, conf_append(path, "account a\n", &backup, &e), "append %zu", i);
		got = slurp(path);
		is_string(appends[i].after, got, "... the file's bytes kept, the text after them");
		ok(backup != NULL && strncmp(backup, path, strlen(path)) == 0 &&
			   strstr(backup, ".bak-") != NULL,
		   "... a backup beside it (%s)", backup ? backup : "none");
		saved = slurp(backup ? backup : "/nonexistent");
		is_string(appends[i].before, saved, "... the backup is the file as it was");
		ok(backup != NULL && stat(backup, &st) == 0 && (st.st_mode & 0777) == 0600,
		   "... mode 0600");
		ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644, "... the file's mode kept");
		free(saved);
		free(got);
		free(backup);
	}
	free(path);
}

static void
test_refusals(void)
{
	char *path = xasprintf("%s/link", dir), *target = xasprintf("%s/config", dir);
	char *backup = NULL;
	struct error e;

	if (symlink(target, path) < 0)
		bail("cannot make a symbolic link");
	is_int(-1, conf_append(path, "account a\n", &backup, &e), "a symbolic link is refused");
	ok(backup == NULL, "... and nothing copied");
	free(path);
	free(target);
}

int
main(void)
{
	plan_lazy();
	dir = test_tmpdir("conf_write-t");
	test_new_file();
	test_append();
	test_refusals();
	test_tmpdir_free(dir);
	return 0;
}
