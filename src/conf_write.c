/* conf_write.c - the one writer of configuration files: conf_append()
 * adds an account block for --configure.  It never rewrites a line the
 * user wrote: the file is only ever appended to, after a byte-for-byte
 * backup.
 *
 * Untrusted input: the existing file is copied, not parsed. */
#include "config.h"

#include "conf.h"

#include "i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A configuration file bigger than this is not one to append to. */
#define CONF_COPY_MAX (16 * 1024 * 1024)

static int
write_synced(int fd, const char *path, const void *p, size_t n, struct error *e)
{
	if (write_all(fd, p, n) < 0 || fsync(fd) < 0)
		return error_set(e, ST_IOERR, _("cannot write %s: %s"), path, strerror(errno));
	return 0;
}

/* Makes the missing directories above path, each 0700. */
static int
make_parents(const char *path, struct error *e)
{
	char *dir = xstrdup(path);
	int rc = 0;

	for (char *p = strchr(dir + 1, '/'); p != NULL && rc == 0; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			rc = error_set(e, ST_CANTCREAT, _("cannot make directory %s: %s"), dir,
				       strerror(errno));
		*p = '/';
	}
	free(dir);
	return rc;
}

static int
create_new(const char *path, const char *text, struct error *e)
{
	int fd, rc;

	if (make_parents(path, e) < 0)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return error_set(e, ST_CANTCREAT, _("cannot create %s: %s"), path, strerror(errno));
	rc = write_synced(fd, path, text, strlen(text), e);
	if (close(fd) < 0 && rc == 0)
		rc = error_set(e, ST_IOERR, _("cannot write %s: %s"), path, strerror(errno));
	return rc;
}

static int
write_backup(const char *path, const struct buf *copy, char **backup, struct error *e)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int fd, rc;

	strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime_r(&now, &tm));
	*backup = xasprintf("%s.bak-%s", path, stamp);
	/* Two runs in one second: PATH.bak-STAMP.1, .2... */
	for (int i = 1;
	     (fd = open(*backup, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 &&
	     errno == EEXIST && i < 100;
	     i++) {
		free(*backup);
		*backup = xasprintf("%s.bak-%s.%d", path, stamp, i);
	}
	if (fd < 0) {
		rc = error_set(e, ST_CANTCREAT, _("cannot create the backup %s: %s"), *backup,
			       strerror(errno));
	} else {
		rc = write_synced(fd, *backup, copy->data, copy->len, e);
		if (close(fd) < 0 && rc == 0)
			rc = error_set(e, ST_IOERR, _("cannot write %s: %s"), *backup,
				       strerror(errno));
	}
	if (rc < 0) {
		free(*backup);
		*backup = NULL;
	}
	return rc;
}

int
conf_append(const char *path, const char *text, char **backup, struct error *e)
{
	struct buf copy, add;
	int fd, rc;

	*backup = NULL;
	fd = open(path, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return create_new(path, text, e);
	if (fd < 0)
		return error_set(e, ST_CONFIG, _("cannot open %s: %s"), path, strerror(errno));
	buf_init(&copy, CONF_COPY_MAX);
	if (read_to_eof(fd, &copy, false) < 0) {
		rc = error_set(e, ST_CONFIG, _("cannot read %s: %s"), path, strerror(errno));
	} else if ((rc = write_backup(path, &copy, backup, e)) == 0) {
		buf_init(&add, 0);
		/* A last line without its newline stays as it is, ended. */
		buf_puts(&add, copy.len > 0 && copy.data[copy.len - 1] != '\n' ? "\n\n" : "\n");
		buf_puts(&add, text);
		rc = write_synced(fd, path, add.data, add.len, e);
		buf_free(&add);
	}
	buf_free(&copy);
	if (close(fd) < 0 && rc == 0)
		rc = error_set(e, ST_IOERR, _("cannot write %s: %s"), path, strerror(errno));
	return rc;
}
