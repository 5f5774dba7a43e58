/* queue_file.h - the queue's file formats, private to src/queue*.c: the
 * message file (envelope lines, an empty line, the message bytes, the
 * trailer) and the state file, both "key value" lines read and written
 * through one table each (queue.h describes the layout). */
#ifndef OUTBOX_QUEUE_FILE_H
#define OUTBOX_QUEUE_FILE_H

#include "lib.h"
#include "queue.h"

#include <stddef.h>
#include <sys/types.h>

/* The largest state file that is read. */
#define QUEUE_STATE_MAX (16 * 1024 * 1024)

/* Free what an envelope or a state owns and zero them. */
void queue_envelope_free(struct queue_envelope *env);
void queue_state_free(struct queue_state *st);

/* A deep copy of from (the strings and recipients), every recipient
 * pending, without replies. */
void queue_envelope_copy(struct queue_envelope *to, const struct queue_envelope *from);

/* Checks an envelope handed to queue_commit(): values with CR/LF or over
 * 4000 bytes, a NULL from, no recipient or an empty one, or anything that
 * would not load again: ST_SOFTWARE. */
int queue_envelope_check(const struct queue_envelope *env, struct error *e);

enum queue_write_result {
	QUEUE_WRITE_OK,
	QUEUE_WRITE_NO_HASH,    /* SHA-256 is not available */
	QUEUE_WRITE_READ_ERROR, /* reading body_fd failed: *err */
	QUEUE_WRITE_ERROR,      /* writing fd failed: *err */
};

/* Writes the message file to fd: m's envelope, the empty line, headers,
 * the body read from body_fd at body_offset to end of file, and the
 * trailer over all of it.  *data_offset and *data_len are where the
 * message bytes are. */
enum queue_write_result queue_file_write(int fd, const struct queue_entry *m, const char *headers,
					 size_t headers_len, int body_fd, off_t body_offset,
					 off_t *data_offset, unsigned long long *data_len,
					 int *err);

/* Checks the message file open on fd against its trailer, then parses
 * and checks its envelope into m (and sets m's data_offset and data_len).
 * 0, 1 when it is damaged (*why says why, in a few words), or -1 on a
 * read error (errno). */
int queue_file_read(int fd, struct queue_entry *m, const char **why);

/* Appends m's state file (state and per-recipient status) to b. */
void queue_state_format(struct buf *b, const struct queue_entry *m);

/* Parses the state file text (len bytes; changed in place) into m, whose
 * envelope is loaded.  NULL, or why it is damaged. */
const char *queue_state_parse(char *text, size_t len, struct queue_entry *m);

/* Only next-attempt, held and frozen of a state file (len bytes; changed
 * in place) into m's state, the other keys skipped.  NULL, or why it
 * cannot be read. */
const char *queue_state_schedule(char *text, size_t len, struct queue_entry *m);

#endif
