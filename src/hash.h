/*
 * hash.h - FNV-1a over bytes, for the hash tables (session slots, duplicate cache, TLS caches,
 * client hosts). Not for anything an attacker must not steer: the keys hashed are either random
 * (session IDs, State) or chosen by the administrator, and every table bounds its chains' work
 * by bounding its entries.
 */
#ifndef KAGI_HASH_H
#define KAGI_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_INIT 2166136261u

/* hash_bytes - continue the hash h (start with HASH_INIT) over n bytes at p. */
static inline unsigned
hash_bytes(unsigned h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

#endif
