/* policy-t.c - tests for src/policy.c: every failure class has its action
 * (DESIGN.md 2, step 5), an attempt's outcome is classified the same for
 * the queue and for queue off (partial, uncertain, hold to fail), and the
 * retry schedule grows, is capped and is jittered within +-20 %. */
#include "config.h"

#include "policy.h"

#include "tap/basic.h"

#include <string.h>

static const struct {
	enum status status;
	enum policy_action action;
} classes[] = {
	{ST_OK, ACT_DELIVERED},     {ST_CONNECT, ACT_RETRY_SOON}, {ST_SERVER_TEMP, ACT_RETRY},
	{ST_LOCAL_TEMP, ACT_RETRY}, {ST_ACCOUNT, ACT_HOLD},       {ST_CONFIG, ACT_HOLD},
	{ST_NOUSER, ACT_FAIL},      {ST_MESSAGE_PERM, ACT_FAIL},  {ST_DATAERR, ACT_FAIL},
};

static const struct {
	enum policy_action action;
	unsigned attempts;
	double random;
	time_t delay;
} schedule[] = {
	{ACT_RETRY_SOON, 1, 0.5, 60},   {ACT_RETRY_SOON, 2, 0.5, 120},
	{ACT_RETRY_SOON, 4, 0.5, 480},  {ACT_RETRY_SOON, 5, 0.5, 600},
	{ACT_RETRY_SOON, 50, 0.5, 600}, {ACT_RETRY, 1, 0.5, 300},
	{ACT_RETRY, 2, 0.5, 600},       {ACT_RETRY, 6, 0.5, 9600},
	{ACT_RETRY, 7, 0.5, 14400},     {ACT_RETRY, 1000, 0.5, 14400},
	{ACT_RETRY, 1, 0.0, 240},       {ACT_RETRY, 1, 0.999999, 359},
	{ACT_HOLD, 3, 0.5, 0},          {ACT_FAIL, 3, 0.5, 0},
};

/* policy_classify(): rc, recipients pending, uncertain, hold allowed, the
 * class of the failure (for rc -1) -> the action, the class afterwards and
 * a fragment of the message. */
static const struct {
	int rc;
	size_t pending;
	bool uncertain, hold;
	enum status st;
	enum policy_action action;
	enum status st_after;
	const char *msg;
} outcomes[] = {
	{0, 0, false, true, ST_OK, ACT_DELIVERED, ST_OK, "untouched"},
	{0, 2, false, true, ST_OK, ACT_RETRY, ST_SERVER_TEMP, "2 refused for now"},
	{-1, 3, false, true, ST_CONNECT, ACT_RETRY_SOON, ST_CONNECT, "untouched"},
	{-1, 3, true, true, ST_SERVER_TEMP, ACT_RETRY, ST_SERVER_TEMP, "uncertain"},
	{-1, 3, false, true, ST_ACCOUNT, ACT_HOLD, ST_ACCOUNT, "untouched"},
	{-1, 3, false, false, ST_ACCOUNT, ACT_FAIL, ST_ACCOUNT, "untouched"},
	{-1, 3, false, false, ST_CONFIG, ACT_FAIL, ST_CONFIG, "untouched"},
	{-1, 3, false, false, ST_CONNECT, ACT_RETRY_SOON, ST_CONNECT, "untouched"},
	{-1, 1, false, true, ST_MESSAGE_PERM, ACT_FAIL, ST_MESSAGE_PERM, "untouched"},
	{-1, 0, false, true, ST_NOUSER, ACT_FAIL, ST_NOUSER, "untouched"},
};

static void
test_classify(void)
{
	for (size_t i = 0; i < sizeof outcomes / sizeof outcomes[0]; i++) {
		struct error e;

		error_set(&e, outcomes[i].st, "untouched");
		is_int(outcomes[i].action,
		       policy_classify(outcomes[i].rc, outcomes[i].pending, outcomes[i].uncertain,
				       outcomes[i].hold, &e),
		       "outcome %zu: %s", i, policy_action_name(outcomes[i].action));
		is_int(outcomes[i].st_after, e.status, "outcome %zu: class %s", i,
		       status_name(outcomes[i].st_after));
		ok(strstr(e.msg, outcomes[i].msg) != NULL, "outcome %zu: message has '%s' (%s)", i,
		   outcomes[i].msg, e.msg);
	}
}

int
main(void)
{
	plan_lazy();
	for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
		is_int(classes[i].action, policy_action(classes[i].status), "%s -> %s",
		       status_name(classes[i].status), policy_action_name(classes[i].action));
	for (size_t i = 0; i < sizeof schedule / sizeof schedule[0]; i++)
		is_int(schedule[i].delay,
		       policy_next_attempt(schedule[i].action, schedule[i].attempts, 1000,
					   schedule[i].random) -
			       1000,
		       "%s after %u attempts (random %.2f)", policy_action_name(schedule[i].action),
		       schedule[i].attempts, schedule[i].random);
	test_classify();
	return 0;
}
