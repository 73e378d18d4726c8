/*
 * dlist.h - intrusive circular doubly linked list, for LRU and expiry orders (O(1) unlink).
 * Lookups never walk these lists: each owner pairs one with a hash table.
 */
#ifndef KAGI_DLIST_H
#define KAGI_DLIST_H

#include <stdbool.h>
#include <stddef.h>

struct dlist {
	struct dlist *prev, *next;
};

#define dlist_entry(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

static inline void
dlist_init(struct dlist *h)
{
	h->prev = h->next = h;
}

static inline bool
dlist_empty(const struct dlist *h)
{
	return h->next == h;
}

static inline bool
dlist_linked(const struct dlist *n)
{
	return n->next != NULL && n->next != n;
}

static inline void
dlist_add_tail(struct dlist *h, struct dlist *n)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}

static inline void
dlist_del(struct dlist *n)
{
	if (!n->next)
		return;
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = NULL;
}

static inline struct dlist *
dlist_first(const struct dlist *h)
{
	return dlist_empty(h) ? NULL : h->next;
}

#endif
