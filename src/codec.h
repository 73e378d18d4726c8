/*
 * codec.h - RADIUS packet codec: the only door to libfreeradius-radius.
 *
 * RFC 2865 (packets, Response Authenticator), RFC 2869 §5.14 / RFC 3579 §3.2
 * (Message-Authenticator), RFC 5997 (Status-Server), RFC 4072 (EAP-Key-Name),
 * RFC 2548 (MS-MPPE keys). Nothing here logs; errors come back in a message buffer.
 *
 * The libfreeradius codec is not thread safe (fr_rand() is a global generator used by
 * rad_alloc/rad_encode): every function here that reaches it takes one process-wide lock, so
 * threads may call the codec concurrently (each on its own objects).
 */
#ifndef KAGI_CODEC_H
#define KAGI_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <talloc.h>

#define CODEC_MAX_PACKET 4096

enum codec_code {
	CODEC_ACCESS_REQUEST = 1,
	CODEC_ACCESS_ACCEPT = 2,
	CODEC_ACCESS_REJECT = 3,
	CODEC_ACCOUNTING_REQUEST = 4,
	CODEC_ACCOUNTING_RESPONSE = 5,
	CODEC_ACCESS_CHALLENGE = 11,
	CODEC_STATUS_SERVER = 12,
};

/* Attribute numbers used outside the codec. */
enum codec_attr {
	CODEC_ATTR_USER_NAME = 1,
	CODEC_ATTR_FRAMED_MTU = 12,
	CODEC_ATTR_STATE = 24,
	CODEC_ATTR_CALLING_STATION_ID = 31,
	CODEC_ATTR_EAP_MESSAGE = 79,
	CODEC_ATTR_EAP_KEY_NAME = 102,
};

/* Result of the allocation-free pre-check of a received datagram. */
enum codec_raw_result {
	CODEC_RAW_OK = 0,
	CODEC_RAW_MALFORMED,	/* header or attribute framing broken */
	CODEC_RAW_BAD_CODE,	/* not Access-Request or Status-Server */
	CODEC_RAW_NO_MA,	/* Message-Authenticator missing */
	CODEC_RAW_BAD_MA,	/* Message-Authenticator wrong (bad secret or forged) */
};

const char *codec_raw_result_str(enum codec_raw_result r);

/*
 * codec_init - load the dictionaries once at start-up: with all_vendors, the whole FreeRADIUS
 * "dictionary" in dict_dir; otherwise its RFC and Microsoft files, and the vendor files only
 * when codec_pairs_parse meets a name those lack. Returns 0 or -1 with err set. A failed
 * dictionary load cannot be retried (libfreeradius frees it).
 */
int codec_init(const char *dict_dir, bool all_vendors, char *err, size_t errlen);
/* codec_dict_complete - are the vendor dictionaries loaded? */
bool codec_dict_complete(void);
void codec_free(void);

/*
 * codec_check_raw - frame-check a received request and verify its Message-Authenticator
 * (HMAC-MD5 keyed with the shared secret) before anything is decoded or allocated.
 * len is the datagram size; *pkt_len gets the RADIUS Length field (trailing bytes ignored).
 */
enum codec_raw_result codec_check_raw(const uint8_t *buf, size_t len, const char *secret,
				      size_t *pkt_len);

/*
 * codec_check_raw_mac - the same with a reusable HMAC context (one per thread: it is not
 * shared), which saves OpenSSL's per-call algorithm lookups; NULL works like codec_check_raw.
 */
struct codec_mac;
struct codec_mac *codec_mac_new(TALLOC_CTX *ctx);
enum codec_raw_result codec_check_raw_mac(const uint8_t *buf, size_t len, const char *secret,
					  size_t *pkt_len, struct codec_mac *mac);

struct codec_request;
struct codec_reply;
struct codec_pairs;

/*
 * codec_request_decode - decode a request that passed codec_check_raw. The returned object is
 * a talloc child of ctx. Returns NULL with err set on failure.
 */
struct codec_request *codec_request_decode(TALLOC_CTX *ctx, const uint8_t *buf, size_t len,
					   const char *secret, char *err, size_t errlen);

int codec_request_code(const struct codec_request *req);

/* codec_code_name - "Access-Request", "Access-Challenge", ...; "packet" for other codes. */
const char *codec_code_name(int code);
int codec_request_id(const struct codec_request *req);
/* Raw value of the first attribute (vendor 0), or NULL. EAP-Message pieces come joined. */
const uint8_t *codec_request_attr(const struct codec_request *req, unsigned attr, size_t *len);
/* Copy a string attribute (NUL-terminated, truncated to outlen); returns false if absent. */
bool codec_request_string(const struct codec_request *req, unsigned attr, char *out,
			  size_t outlen);
