/* spool.c - stdin to a private file, bounded, with the statistics the
 * envelope needs (size, 8-bit content, bare LFs).
 *
 * Untrusted input: the message on stdin, any bytes, any length; it is
 * bounded by the caller's limit and never interpreted here. */
#include "config.h"

#include "spool.h"

#include "i18n.h"
#include "message.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *
spool_default_dir(void)
{
	const char *d = getenv("TMPDIR");

	return d != NULL && *d == '/' ? d : "/tmp";
}

static int
open_private(const char *dir, struct error *e)
{
	int fd;
	char *path;

#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
#endif
	path = xasprintf("%s/outbox-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	else
		error_set(e, errno == ENOSPC ? ST_LOCAL_TEMP : ST_CANTCREAT,
			  _("cannot create a spool file in %s: %s; set TMPDIR to a writable "
			    "directory"),
			  dir, strerror(errno));
	free(path);
	return fd;
}

static int
spool_write(int fd, const char *p, size_t n, struct error *e)
{
	if (write_all(fd, p, n) < 0)
		return error_set(e, errno == ENOSPC || errno == EDQUOT ? ST_LOCAL_TEMP : ST_IOERR,
				 _("cannot write the spool file: %s"), strerror(errno));
	return 0;
}

static void
scan(struct spool *sp, const unsigned char *p, size_t n, bool *prev_cr)
{
	bool cr = *prev_cr;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n' && !cr)
			sp->bare_lf++;
		if (p[i] >= 0x80)
			sp->eightbit = true;
		cr = p[i] == '\r';
	}
	*prev_cr = cr;
}

int
spool_read(int in, const char *dir, unsigned long long limit, size_t head_max, struct spool *sp,
	   struct error *e)
{
	static char block[65536];
	/* Room for the empty line (CRLF) after a header block of exactly
	 * head_max bytes, so that message_layout() sees where it ends. */
	size_t keep = head_max + 2;
	bool prev_cr = false, head_done = false;

	memset(sp, 0, sizeof *sp);
	buf_init(&sp->head, keep);
	sp->fd = open_private(dir, e);
	if (sp->fd < 0)
		return -1;
	for (;;) {
		ssize_t n = read(in, block, sizeof block);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error_set(e, ST_IOERR, _("cannot read the message from standard input: %s"),
				  strerror(errno));
			break;
		}
		if (n == 0)
			return 0;
		if (sp->size + (unsigned long long)n > limit) {
			error_set(e, ST_DATAERR,
				  _("the message is larger than the limit of %llu bytes; raise "
				    "max_message_size if it must go"),
				  limit);
			break;
		}
		/* Only the header block is kept in memory: once an empty line
		 * is in, the head is complete (peak memory stays small). */
		if (sp->head.len < keep && !head_done) {
			size_t take = keep - sp->head.len;

			buf_append(&sp->head, block, (size_t)n < take ? (size_t)n : take);
			head_done = message_has_blank_line(sp->head.data, sp->head.len);
		}
		scan(sp, (const unsigned char *)block, (size_t)n, &prev_cr);
		sp->size += (unsigned long long)n;
		if (spool_write(sp->fd, block, (size_t)n, e) < 0)
			break;
	}
	spool_close(sp);
	return -1;
}

void
spool_close(struct spool *sp)
{
	if (sp->fd >= 0)
		close(sp->fd);
	sp->fd = -1;
	buf_free(&sp->head);
}
