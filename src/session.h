/*
 * session.h - EAP conversations in progress, keyed by the RADIUS State attribute.
 *
 * State is 16 bytes from the CSPRNG (RAND_bytes). The table is bounded globally and per client;
 * when either bound is reached the least recently active conversation (of that client, or of
 * all) is dropped, so a flood of abandoned handshakes cannot lock real users out. Idle
 * conversations expire. Time is passed in (milliseconds), so expiry is testable without sleeping.
 */
#ifndef KAGI_SESSION_H
#define KAGI_SESSION_H

#include "dlist.h"
#include "eap.h"

#include <stdbool.h>
#include <stdint.h>
#include <talloc.h>

#define SESSION_STATE_LEN 16

struct conf;
struct codec_pairs;
struct cert_facts;
struct session_table;
struct client_slot;

struct eap_session {
	uint8_t state[SESSION_STATE_LEN];
	/* table links */
	struct session_table *table;
	struct eap_session *hnext;
	struct dlist lru;	 /* all sessions, least recently active first */
	struct dlist client_lru; /* this client's sessions */
	struct client_slot *slot;
	bool linked; /* in the table (under its lock) */
	bool busy;   /* a thread is working on it (under the table lock) */

	struct conf *conf; /* the configuration generation this conversation runs on */
	uint64_t created_ms;
	uint64_t last_ms;
	time_t now; /* wall-clock seconds of the packet being processed */

	/* EAP conversation */
	unsigned rounds;
	unsigned invalid;
	uint8_t last_id;
	struct eap_buf last_request; /* the last EAP Request sent, for stale-id resends */
	const uint8_t *methods; /* EAP types this conversation may use, in order of preference */
	unsigned n_methods;
	const struct eap_method *method;
	void *method_data;
	bool method_started; /* the peer answered the method at least once (no Nak then) */
	bool naked;
	bool want_identity; /* after an EAP-Start: our Request/Identity awaits its Response */

	/* who and where */
	char identity[254];	  /* the identity authorized (inner one in a tunnel) */
	char outer_identity[254]; /* the EAP identity outside a tunnel, if different */
	const char *inner_method;
	char client[64];
	char nas[64];
	char calling_station_id[64];
	unsigned framed_mtu;

	/* outcome, for the reply and the log */
	const char *reason;
	char reason_buf[200];
	const char *tls_version;
	bool resumed;
	struct cert_facts *cert; /* child; set once the peer certificate is known */
	const struct codec_pairs *reply_rule;
	const struct user_entry *user; /* users entry authorized (its and its groups' replies) */
	bool have_isk; /* inner methods: MS-CHAPv2 keys for PEAP crypto binding */
	uint8_t isk[32];
	bool have_keys;
	uint8_t msk[64];
	uint8_t session_id[65];
	size_t session_id_len;

	void (*trace)(void *arg, const char *text);
	void *trace_arg;
};

/* Called when the table drops a session it was not asked to (expired or evicted). */
typedef void session_drop_fn(void *arg, struct eap_session *s, const char *why);

struct session_table *session_table_new(TALLOC_CTX *ctx, session_drop_fn *drop, void *arg);

/*
 * The table is shared by the worker threads. A session is worked on by one thread at a time:
 * session_create and session_claim hand it out busy; session_release hands it back (or
 * talloc_free ends it, taking it out of the table). Eviction and expiry skip busy sessions.
 */

/*
 * session_create - a new busy session for client (by name), with a fresh random State. When
 * the table holds max_total sessions, or the client max_per_client, the least recently active
 * idle one is dropped first (drop callback with "evicted"). Free it with talloc_free. NULL if
 * out of memory or randomness.
 */
struct eap_session *session_create(struct session_table *t, const char *client,
				   unsigned max_total, unsigned max_per_client, uint64_t now_ms);

/*
 * session_claim - the session with this State, given to client (the name passed to
 * session_create; s->client may be relabelled), marked busy and active now; or
 * NULL (*busy set if another thread is working on it: a retransmission or a replay).
 */
struct eap_session *session_claim(struct session_table *t, const uint8_t *state, size_t len,
				  const char *client, uint64_t now_ms, bool *busy);

/* session_release - the thread is done with it for now: idle again, active now. */
void session_release(struct eap_session *s, uint64_t now_ms);

/*
 * session_find - by State, or NULL. Neither touches it nor takes the table's lock: for tests,
 * and for the table itself under its lock.
 */
struct eap_session *session_find(struct session_table *t, const uint8_t *state, size_t len);

/* session_touch - mark activity now (moves it to the back of the LRU orders). */
void session_touch(struct eap_session *s, uint64_t now_ms);

/*
 * session_expire - drop idle sessions inactive longer than idle_ms (drop callback with
 * "abandoned"). Returns how many.
 */
unsigned session_expire(struct session_table *t, uint64_t now_ms, uint64_t idle_ms);

unsigned session_count(struct session_table *t);
unsigned session_client_count(struct session_table *t, const char *client);

/* session_set_reason - record why the conversation fails (formatted copy). */
void session_set_reason(struct eap_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* session_trace - debug trace with the session context (no-op unless tracing). */
void session_trace(struct eap_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