/* Integer attribute, or def when absent. */
uint32_t codec_request_integer(const struct codec_request *req, unsigned attr, uint32_t def);
bool codec_request_has(const struct codec_request *req, unsigned attr);

/*
 * codec_request_describe - print the attributes for a debug trace, one callback per line.
 * Secrets are redacted: password attributes, MS-CHAP and MPPE values; EAP-Message is shown as
 * its length only.
 */
void codec_request_describe(const struct codec_request *req,
			    void (*line)(void *arg, const char *text), void *arg);

/*
 * codec_reply_new - start a reply to req. Message-Authenticator is added first and Proxy-State
 * attributes are copied from the request (RFC 2865 §5.33). Child of ctx.
 */
struct codec_reply *codec_reply_new(TALLOC_CTX *ctx, struct codec_request *req, int code);
int codec_reply_add(struct codec_reply *rep, unsigned attr, unsigned vendor, const void *data,
		    size_t len);
int codec_reply_add_string(struct codec_reply *rep, unsigned attr, const char *s);
/* Add MS-MPPE-Recv-Key / MS-MPPE-Send-Key (salt-encrypted by the encoder, RFC 2548 §2.4). */
int codec_reply_add_mppe(struct codec_reply *rep, const uint8_t recv_key[32],
			 const uint8_t send_key[32]);
/*
 * Append copies of configured attributes, but not those the reply already has (the same
 * attribute, and tag where it has one): what was added first, the more specific, wins.
 */
int codec_reply_add_pairs(struct codec_reply *rep, const struct codec_pairs *pairs);
/* Whether the reply has an attribute (vendor 0). */
bool codec_reply_has(const struct codec_reply *rep, unsigned attr);
int codec_reply_code(const struct codec_reply *rep);
/*
 * codec_reply_encode - encode and sign (Response Authenticator and Message-Authenticator).
 * *out points into rep (valid while rep lives). Returns 0 or -1 with err set.
 * codec_reply_encode_mac: the same, signing with a worker's reusable contexts (codec_mac_new).
 */
int codec_reply_encode(struct codec_reply *rep, const char *secret, const uint8_t **out,
		       size_t *outlen, char *err, size_t errlen);
int codec_reply_encode_mac(struct codec_reply *rep, const char *secret, struct codec_mac *mac,
			   const uint8_t **out, size_t *outlen, char *err, size_t errlen);
void codec_reply_describe(const struct codec_reply *rep,
			  void (*line)(void *arg, const char *text), void *arg);

/*
 * codec_pairs_parse - parse "Attr = value, Attr2 = value" against the dictionary (for reply
 * attributes in raddb/users). Child of ctx; NULL with err set on error. Empty text gives an
 * empty list. A name the loaded dictionaries lack loads the vendor dictionaries first.
 */
struct codec_pairs *codec_pairs_parse(TALLOC_CTX *ctx, const char *text, char *err,
				      size_t errlen);

/* ---- NAS side: requests we send and replies we check (kagi test, kagi bench) ---- */

struct codec_out;

/*
 * codec_out_new - an outgoing request (Access-Request or Status-Server) with a random Request
 * Authenticator (RAND_bytes) and Message-Authenticator first. Child of ctx.
 */
struct codec_out *codec_out_new(TALLOC_CTX *ctx, int code, uint8_t id);
int codec_out_add(struct codec_out *o, unsigned attr, unsigned vendor, const void *data,
		  size_t len);
int codec_out_add_integer(struct codec_out *o, unsigned attr, uint32_t value);
/* codec_out_encode - encode and sign; *out points into o. 0 or -1 with err set. */
int codec_out_encode(struct codec_out *o, const char *secret, const uint8_t **out, size_t *len,
		     char *err, size_t errlen);
const uint8_t *codec_out_vector(const struct codec_out *o);

/*
 * codec_reply_check - verify a reply to o: identifier, Response Authenticator, and the
 * Message-Authenticator (required), with mac's reusable contexts if not NULL (one caller
 * thread per mac). Decodes it into a codec_request (read with the codec_request_* accessors;
 * salt-encrypted attributes are left out, see codec_reply_mppe). NULL with err set.
 */
struct codec_request *codec_reply_check(TALLOC_CTX *ctx, const struct codec_out *o,
					const uint8_t *buf, size_t len, const char *secret,
					struct codec_mac *mac, char *err, size_t errlen);

/*
 * codec_reply_mppe - find and decrypt MS-MPPE-Recv-Key / Send-Key in a raw reply (RFC 2548
 * §2.4.2), with the request authenticator of o. Returns 0 if both were found (32 octets each).
 */
int codec_reply_mppe(const uint8_t *buf, size_t len, const struct codec_out *o,
		     const char *secret, uint8_t recv_key[32], uint8_t send_key[32]);

#endif
