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
#include <time.h>

/* The action for a failure class (ST_OK is ACT_DELIVERED): the class's
 * row in status.c's table. */
enum policy_action policy_action(enum status st);

/* A short name for logs and mailq ("retry", "hold"...). */
const char *policy_action_name(enum policy_action a);

/* When to try again after attempts failed attempts (1 = the first failed):
 * ACT_RETRY_SOON: 1, 2, 4... minutes, capped at 10 minutes;
 * ACT_RETRY: 5, 10, 20... minutes, capped at 4 hours;
 * both with +-20 % jitter from random (a value in [0, 1)). */
time_t policy_next_attempt(enum policy_action a, unsigned attempts, time_t now, double random);

#endif
