/* watch.h - `outbox --watch`: waiting for the network to come up.
 *
 * watch_run() listens to the kernel's routing netlink (RTMGRP_LINK and the
 * IPv4/IPv6 address and route groups) and calls back when a link starts
 * running (IFF_RUNNING and IFF_LOWER_UP), a global-scope address appears
 * or a unicast default route is added to the main table.  A burst of such
 * events is one call: the call happens once the kernel has been quiet for
 * debounce_ms.  It also calls back once at start (mail may be queued
 * already) and every interval_ms as a safety net.  It is for systems
 * without NetworkManager, networkd-dispatcher, ifupdown or systemd, whose
 * hooks (src/hooks/) do the same job there.
 */
#ifndef OUTBOX_WATCH_H
#define OUTBOX_WATCH_H

#include "status.h"

#include <stdbool.h>
#include <stddef.h>

struct watch_params {
	int debounce_ms; /* quiet time that ends a burst of events */
	int interval_ms; /* safety-net call this long after the last one; 0: none */
	int max_wait_ms; /* return 0 after this long; -1: until SIGTERM or SIGINT */
};

/* What `outbox --watch` uses: 2 s of quiet, a call every 15 minutes. */
enum { WATCH_DEBOUNCE_MS = 2000, WATCH_INTERVAL_MS = 15 * 60 * 1000 };

/* What the network is known to have, so that a refresh of something
 * already there (a DHCP renewal, an IPv6 lifetime update, a Wi-Fi scan
 * reported on a running link) is not news.  What was there before
 * watch_run started is not known, so its first report counts once.
 * Bounded: when full, the oldest entry is forgotten, which costs at most
 * one extra call. */
#define WATCH_SEEN_MAX 64

struct watch_key {
	unsigned char kind; /* link, address or default route */
	unsigned char family;
	unsigned char prefixlen;
	int ifindex; /* the route's output interface, 0 if none given */
	unsigned table;
	unsigned char addr[16]; /* the address, or the route's gateway */
};

struct watch_seen {
	struct watch_key keys[WATCH_SEEN_MAX];
	size_t n;
	size_t next; /* slot to reuse when full */
};

/* Reads one datagram received from the kernel (untrusted: every length is
 * checked; buf aligned as a struct nlmsghdr) and updates seen.  Returns
 * true when it reports the network coming up: a link that starts running,
 * an address or a default route not seen before, none of them on the
 * loopback interface. */
bool watch_parse(struct watch_seen *seen, const void *buf, size_t len);

/* Runs until SIGTERM or SIGINT (returns 0) or max_wait_ms (returns 0).
 * on_network_up returns 0 to keep watching, or -1 after filling e to stop:
 * watch_run then returns -1 with that error.  The netlink socket failing
 * is ST_OSERR.  SIGTERM and SIGINT are caught only while waiting; during
 * on_network_up the caller's dispositions and signal mask are in force,
 * so a child it starts inherits them unchanged. */
int watch_run(const struct watch_params *p, int (*on_network_up)(void *ctx, struct error *e),
	      void *ctx, struct error *e);

#endif
