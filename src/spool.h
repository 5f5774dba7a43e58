/* spool.h - reading the message from the caller into a private file.
 *
 * The whole input is read to EOF before any network activity, so a slow
 * producer never holds a connection open and a failed delivery can always
 * be retried from the file. */
#ifndef OUTBOX_SPOOL_H
#define OUTBOX_SPOOL_H

#include "lib.h"
#include "status.h"

#include <stdbool.h>

struct spool {
	int fd;                     /* private (0600, unlinked) file, or -1 */
	unsigned long long size;    /* bytes read */
	unsigned long long bare_lf; /* LFs without a CR before them */
	bool eightbit;              /* any byte >= 0x80 */
	struct buf head;            /* the first head_max + 2 bytes, for the headers */
};

/* Copies everything from fd `in` into a new private file in dir, keeping
 * the first head_max + 2 bytes (up to the end of the header block) in
 * sp->head: enough for message_layout(head, len, head_max) to find a
 * header block of up to head_max bytes and the empty line after it, or to
 * see that the block is longer.  More than limit bytes: ST_DATAERR; the
 * disk filling up: ST_LOCAL_TEMP; a read error: ST_IOERR; dir unusable:
 * ST_CANTCREAT. */
int spool_read(int in, const char *dir, unsigned long long limit, size_t head_max, struct spool *sp,
	       struct error *e);

void spool_close(struct spool *sp);

/* The directory for spool files: $TMPDIR, else /tmp. */
const char *spool_default_dir(void);

#endif
