/* SPDX-License-Identifier: ISC */
/*
 * sources.c: connections per client address (--max-conns-per-source), in
 * a hash table with linear probing, so that admission stays cheap with
 * ten thousand clients. Touches nothing but its own table.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sources.h"

struct source_slot {
	unsigned char	 addr[16];	/* IPv6, or IPv4-mapped */
	int		 count;		/* 0: the slot is free */
};

/* sa as a 16-byte key. Returns -1 if it is not an IP address. */
static int
source_key(const struct sockaddr *sa, unsigned char key[16])
{
	const struct sockaddr_in *sin;

	if (sa->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr, 16);
		return 0;
	}
	if (sa->sa_family != AF_INET)
		return -1;
	sin = (const struct sockaddr_in *)(const void *)sa;
	memset(key, 0, 10);
	key[10] = key[11] = 0xff;
	memcpy(key + 12, &sin->sin_addr, 4);
	return 0;
}

/* FNV-1a: the addresses come from outside, but the table only counts. */
static size_t
source_hash(const unsigned char key[16])
{
	uint32_t h = 2166136261u;
	int i;

	for (i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	return h;
}

/* The slot holding key, or the free slot where it would go. */
static struct source_slot *
source_find(const struct sources *t, const unsigned char key[16])
{
	size_t i = source_hash(key) & (t->cap - 1);

	while (t->slots[i].count != 0 &&
	    memcmp(t->slots[i].addr, key, 16) != 0)
		i = (i + 1) & (t->cap - 1);
	return &t->slots[i];
}

/* Make room for one more address: at most half the slots in use. */
static int
source_grow(struct sources *t)
{
	struct source_slot *old = t->slots, *s;
	size_t oldcap = t->cap, i;

	if ((t->used + 1) * 2 <= t->cap)
		return 0;
	t->cap = oldcap == 0 ? 64 : oldcap * 2;
	if ((t->slots = calloc(t->cap, sizeof(*t->slots))) == NULL) {
		t->slots = old;
		t->cap = oldcap;
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < oldcap; i++)
		if (old[i].count != 0) {
			s = source_find(t, old[i].addr);
			*s = old[i];
		}
	free(old);
	return 0;
}

int
sources_take(struct sources *t, const struct sockaddr *sa, int limit)
{
	struct source_slot *s;
	unsigned char key[16];

	if (source_key(sa, key) == -1) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (source_grow(t) == -1)
		return -1;
	s = source_find(t, key);
	if (s->count >= limit) {
		errno = EBUSY;
		return -1;
	}
	if (s->count++ == 0) {
		memcpy(s->addr, key, 16);
		t->used++;
	}
	return 0;
}

int
sources_count(const struct sources *t, const struct sockaddr *sa)
{
	unsigned char key[16];

	if (t->cap == 0 || source_key(sa, key) == -1)
		return 0;
	return source_find(t, key)->count;
}

void
sources_give(struct sources *t, const struct sockaddr *sa)
{
	struct source_slot *s;
	unsigned char key[16];
	size_t hole, i, want;

	if (t->cap == 0 || source_key(sa, key) == -1)
		return;
	s = source_find(t, key);
	if (s->count == 0 || --s->count > 0)
		return;
	t->used--;
	/*
	 * The slot is free again: move back any later entry of the same run
	 * that could not sit in its own slot, so that lookups, which stop
	 * at the first free slot, still find it.
	 */
	hole = (size_t)(s - t->slots);
	for (i = (hole + 1) & (t->cap - 1); t->slots[i].count != 0;
	    i = (i + 1) & (t->cap - 1)) {
		want = source_hash(t->slots[i].addr) & (t->cap - 1);
		/* Does i's home lie cyclically in (hole, i]? Then it stays. */
		if ((i > hole && want > hole && want <= i) ||
		    (i < hole && (want > hole || want <= i)))
			continue;
		t->slots[hole] = t->slots[i];
		t->slots[i].count = 0;
		hole = i;
	}
}

void
sources_free(struct sources *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}
