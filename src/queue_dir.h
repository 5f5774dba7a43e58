/* queue_dir.h - what src/queue.c (creating, committing, changing) and
 * src/queue_scan.c (loading, sweeping, listing) and src/queue_ids.c
 * (the ids in a directory) share about the queue
 * directory; private to them. */
#ifndef OUTBOX_QUEUE_DIR_H
#define OUTBOX_QUEUE_DIR_H

#include "queue.h"

/* fsync()s the subdirectory sub.  0, or -1 with errno. */
int queue_sync_dir(struct queue *q, const char *sub);

/* An empty entry (fd -1) with a copy of id (or NULL). */
void queue_entry_init(struct queue_entry *m, const char *id);

/* Writes m's state to sub/name through sub/.name.tmp (a new file), with
 * fsyncs of the file and of sub/.  0, or -1 with e set. */
int queue_write_state(struct queue *q, const char *sub, const char *name,
		      const struct queue_entry *m, struct error *e);

/* Moves msg/ID to failed/ID with its state (reason recorded as the
 * detail of the code in m->st, held
 * cleared) beside it as failed/ID.state; state/ID goes.  The caller holds
 * the lock.  0, or -1 with e set. */
int queue_move_to_failed(struct queue *q, struct queue_entry *m, const char *reason,
			 struct error *e);

/* True when id has the form of a queue id (names that are not are never
 * taken for messages). */
bool queue_id_valid(const char *id);

/* The ids in sub/ ("msg" or "failed"), oldest first (queue_ids.c). */
int queue_ids_list(struct queue *q, const char *sub, struct queue_ids *ids, struct error *e);

#endif
