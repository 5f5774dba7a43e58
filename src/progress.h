/* progress.h - a progress bar on standard error for long work a person
 * waits for: a big message being sent, a flush of several messages.
 *
 * Drawn only when log_interactive() (a terminal, no sink), only for work
 * big enough (a message of PROGRESS_MIN_BYTES or more, two messages or
 * more), only once it has run PROGRESS_DELAY_MS (quick work never flashes
 * a bar), redrawn at most every PROGRESS_INTERVAL_MS, and erased when the
 * work ends.  Diagnostics printed meanwhile erase it first (log.c). */
#ifndef OUTBOX_PROGRESS_H
#define OUTBOX_PROGRESS_H

#include "lib.h"

#include <stdbool.h>
#include <stdint.h>

#define PROGRESS_MIN_BYTES (1024ULL * 1024)
#define PROGRESS_DELAY_MS 500
#define PROGRESS_INTERVAL_MS 250

enum progress_unit { PROGRESS_BYTES, PROGRESS_MESSAGES };

struct progress {
	enum progress_unit unit;
	const char *what; /* "sending", "flushing the queue" */
	unsigned long long total;
	unsigned long long done;
	int64_t start_ms; /* monotonic */
	int64_t next_ms;  /* no redraw before this */
	bool active;      /* may draw: a person looks and the work is big */
};

void progress_begin(struct progress *p, enum progress_unit unit, const char *what,
		    unsigned long long total);
void progress_update(struct progress *p, unsigned long long done);
/* Erases the bar if it was drawn. */
void progress_end(struct progress *p);

/* The bar's text for done of total after elapsed_ms, at most width
 * columns: what, the amount, a bar when there is room, the percentage, the
 * rate and the time left once they can be known. */
void progress_format(const struct progress *p, int64_t elapsed_ms, int width, struct buf *out);

#endif
