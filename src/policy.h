/* policy.h - what a failure means for a queued message (DESIGN.md 2,
 * step 5), in one table, apart from the protocol code that found it.
 *
 * Five classes: connectivity, account/config, server temporary, recipient
 * permanent, message permanent.  Each maps to one action and, for the
 * temporary ones, to a retry schedule. */
#ifndef OUTBOX_POLICY_H
#define OUTBOX_POLICY_H

#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* The action for a failure class (ST_OK is ACT_DELIVERED): the class's
 * row in status.c's table. */
enum policy_action policy_action(enum status st);

/* What one attempt means.  rc is the SMTP engine's result (0: the server
 * took the message for someone), pending how many recipients it refused
 * for now, uncertain whether the connection was lost after the final dot,
 * hold whether account trouble may hold the message (hold_on_account_error).
 * rc 0 with nothing pending is ACT_DELIVERED; rc 0 with recipients pending
 * is ACT_RETRY with e set (ST_SERVER_TEMP) to say so; a failure is the
 * action of e's class, an uncertain one said in e, and ACT_HOLD becomes
 * ACT_FAIL when holding is off. */
enum policy_action policy_classify(int rc, size_t pending, bool uncertain, bool hold,
				   struct error *e);

/* A short name for logs and mailq ("retry", "hold"...). */
const char *policy_action_name(enum policy_action a);

/* When to try again after attempts failed attempts (1 = the first failed):
 * ACT_RETRY_SOON: 1, 2, 4... minutes, capped at 10 minutes;
 * ACT_RETRY: 5, 10, 20... minutes, capped at 4 hours;
 * both with +-20 % jitter from random (a value in [0, 1)). */
time_t policy_next_attempt(enum policy_action a, unsigned attempts, time_t now, double random);

#endif
