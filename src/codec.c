/*
 * codec.c - RADIUS packet codec on libfreeradius-radius 3.2 (see codec.h).
 *
 * This is the only file that includes the libfreeradius headers: they define macros and types
 * that clash with the rest of the program (and with glibc's features.h if included wrongly).
 */
#include "codec.h"

#include <freeradius/build.h>
#undef HAVE_PCRE
#undef HAVE_REGEX
#include <freeradius/libradius.h>
#include <freeradius/md5.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <limits.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define RADIUS_HDR_LEN 20
/* An MS-MPPE key VSA: 26, length, vendor 311, type, length, salt(2), 48 encrypted octets. */
#define MPPE_VSA_LEN 58
#define MA_ATTR 80
#define MA_LEN 18

/*
 * MPPE salts: a counter from a random start (mppe_salt_seed), so that the salts of one reply
 * differ (RFC 2548 §2.4.2 asks that much) and do not repeat for 32768 attributes. RAND_bytes for
 * four octets cost 2 % of a resumed authentication.
 */
static atomic_uint mppe_salt;

struct codec_request {
	RADIUS_PACKET *packet;
};

struct codec_reply {
	RADIUS_PACKET *packet;
	RADIUS_PACKET *original;
	bool have_mppe; /* MS-MPPE-Recv-Key and -Send-Key, encrypted by mppe_append */
	bool encoded;	/* packet->data is the signed reply of the attributes as they are */
	uint8_t mppe_recv[32];
	uint8_t mppe_send[32];
};

struct codec_pairs {
	VALUE_PAIR *vps;
};

static bool codec_ready;

/*
 * libfreeradius-radius keeps global unlocked state (fr_rand() in rad_alloc and rad_encode, for
 * Tunnel-Password salts): every entry point that reaches the library holds this lock, so worker
 * threads may call the codec concurrently. It guards the library, which is process-wide, so it
 * is process-wide too. Recursive, because some entry points call others. MPPE keys are
 * encrypted and replies signed after it is released (mppe_append, reply_sign).
 */
static pthread_mutex_t codec_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

const char *
codec_raw_result_str(enum codec_raw_result r)
{
	switch (r) {
	case CODEC_RAW_OK:
		return "ok";
	case CODEC_RAW_MALFORMED:
		return "malformed packet";
	case CODEC_RAW_BAD_CODE:
		return "unsupported packet code";
	case CODEC_RAW_NO_MA:
		return "Message-Authenticator missing";
	case CODEC_RAW_BAD_MA:
		return "Message-Authenticator invalid (wrong secret or forged packet)";
	}
	return "?";
}

/*
 * What kagid reads at start: the files of FreeRADIUS' top "dictionary" that are not a vendor's
 * (RFC and IANA attributes, FreeRADIUS' own; "compat" after the RFC files whose attributes its
 * values name: each file is checked when read), and Microsoft's (MS-CHAP, MPPE keys). The ~200
 * vendor dictionaries cost 1.6 MB of heap that a server whose configuration names no vendor
 * attribute never uses; they are read on first need (dict_load_all). A request's vendor
 * attributes decode either way (unknown ones as Attr-26.<vendor>.<n>).
 */
static const char *const core_dicts[] = {
	"dictionary.rfc2865", "dictionary.rfc2866", "dictionary.rfc2867", "dictionary.rfc2868",
	"dictionary.rfc2869", "dictionary.rfc3162", "dictionary.rfc3576", "dictionary.rfc3580",
	"dictionary.rfc4072", "dictionary.rfc4372", "dictionary.rfc4603", "dictionary.rfc4675",
	"dictionary.rfc4679", "dictionary.rfc4818", "dictionary.rfc4849", "dictionary.rfc5176",
	"dictionary.rfc5447", "dictionary.rfc5580", "dictionary.rfc5607", "dictionary.rfc5904",
	"dictionary.rfc6519", "dictionary.rfc6572", "dictionary.rfc6677", "dictionary.rfc6911",
	"dictionary.rfc6929", "dictionary.rfc6930", "dictionary.rfc7055", "dictionary.rfc7155",
	"dictionary.rfc7268", "dictionary.rfc7499", "dictionary.rfc7930", "dictionary.rfc8045",
	"dictionary.rfc8559", "dictionary.compat", "dictionary.iana", "dictionary.compatible",
	"dictionary.freeradius", "dictionary.freeradius.evs5", "dictionary.microsoft",
	"dictionary.freeradius.internal",
};
#define N_CORE_DICTS (sizeof(core_dicts) / sizeof(core_dicts[0]))
static char dict_dir_used[PATH_MAX];
static bool dict_all; /* the whole "dictionary" file is loaded */

/* Every core file present in dir? (Another layout: read the whole dictionary instead.) */
static bool
core_dicts_present(const char *dir)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < N_CORE_DICTS; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, core_dicts[i]) >= (int)sizeof(path) ||
		    access(path, R_OK) != 0)
			return false;
	}
	return true;
}

static int
dict_load_core(const char *dir)
{
	if (dict_init(dir, core_dicts[0]) < 0)
		return -1;
	for (size_t i = 1; i < N_CORE_DICTS; i++) {
		if (dict_read(dir, core_dicts[i]) < 0)
			return -1;
	}
	return 0;
}

/* Read the whole dictionary (all vendors) on top of what is loaded. Caller holds codec_lock. */
static int
dict_load_all(void)
{
	if (dict_all)
		return 0;
	if (dict_read(dict_dir_used, "dictionary") < 0)
		return -1;
	dict_all = true;
	return 0;
}

static void
mppe_salt_seed(void)
{
	unsigned start = 0;

	if (RAND_bytes((unsigned char *)&start, sizeof(start)) != 1)
		start = (unsigned)time(NULL);
	atomic_store(&mppe_salt, start);
	ERR_clear_error();
}

int
codec_init(const char *dict_dir, bool all_vendors, char *err, size_t errlen)
{
	int r;

	if (codec_ready)
		return 0;
	mppe_salt_seed();
	if (fr_check_lib_magic(RADIUSD_MAGIC_NUMBER) < 0) {
		snprintf(err, errlen, "libfreeradius-radius version mismatch: %s", fr_strerror());
		return -1;
	}
	if (snprintf(dict_dir_used, sizeof(dict_dir_used), "%s", dict_dir) >=
	    (int)sizeof(dict_dir_used)) {
		snprintf(err, errlen, "dictionary directory name too long");
		return -1;
	}
	/* fr_debug_lvl >= 1 makes the library record why it drops a packet. */
	fr_debug_lvl = 1;
	fr_log_fp = NULL;
	fr_max_attributes = 255;
	dict_all = all_vendors || !core_dicts_present(dict_dir);
	r = dict_all ? dict_init(dict_dir, "dictionary") : dict_load_core(dict_dir);
	if (r < 0) {
		snprintf(err, errlen, "cannot load RADIUS dictionaries from %s: %s", dict_dir,
			 fr_strerror());
		return -1;
	}
	codec_ready = true;
	return 0;
}

bool
codec_dict_complete(void)
{
	bool r;

	pthread_mutex_lock(&codec_lock);
	r = dict_all;
	pthread_mutex_unlock(&codec_lock);
	return r;
}

void
codec_free(void)
{
	if (codec_ready)
		dict_free();
	codec_ready = false;
}

/*
 * A reusable HMAC-MD5: the MAC fetched and the context made once, keyed again only when the
 * secret differs from the last packet's (most packets come from the same few NASes); a re-init
 * with the same key skips the key schedule.
 */
struct codec_mac {
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
	EVP_MD *md5; /* Response Authenticators */
	EVP_MD_CTX *md_ctx;
	char *keyed; /* the secret ctx holds, NULL if none */
	size_t keyed_len;
};

/* Forget which secret ctx holds (the next packet keys it afresh). */
static void
mac_forget_key(struct codec_mac *m)
{
	if (m->keyed) {
		OPENSSL_cleanse(m->keyed, m->keyed_len);
		TALLOC_FREE(m->keyed);
	}
}

static int
mac_free(struct codec_mac *m)
{
	mac_forget_key(m);
	EVP_MAC_CTX_free(m->ctx);
	EVP_MAC_free(m->mac);
	EVP_MD_CTX_free(m->md_ctx);
	EVP_MD_free(m->md5);
	return 0;
}

struct codec_mac *
codec_mac_new(TALLOC_CTX *ctx)
{
	struct codec_mac *m = talloc_zero(ctx, struct codec_mac);
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"MD5", 0),
		OSSL_PARAM_construct_end(),
	};

	if (!m)
		return NULL;
	talloc_set_destructor(m, mac_free);
	m->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	m->ctx = m->mac ? EVP_MAC_CTX_new(m->mac) : NULL;
	m->md5 = EVP_MD_fetch(NULL, "MD5", NULL);
	m->md_ctx = EVP_MD_CTX_new();
	if (!m->ctx || !m->md5 || !m->md_ctx || EVP_MAC_CTX_set_params(m->ctx, params) != 1) {
		ERR_clear_error();
		talloc_free(m);
		return NULL;
	}
	return m;
}

/* HMAC-MD5 (RFC 2104), with the reusable context if there is one. */
static void
hmac_md5(struct codec_mac *m, uint8_t digest[16], const uint8_t *data, size_t len,
	 const char *secret)
{
	size_t klen = strlen(secret), out = 0;

	if (m) {
		bool same = m->keyed && m->keyed_len == klen && memcmp(m->keyed, secret, klen) == 0;
		int ok = same ? EVP_MAC_init(m->ctx, NULL, 0, NULL)
			      : EVP_MAC_init(m->ctx, (const unsigned char *)secret, klen, NULL);

		if (!same)
			mac_forget_key(m);
		if (ok == 1 && !same) {
			m->keyed = talloc_memdup(m, secret, klen);
			m->keyed_len = klen;
		}
		if (ok == 1 && EVP_MAC_update(m->ctx, data, len) == 1 &&
		    EVP_MAC_final(m->ctx, digest, &out, 16) == 1 && out == 16)
			return;
		mac_forget_key(m); /* a failed context starts from a fresh key next time */
	}
	ERR_clear_error();
	fr_hmac_md5(digest, data, len, (const uint8_t *)secret, klen);
}

/* MD5(data | secret), with the reusable context if there is one. False if OpenSSL failed. */
static bool
md5_with_secret(struct codec_mac *m, uint8_t digest[16], const uint8_t *data, size_t len,
		const char *secret)
{
	EVP_MD_CTX *c = m ? m->md_ctx : EVP_MD_CTX_new();
	unsigned out = 0;
	bool ok = c && EVP_DigestInit_ex(c, m ? m->md5 : EVP_md5(), NULL) == 1 &&
		  EVP_DigestUpdate(c, data, len) == 1 &&
		  EVP_DigestUpdate(c, secret, strlen(secret)) == 1 &&
		  EVP_DigestFinal_ex(c, digest, &out) == 1 && out == 16;

	if (!m)
		EVP_MD_CTX_free(c);
	ERR_clear_error();
	return ok;
}

/*
 * The offset of the Message-Authenticator among the attributes of pkt (len octets, header
 * included): 0 if there is none, -1 if an attribute is broken or a Message-Authenticator has
 * the wrong length or comes twice.
 */
static long
ma_offset(const uint8_t *pkt, size_t len)
{
	size_t off, ma_off = 0;

	for (off = RADIUS_HDR_LEN; off < len;) {
		size_t alen;

		if (len - off < 2)
			return -1;
		alen = pkt[off + 1];
		if (alen < 2 || alen > len - off)
			return -1;
		if (pkt[off] == MA_ATTR) {
			if (alen != MA_LEN || ma_off)
				return -1;
			ma_off = off;
		}
		off += alen;
	}
	return (long)ma_off;
}

/*
 * Sign an encoded reply as rad_sign does (RFC 3579 §3.2 Message-Authenticator: HMAC-MD5 over the
 * reply with the Request Authenticator in place and itself zeroed; then RFC 2865 §3 Response
 * Authenticator: MD5(Code|Identifier|Length|Request Authenticator|Attributes|secret)), but
 * outside the codec lock and with OpenSSL's MD5.
 */
static bool
reply_sign(uint8_t *pkt, size_t len, const uint8_t req_vector[16], const char *secret,
	   struct codec_mac *mac)
{
	uint8_t digest[16];
	long ma = ma_offset(pkt, len);

	if (ma < 0)
		return false;
	memcpy(pkt + 4, req_vector, 16);
	if (ma > 0) {
		memset(pkt + ma + 2, 0, 16);
		hmac_md5(mac, digest, pkt, len, secret);
		memcpy(pkt + ma + 2, digest, 16);
	}
	if (!md5_with_secret(mac, digest, pkt, len, secret))
		return false;
	memcpy(pkt + 4, digest, 16);
	return true;
}

enum codec_raw_result
codec_check_raw(const uint8_t *buf, size_t len, const char *secret, size_t *pkt_len)
{
	return codec_check_raw_mac(buf, len, secret, pkt_len, NULL);
}

enum codec_raw_result
codec_check_raw_mac(const uint8_t *buf, size_t len, const char *secret, size_t *pkt_len,
		    struct codec_mac *mac)
{
	uint8_t copy[CODEC_MAX_PACKET];
	uint8_t digest[16];
	size_t plen;
	long ma_off;

	if (len < RADIUS_HDR_LEN)
		return CODEC_RAW_MALFORMED;
	plen = ((size_t)buf[2] << 8) | buf[3];
	/* RFC 2865 §3: octets beyond Length are padding and ignored; a shorter datagram is bad. */
	if (plen < RADIUS_HDR_LEN || plen > len || plen > CODEC_MAX_PACKET)
		return CODEC_RAW_MALFORMED;
	if (buf[0] != CODEC_ACCESS_REQUEST && buf[0] != CODEC_STATUS_SERVER)
		return CODEC_RAW_BAD_CODE;

	ma_off = ma_offset(buf, plen);
	if (ma_off < 0)
		return CODEC_RAW_MALFORMED;
	/* RFC 3579 §3.2 and the BlastRADIUS fix: every request must carry one. */
	if (!ma_off)
		return CODEC_RAW_NO_MA;

	memcpy(copy, buf, plen);
	memset(copy + ma_off + 2, 0, 16);
	hmac_md5(mac, digest, copy, plen, secret);
	if (CRYPTO_memcmp(digest, buf + ma_off + 2, 16) != 0)
		return CODEC_RAW_BAD_MA;
	if (pkt_len)
		*pkt_len = plen;
	return CODEC_RAW_OK;
}

static const char *
decode_fail_str(decode_fail_t r)
{
	switch (r) {
	case DECODE_FAIL_NONE:
		return "no reason";
	case DECODE_FAIL_MIN_LENGTH_PACKET:
	case DECODE_FAIL_MIN_LENGTH_FIELD:
	case DECODE_FAIL_MIN_LENGTH_MISMATCH:
	case DECODE_FAIL_HEADER_OVERFLOW:
		return "bad packet length";
	case DECODE_FAIL_UNKNOWN_PACKET_CODE:
		return "unknown packet code";
	case DECODE_FAIL_INVALID_ATTRIBUTE:
	case DECODE_FAIL_ATTRIBUTE_TOO_SHORT:
	case DECODE_FAIL_ATTRIBUTE_OVERFLOW:
	case DECODE_FAIL_ATTRIBUTE_UNDERFLOW:
		return "bad attribute";
	case DECODE_FAIL_MA_INVALID_LENGTH:
		return "bad Message-Authenticator length";
	case DECODE_FAIL_TOO_MANY_ATTRIBUTES:
		return "too many attributes";
	case DECODE_FAIL_MA_MISSING:
		return "Message-Authenticator missing";
	case DECODE_FAIL_TOO_MANY_AUTH:
		return "too many authentication attributes";
	default:
		return "decode failure";
	}
}

/* Is this attribute salt-encrypted ("encrypt=2") in the dictionary? */
static bool
attr_salt_encrypted(unsigned attr, unsigned vendor)
{
	const DICT_ATTR *da = dict_attrbyvalue(attr, vendor);

	return da && da->flags.encrypt == FLAG_ENCRYPT_TUNNEL_PASSWORD;
}

/*
 * Attributes the decoder is never given (a is one attribute, its length checked):
 * - salt-encrypted ones (Tunnel-Password, MS-MPPE keys, ..., or a Vendor-Specific holding
 *   one): no Access-Request legitimately carries them, the NAS side decrypts the MPPE keys
 *   itself (codec_reply_mppe), and libfreeradius 3.2.1 leaks an OpenSSL digest context each
 *   time rad_tunnel_pwdecode fails (found by tests/fuzz/fuzz_radius);
 * - a Vendor-Specific with the reserved Vendor-Id 0 (RFC 2865 §5.26): the library would decode
 *   what it carries as standard attributes (a second User-Name or EAP-Message).
 * The Message-Authenticator covers them all the same: it is checked on the raw packet.
 */
static bool
attr_left_out(const uint8_t *a)
{
	unsigned vendor;
	size_t off;

	if (a[0] != PW_VENDOR_SPECIFIC)
		return attr_salt_encrypted(a[0], 0);
	if (a[1] < 6)
		return false;
	vendor = ((unsigned)a[2] << 24) | ((unsigned)a[3] << 16) | ((unsigned)a[4] << 8) | a[5];
	if (vendor == 0)
		return true;
	for (off = 6; off + 2 <= a[1]; off += a[off + 1]) {
		if (attr_salt_encrypted(a[off], vendor))
			return true;
		if (a[off + 1] < 2)
			break;
	}
	return false;
}

/*
 * rad_decode, but each call to the library's attribute decoder is told where the run of
 * attributes of one type (the unit it may join: EAP-Message fragments, NAS-Filter-Rule lines,
 * WiMAX or long extended continuations) ends, and must stop on an attribute boundary inside
 * it. libfreeradius 3.2.1's rad_decode trusts that decoder: after an empty NAS-Filter-Rule it
 * resumes in the middle of later attributes and decodes whatever their values spell (an
 * attacker's identity could carry a whole attribute). Found by tests/fuzz/fuzz_radius. The
 * packet passed rad_packet_ok, so attribute lengths are sound. Under the codec lock.
 */
static int
decode_attrs(RADIUS_PACKET *p, const RADIUS_PACKET *original, const char *secret, char *err,
	     size_t errlen)
{
	const uint8_t *d = p->data;
	size_t off = RADIUS_HDR_LEN, len = p->data_len;
	VALUE_PAIR *head = NULL, **tail = &head;
	unsigned count = 0;

	while (off + 2 <= len) {
		size_t end = off, at = off;
		VALUE_PAIR *vp = NULL;
		ssize_t used;

		if (attr_left_out(d + off)) {
			off += d[off + 1];
			continue;
		}
		/* The run ends before an attribute that is left out: the library never sees it. */
		do
			end += d[end + 1];
		while (end + 2 <= len && d[end] == d[off] && !attr_left_out(d + end));
		used = rad_attr2vp(p, p, original, secret, d + off, end - off, &vp);
		if (used > 0)
			while (at < off + (size_t)used && at < end)
				at += d[at + 1];
		if (used <= 0 || at != off + (size_t)used) {
			fr_pair_list_free(&vp);
			fr_pair_list_free(&head);
			snprintf(err, errlen, "attribute %u at offset %zu does not decode", d[off], off);
			return -1;
		}
		*tail = vp;
		for (; vp; vp = vp->next, count++)
			tail = &vp->next;
		if (fr_max_attributes && count > (unsigned)fr_max_attributes) {
			fr_pair_list_free(&head);
			snprintf(err, errlen, "more than %d attributes", fr_max_attributes);
			return -1;
		}
		off = at;
	}
	fr_rand_seed(d, RADIUS_HDR_LEN);
	fr_pair_add(&p->vps, head);
	return 0;
}

static struct codec_request *
codec_request_decode_locked(TALLOC_CTX *ctx, const uint8_t *buf, size_t len, const char *secret,
			    char *err, size_t errlen)
{
	struct codec_request *req;
	RADIUS_PACKET *p;
	decode_fail_t reason = DECODE_FAIL_NONE;

	req = talloc_zero(ctx, struct codec_request);
	if (!req)
		goto nomem;
	p = rad_alloc(req, false);
	if (!p)
		goto nomem;
	req->packet = p;
	p->data = talloc_memdup(p, buf, len);
	if (!p->data)
		goto nomem;
	p->data_len = len;
	p->code = buf[0];
	p->id = buf[1];
	memcpy(p->vector, buf + 4, AUTH_VECTOR_LEN);
	p->sockfd = -1;

	if (!rad_packet_ok(p, 0, &reason)) {
		snprintf(err, errlen, "malformed packet: %s", decode_fail_str(reason));
		goto fail;
	}
	if (decode_attrs(p, NULL, secret, err, errlen) < 0)
		goto fail;
	return req;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	talloc_free(req);
	return NULL;
}

const char *
codec_code_name(int code)
{
	switch (code) {
	case CODEC_ACCESS_REQUEST:
		return "Access-Request";
	case CODEC_ACCESS_ACCEPT:
		return "Access-Accept";
	case CODEC_ACCESS_REJECT:
		return "Access-Reject";
	case CODEC_ACCESS_CHALLENGE:
		return "Access-Challenge";
	case CODEC_STATUS_SERVER:
		return "Status-Server";
	case CODEC_ACCOUNTING_REQUEST:
		return "Accounting-Request";
	case CODEC_ACCOUNTING_RESPONSE:
		return "Accounting-Response";
	default:
		return "packet";
	}
}

int
codec_request_code(const struct codec_request *req)
{
	return (int)req->packet->code;
}

int
codec_request_id(const struct codec_request *req)
{
	return req->packet->id;
}

const uint8_t *
codec_request_attr(const struct codec_request *req, unsigned attr, size_t *len)
{
	VALUE_PAIR *vp = fr_pair_find_by_num(req->packet->vps, attr, 0, TAG_ANY);

	if (!vp)
		return NULL;
	*len = vp->vp_length;
	if (vp->da->type == PW_TYPE_STRING)
		return (const uint8_t *)vp->vp_strvalue;
	return vp->vp_octets;
}

bool
codec_request_has(const struct codec_request *req, unsigned attr)
{
	return fr_pair_find_by_num(req->packet->vps, attr, 0, TAG_ANY) != NULL;
}

bool
codec_request_string(const struct codec_request *req, unsigned attr, char *out, size_t outlen)
{
	size_t len;
	const uint8_t *v = codec_request_attr(req, attr, &len);

	if (!v || outlen == 0)
		return false;
	if (len >= outlen)
		len = outlen - 1;
	memcpy(out, v, len);
	out[len] = '\0';
	return true;
}

uint32_t
codec_request_integer(const struct codec_request *req, unsigned attr, uint32_t def)
{
	VALUE_PAIR *vp = fr_pair_find_by_num(req->packet->vps, attr, 0, TAG_ANY);

	if (!vp || vp->da->type != PW_TYPE_INTEGER)
		return def;
	return vp->vp_integer;
}

/* Attributes whose values never go into a log, at any level. */
static bool
attr_is_secret(const VALUE_PAIR *vp)
{
	/* Anything the dictionary encrypts (User-Password, Tunnel-Password, MPPE keys, ...). */
	if (vp->da->flags.encrypt != FLAG_ENCRYPT_NONE)
		return true;
	if (vp->da->vendor == 0) {
		switch (vp->da->attr) {
		case PW_USER_PASSWORD:
		case PW_CHAP_PASSWORD:
		case PW_CHAP_CHALLENGE:
		case PW_MESSAGE_AUTHENTICATOR:
			return true;
		default:
			return false;
		}
	}
	/* Microsoft: MS-CHAP values and MPPE keys. */
	return vp->da->vendor == VENDORPEC_MICROSOFT;
}

/*
 * Attributes of the conversation that kagid puts in replies itself: configured copies would
 * duplicate or contradict them (two Message-Authenticators cannot be signed).
 */
static bool
attr_is_kagids(const DICT_ATTR *da)
{
	if (da->vendor == VENDORPEC_MICROSOFT)
		return da->attr == PW_MSCHAP_MPPE_SEND_KEY || da->attr == PW_MSCHAP_MPPE_RECV_KEY;
	if (da->vendor)
		return false;
	switch (da->attr) {
	case PW_MESSAGE_AUTHENTICATOR:
	case PW_EAP_MESSAGE:
	case PW_STATE:
	case PW_PROXY_STATE:
	case PW_EAP_KEY_NAME:
		return true;
	default:
		return false;
	}
}

/* Only EAP-Message may exceed one attribute's 253 octets (it is split, RFC 3579 §3.1). */
static bool
value_fits(const VALUE_PAIR *vp)
{
	if (vp->da->vendor == 0 && vp->da->attr == PW_EAP_MESSAGE)
		return true;
	return vp->vp_length <= (vp->da->vendor ? 247u : 253u) - (vp->da->flags.has_tag ? 1 : 0) -
					  (vp->da->flags.encrypt ? 18 : 0);
}

static void
describe_list(VALUE_PAIR *vps, void (*line)(void *arg, const char *text), void *arg)
{
	vp_cursor_t cursor;
	VALUE_PAIR *vp;
	char buf[1100];

	for (vp = fr_cursor_init(&cursor, &vps); vp; vp = fr_cursor_next(&cursor)) {
		if (vp->da->vendor == 0 && vp->da->attr == PW_EAP_MESSAGE)
			snprintf(buf, sizeof(buf), "EAP-Message = <%zu bytes>", vp->vp_length);
		else if (attr_is_secret(vp))
			snprintf(buf, sizeof(buf), "%s = <hidden>", vp->da->name);
		else
			vp_prints(buf, sizeof(buf), vp);
		line(arg, buf);
	}
}

void
codec_request_describe(const struct codec_request *req,
		       void (*line)(void *arg, const char *text), void *arg)
{
	pthread_mutex_lock(&codec_lock);
	describe_list(req->packet->vps, line, arg);
	pthread_mutex_unlock(&codec_lock);
}

void
codec_reply_describe(const struct codec_reply *rep, void (*line)(void *arg, const char *text),
		     void *arg)
{
	pthread_mutex_lock(&codec_lock);
	describe_list(rep->packet->vps, line, arg);
	pthread_mutex_unlock(&codec_lock);
	if (rep->have_mppe) {
		line(arg, "MS-MPPE-Recv-Key = <hidden>");
		line(arg, "MS-MPPE-Send-Key = <hidden>");
	}
}

static int
reply_free(struct codec_reply *rep)
{
	OPENSSL_cleanse(rep->mppe_recv, sizeof(rep->mppe_recv));
	OPENSSL_cleanse(rep->mppe_send, sizeof(rep->mppe_send));
	return 0;
}

static struct codec_reply *
codec_reply_new_locked(TALLOC_CTX *ctx, struct codec_request *req, int code)
{
	struct codec_reply *rep;
	VALUE_PAIR *vp, *ps;
	static const uint8_t zero[16];

	rep = talloc_zero(ctx, struct codec_reply);
	if (!rep)
		return NULL;
	talloc_set_destructor(rep, reply_free);
	rep->original = req->packet;
	rep->packet = rad_alloc_reply(rep, req->packet);
	if (!rep->packet)
		goto fail;
	rep->packet->code = (unsigned)code;
	rep->packet->id = req->packet->id;

	/* Message-Authenticator first: BlastRADIUS mitigation; reply_sign fills it in. */
	vp = fr_pair_afrom_num(rep->packet, PW_MESSAGE_AUTHENTICATOR, 0);
	if (!vp)
		goto fail;
	fr_pair_value_memcpy(vp, zero, sizeof(zero));
	fr_pair_add(&rep->packet->vps, vp);

	/* RFC 2865 §5.33: Proxy-State is copied unmodified and in order. */
	ps = fr_pair_list_copy_by_num(rep->packet, req->packet->vps, PW_PROXY_STATE, 0, TAG_ANY);
	if (ps)
		fr_pair_add(&rep->packet->vps, ps);
	return rep;
fail:
	talloc_free(rep);
	return NULL;
}

int
codec_reply_code(const struct codec_reply *rep)
{
	return (int)rep->packet->code;
}

/* Append one attribute to a packet's list; values too long for RADIUS are refused. */
static int
packet_add(RADIUS_PACKET *packet, unsigned attr, unsigned vendor, const void *data, size_t len)
{
	VALUE_PAIR *vp = fr_pair_afrom_num(packet, attr, vendor);

	if (!vp)
		return -1;
	if (vp->da->type == PW_TYPE_STRING)
		fr_pair_value_bstrncpy(vp, data, len);
	else
		fr_pair_value_memcpy(vp, data, len);
	if (!value_fits(vp)) {
		talloc_free(vp);
		return -1;
	}
	fr_pair_add(&packet->vps, vp);
	return 0;
}

static int
codec_reply_add_locked(struct codec_reply *rep, unsigned attr, unsigned vendor, const void *data,
		       size_t len)
{
	rep->encoded = false;
	return packet_add(rep->packet, attr, vendor, data, len);
}

int
codec_reply_add_string(struct codec_reply *rep, unsigned attr, const char *s)
{
	return codec_reply_add(rep, attr, 0, s, strlen(s));
}

int
codec_reply_add_mppe(struct codec_reply *rep, const uint8_t recv_key[32],
		     const uint8_t send_key[32])
{
	memcpy(rep->mppe_recv, recv_key, 32);
	memcpy(rep->mppe_send, send_key, 32);
	rep->have_mppe = true;
	rep->encoded = false;
	return 0;
}

/* The reply's attribute of vp's kind: same attribute and vendor, and tag where it has one. */
static VALUE_PAIR *
reply_find_like(const struct codec_reply *rep, const VALUE_PAIR *vp)
{
	return fr_pair_find_by_da(rep->packet->vps, vp->da,
				  vp->da->flags.has_tag ? vp->tag : TAG_ANY);
}

static int
codec_reply_add_pairs_locked(struct codec_reply *rep, const struct codec_pairs *pairs)
{
	VALUE_PAIR *add = NULL;
	vp_cursor_t out;
	const VALUE_PAIR *vp;

	if (!pairs || !pairs->vps)
		return 0;
	/* Checked against the reply as it was: the list's own repeats (Cisco-AVPair) all go. */
	fr_cursor_init(&out, &add);
	for (vp = pairs->vps; vp; vp = vp->next) {
		VALUE_PAIR *copy;

		if (reply_find_like(rep, vp))
			continue;
		copy = fr_pair_copy(rep->packet, vp);
		if (!copy) {
			fr_pair_list_free(&add);
			return -1;
		}
		fr_cursor_insert(&out, copy);
	}
	fr_pair_add(&rep->packet->vps, add);
	rep->encoded = false;
	return 0;
}

/*
 * The exact length rad_encode gives the attributes of a reply (it skips the same ones), from
 * encoding each into scratch space; -1 if one cannot be encoded.
 */
static ssize_t
encoded_attrs_len(const struct codec_reply *rep, const char *secret)
{
	uint8_t scratch[CODEC_MAX_PACKET];
	const VALUE_PAIR *vp = rep->packet->vps;
	size_t total = 0;

	while (vp) {
		const DICT_ATTR *da = vp->da;
		int n;

		/* rad_encode: internal attributes are not sent, nor empty ones but a few. */
		if ((da->vendor == 0 && (da->attr & 0xFFFF) >= 256 && !da->flags.extended &&
		     !da->flags.long_extended) ||
		    (vp->vp_length == 0 && (da->vendor != 0 ||
					    (da->attr != PW_CHARGEABLE_USER_IDENTITY &&
					     da->attr != PW_MESSAGE_AUTHENTICATOR)))) {
			vp = vp->next;
			continue;
		}
		if (vp->vp_length == 0) {
			total += 2;
			vp = vp->next;
			continue;
		}
		n = rad_vp2attr(rep->packet, rep->original, secret, &vp, scratch, sizeof(scratch));
		if (n <= 0)
			return -1;
		total += (size_t)n;
	}
	return (ssize_t)total;
}

static int
codec_reply_encode_locked(struct codec_reply *rep, const char *secret, char *err, size_t errlen)
{
	size_t want = 0, mppe = rep->have_mppe ? 2 * MPPE_VSA_LEN : 0;
	ssize_t exact = -1;
	vp_cursor_t cursor;
	VALUE_PAIR *vp;

	/*
	 * libfreeradius 3.2.1 rad_encode silently drops attributes that do not fit the packet and
	 * overflows a stack buffer on a huge EAP-Message: bound the input and check the output.
	 */
	for (vp = fr_cursor_init(&cursor, &rep->packet->vps); vp; vp = fr_cursor_next(&cursor)) {
		/* An upper bound: header, vendor wrapper, tag, encryption salt and padding. */
		size_t l = vp->vp_length + 2 + 6 + 1 + 18;

		if (!value_fits(vp)) {
			snprintf(err, errlen, "attribute %s is too long (%zu octets)", vp->da->name,
				 vp->vp_length);
			return -1;
		}
		want += l + (vp->vp_length / 247) * 8;
	}
	/* Past the quick bound, measure: RADIUS allows 4096 octets (RFC 2865 §3). */
	if (want + mppe + RADIUS_HDR_LEN > CODEC_MAX_PACKET) {
		exact = encoded_attrs_len(rep, secret);
		if (exact < 0) {
			snprintf(err, errlen, "cannot encode reply: %s", fr_strerror());
			return -1;
		}
		if ((size_t)exact + mppe + RADIUS_HDR_LEN > CODEC_MAX_PACKET) {
			snprintf(err, errlen,
				 "reply too large: %zu octets, RADIUS allows %d (fewer or shorter "
				 "reply attributes)",
				 (size_t)exact + mppe + RADIUS_HDR_LEN, CODEC_MAX_PACKET);
			return -1;
		}
	}
	talloc_free(rep->packet->data);
	rep->packet->data = NULL;
	rep->packet->data_len = 0;
	if (rad_encode(rep->packet, rep->original, secret) < 0) {
		snprintf(err, errlen, "cannot encode reply: %s", fr_strerror());
		return -1;
	}
	if (!rep->packet->data || rep->packet->data_len < RADIUS_HDR_LEN ||
	    (exact >= 0 && rep->packet->data_len != (size_t)exact + RADIUS_HDR_LEN)) {
		/* rad_encode drops what does not fit and still succeeds: never send half. */
		snprintf(err, errlen, "cannot encode reply");
		return -1;
	}
	return 0;
}

static int
pairs_free(struct codec_pairs *p)
{
	fr_pair_list_free(&p->vps);
	return 0;
}

static struct codec_pairs *
codec_pairs_parse_locked(TALLOC_CTX *ctx, const char *text, char *err, size_t errlen)
{
	struct codec_pairs *p = talloc_zero(ctx, struct codec_pairs);
	FR_TOKEN tok;

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	talloc_set_destructor(p, pairs_free);
	if (!text || !*text)
		return p;
	tok = fr_pair_list_afrom_str(p, text, &p->vps);
	if (tok == T_INVALID && !dict_all) {
		/* Perhaps a vendor attribute: read the vendor dictionaries and try again. */
		fr_pair_list_free(&p->vps);
		if (dict_load_all() < 0) {
			snprintf(err, errlen, "cannot load RADIUS dictionaries from %s: %s",
				 dict_dir_used, fr_strerror());
			talloc_free(p);
			return NULL;
		}
		tok = fr_pair_list_afrom_str(p, text, &p->vps);
	}
	if (tok == T_INVALID) {
		snprintf(err, errlen, "bad attribute list \"%s\": %s", text, fr_strerror());
		talloc_free(p);
		return NULL;
	}
	{
		vp_cursor_t cursor;
		VALUE_PAIR *vp;

		for (vp = fr_cursor_init(&cursor, &p->vps); vp; vp = fr_cursor_next(&cursor)) {
			const char *why = NULL;

			if (!value_fits(vp))
				why = "value too long for RADIUS";
			else if (attr_is_kagids(vp->da))
				why = "kagid sets it itself; it cannot be configured";
			if (why) {
				snprintf(err, errlen, "attribute %s: %s", vp->da->name, why);
				talloc_free(p);
				return NULL;
			}
		}
	}
	return p;
}

/* ---- NAS side ---- */

struct codec_out {
	RADIUS_PACKET *packet;
};

static struct codec_out *
codec_out_new_locked(TALLOC_CTX *ctx, int code, uint8_t id)
{
	struct codec_out *o = talloc_zero(ctx, struct codec_out);
	static const uint8_t zero[16];
	VALUE_PAIR *vp;

	if (!o)
		return NULL;
	o->packet = rad_alloc(o, false);
	if (!o->packet || RAND_bytes(o->packet->vector, AUTH_VECTOR_LEN) != 1)
		goto fail;
	o->packet->code = (unsigned)code;
	o->packet->id = id;
	vp = fr_pair_afrom_num(o->packet, PW_MESSAGE_AUTHENTICATOR, 0);
	if (!vp)
		goto fail;
	fr_pair_value_memcpy(vp, zero, sizeof(zero));
	fr_pair_add(&o->packet->vps, vp);
	return o;
fail:
	talloc_free(o);
	return NULL;
}

static int
codec_out_add_locked(struct codec_out *o, unsigned attr, unsigned vendor, const void *data,
		     size_t len)
{
	return packet_add(o->packet, attr, vendor, data, len);
}

static int
codec_out_add_integer_locked(struct codec_out *o, unsigned attr, uint32_t value)
{
	VALUE_PAIR *vp = fr_pair_afrom_num(o->packet, attr, 0);

	if (!vp || vp->da->type != PW_TYPE_INTEGER)
		return -1;
	vp->vp_integer = value;
	vp->vp_length = 4;
	fr_pair_add(&o->packet->vps, vp);
	return 0;
}

static int
codec_out_encode_locked(struct codec_out *o, const char *secret, const uint8_t **out, size_t *len,
			char *err, size_t errlen)
{
	talloc_free(o->packet->data);
	o->packet->data = NULL;
	o->packet->data_len = 0;
	if (rad_encode(o->packet, NULL, secret) < 0 || rad_sign(o->packet, NULL, secret) < 0 ||
	    !o->packet->data) {
		snprintf(err, errlen, "cannot encode request: %s", fr_strerror());
		return -1;
	}
	*out = o->packet->data;
	*len = o->packet->data_len;
	return 0;
}

const uint8_t *
codec_out_vector(const struct codec_out *o)
{
	return o->packet->vector;
}

/*
 * The checks of a reply that need no dictionary: length, identifier, Response Authenticator,
 * Message-Authenticator (with mac's reusable contexts when given). Its Length, or 0 with err.
 */
static size_t
reply_raw_check(const struct codec_out *o, const uint8_t *buf, size_t len, const char *secret,
		struct codec_mac *mac, char *err, size_t errlen)
{
	uint8_t calc[16];
	size_t plen;
	long ma_off;
	uint8_t copy[CODEC_MAX_PACKET];

	if (len < RADIUS_HDR_LEN || len > CODEC_MAX_PACKET) {
		snprintf(err, errlen, "reply of %zu bytes", len);
		return 0;
	}
	plen = ((size_t)buf[2] << 8) | buf[3];
	if (plen < RADIUS_HDR_LEN || plen > len || buf[1] != o->packet->id) {
		snprintf(err, errlen, "reply with a bad length or another identifier");
		return 0;
	}
	ma_off = ma_offset(buf, plen);
	if (ma_off < 0) {
		snprintf(err, errlen, "reply with a broken attribute or Message-Authenticator");
		return 0;
	}
	/* Response Authenticator: MD5(Code|ID|Length|RequestAuth|Attributes|Secret). */
	memcpy(copy, buf, plen);
	memcpy(copy + 4, o->packet->vector, 16);
	if (!md5_with_secret(mac, calc, copy, plen, secret)) {
		snprintf(err, errlen, "MD5 failed");
		return 0;
	}
	if (CRYPTO_memcmp(calc, buf + 4, 16) != 0) {
		snprintf(err, errlen, "bad Response Authenticator (wrong secret?)");
		return 0;
	}
	if (!ma_off) {
		snprintf(err, errlen, "reply without Message-Authenticator");
		return 0;
	}
	memset(copy + ma_off + 2, 0, 16);
	hmac_md5(mac, calc, copy, plen, secret);
	if (CRYPTO_memcmp(calc, buf + ma_off + 2, 16) != 0) {
		snprintf(err, errlen, "bad Message-Authenticator in the reply");
		return 0;
	}
	return plen;
}

/* Decode a reply that passed reply_raw_check (plen octets). Under the codec lock. */
static struct codec_request *
reply_decode_locked(TALLOC_CTX *ctx, const struct codec_out *o, const uint8_t *buf,
		    size_t plen, const char *secret, char *err, size_t errlen)
{
	struct codec_request *r = talloc_zero(ctx, struct codec_request);
	RADIUS_PACKET *p;
	decode_fail_t reason;

	if (!r)
		goto nomem;
	p = rad_alloc(r, false);
	if (!p)
		goto nomem;
	r->packet = p;
	p->data = talloc_memdup(p, buf, plen);
	if (!p->data)
		goto nomem;
	p->data_len = plen;
	p->code = buf[0];
	p->id = buf[1];
	memcpy(p->vector, buf + 4, 16);
	p->sockfd = -1;
	if (!rad_packet_ok(p, 0, &reason)) {
		snprintf(err, errlen, "cannot decode the reply: %s", decode_fail_str(reason));
		talloc_free(r);
		return NULL;
	}
	if (decode_attrs(p, o->packet, secret, err, errlen) < 0) {
		talloc_free(r);
		return NULL;
	}
	return r;
nomem:
	talloc_free(r);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

/*
 * RFC 2548 §2.4.2: the value is Salt(2) | C, C = c(1) | c(2) | ... with b(1) = MD5(S + R + A),
 * b(i) = MD5(S + c(i-1)), c(i) = p(i) xor b(i) (S the secret, R the Request Authenticator, A
 * the salt). mppe_xor turns in (n octets, a multiple of 16) into out, either way: the chaining
 * block is the ciphertext, which is out when encrypting and in when decrypting. m: reusable
 * contexts, or NULL. False if OpenSSL failed.
 */
static bool
mppe_xor(struct codec_mac *m, const uint8_t salt[2], const uint8_t *in, uint8_t *out, size_t n,
	 bool encrypt, const uint8_t vector[16], const char *secret)
{
	EVP_MD_CTX *c = m ? m->md_ctx : EVP_MD_CTX_new();
	const uint8_t *prev = vector;
	unsigned int mdlen = 16;
	uint8_t b[16];
	bool ok = c != NULL;
	size_t i, k;

	for (i = 0; ok && i < n; i += 16) {
		ok = EVP_DigestInit_ex(c, m ? m->md5 : EVP_md5(), NULL) == 1 &&
		     EVP_DigestUpdate(c, secret, strlen(secret)) == 1 &&
		     EVP_DigestUpdate(c, prev, 16) == 1 &&
		     (i > 0 || EVP_DigestUpdate(c, salt, 2) == 1) &&
		     EVP_DigestFinal_ex(c, b, &mdlen) == 1;
		for (k = 0; ok && k < 16; k++)
			out[i + k] = in[i + k] ^ b[k];
		prev = encrypt ? out + i : in + i;
	}
	OPENSSL_cleanse(b, sizeof(b));
	if (!m)
		EVP_MD_CTX_free(c);
	ERR_clear_error();
	return ok;
}

static int
mppe_decrypt(const uint8_t *v, size_t vlen, const uint8_t *vector, const char *secret,
	     uint8_t key[32])
{
	uint8_t plain[64];
	size_t n = vlen - 2;
	int ok = -1;

	if (vlen < 2 + 16 || n % 16 || n > sizeof(plain))
		return -1;
	/* The first plaintext octet is the key length. */
	if (mppe_xor(NULL, v, v + 2, plain, n, false, vector, secret) && plain[0] == 32 && n >= 33) {
		memcpy(key, plain + 1, 32);
		ok = 0;
	}
	OPENSSL_cleanse(plain, sizeof(plain));
	return ok;
}

int
codec_reply_mppe(const uint8_t *buf, size_t len, const struct codec_out *o, const char *secret,
		 uint8_t recv_key[32], uint8_t send_key[32])
{
	size_t off, plen;
	int found = 0;

	if (len < RADIUS_HDR_LEN)
		return -1;
	plen = ((size_t)buf[2] << 8) | buf[3];
	if (plen > len)
		return -1;
	for (off = RADIUS_HDR_LEN; off + 2 <= plen && buf[off + 1] >= 2; off += buf[off + 1]) {
		const uint8_t *a = buf + off;
		size_t alen = a[1];

		if (off + alen > plen)
			return -1;
		/* Vendor-Specific: type, len, vendor(4), vendor-type, vendor-len, value */
		if (a[0] != PW_VENDOR_SPECIFIC || alen < 8 || a[2] != 0 || a[3] != 0 ||
		    a[4] != 0x01 || a[5] != 0x37 || (size_t)a[7] + 6 != alen)
			continue;
		if (a[6] == PW_MSCHAP_MPPE_RECV_KEY &&
		    mppe_decrypt(a + 8, alen - 8, o->packet->vector, secret, recv_key) == 0)
			found |= 1;
		else if (a[6] == PW_MSCHAP_MPPE_SEND_KEY &&
			 mppe_decrypt(a + 8, alen - 8, o->packet->vector, secret, send_key) == 0)
			found |= 2;
	}
	return found == 3 ? 0 : -1;
}

/* ---- the public entry points that reach libfreeradius: one thread at a time ---- */

struct codec_request *
codec_request_decode(TALLOC_CTX *ctx, const uint8_t *buf, size_t len, const char *secret,
		     char *err, size_t errlen)
{
	struct codec_request *r;

	pthread_mutex_lock(&codec_lock);
	r = codec_request_decode_locked(ctx, buf, len, secret, err, errlen);
	pthread_mutex_unlock(&codec_lock);
	return r;
}

struct codec_reply *
codec_reply_new(TALLOC_CTX *ctx, struct codec_request *req, int code)
{
	struct codec_reply *r;

	pthread_mutex_lock(&codec_lock);
	r = codec_reply_new_locked(ctx, req, code);
	pthread_mutex_unlock(&codec_lock);
	return r;
}

int
codec_reply_add(struct codec_reply *rep, unsigned attr, unsigned vendor, const void *data,
		size_t len)
{
	int r;

	pthread_mutex_lock(&codec_lock);
	r = codec_reply_add_locked(rep, attr, vendor, data, len);
	pthread_mutex_unlock(&codec_lock);
	return r;
}

bool
codec_reply_has(const struct codec_reply *rep, unsigned attr)
{
	bool r;

	pthread_mutex_lock(&codec_lock);
	r = fr_pair_find_by_num(rep->packet->vps, attr, 0, TAG_ANY) != NULL;
	pthread_mutex_unlock(&codec_lock);
	return r;
}

int
codec_reply_add_pairs(struct codec_reply *rep, const struct codec_pairs *pairs)
{
	int r;

	pthread_mutex_lock(&codec_lock);
	r = codec_reply_add_pairs_locked(rep, pairs);
	pthread_mutex_unlock(&codec_lock);
	return r;
}

/*
 * Append MS-MPPE-Recv-Key and MS-MPPE-Send-Key (RFC 2548 §2.4.2, §2.4.3: Microsoft
 * Vendor-Specific, salt-encrypted) to an encoded reply, outside the codec lock and with the
 * reusable MD5 context (libfreeradius made a new OpenSSL digest context per block). The salts
 * come from mppe_salt: high bit set, different from each other (§2.4.2).
 */
static bool
mppe_append(struct codec_reply *rep, const char *secret, struct codec_mac *mac)
{
	RADIUS_PACKET *p = rep->packet;
	size_t len = p->data_len;
	uint8_t salts[4], plain[48], *d;
	bool ok = true;
	unsigned k;

	if (len + 2 * MPPE_VSA_LEN > CODEC_MAX_PACKET)
		return false;
	for (k = 0; k < 2; k++) {
		unsigned v = atomic_fetch_add(&mppe_salt, 1u);

		salts[2 * k] = (uint8_t)(0x80 | ((v >> 8) & 0x7f)); /* high bit set */
		salts[2 * k + 1] = (uint8_t)v;
	}
	d = talloc_realloc(p, p->data, uint8_t, len + 2 * MPPE_VSA_LEN);
	if (!d)
		return false;
	p->data = d;
	for (k = 0; ok && k < 2; k++) {
		uint8_t *a = d + len + k * MPPE_VSA_LEN;

		a[0] = PW_VENDOR_SPECIFIC;
		a[1] = MPPE_VSA_LEN;
		a[2] = 0;
		a[3] = 0;
		a[4] = (uint8_t)(VENDORPEC_MICROSOFT >> 8);
		a[5] = (uint8_t)VENDORPEC_MICROSOFT;
		a[6] = k == 0 ? PW_MSCHAP_MPPE_RECV_KEY : PW_MSCHAP_MPPE_SEND_KEY;
		a[7] = MPPE_VSA_LEN - 6;
		memcpy(a + 8, salts + 2 * k, 2);
		memset(plain, 0, sizeof(plain));
		plain[0] = 32; /* the key length, then the key, then zero padding */
		memcpy(plain + 1, k == 0 ? rep->mppe_recv : rep->mppe_send, 32);
		ok = mppe_xor(mac, a + 8, plain, a + 10, sizeof(plain), true,
			      rep->original->vector, secret);
	}
	OPENSSL_cleanse(plain, sizeof(plain));
	if (!ok)
		return false;
	len += 2 * MPPE_VSA_LEN;
	d[2] = (uint8_t)(len >> 8);
	d[3] = (uint8_t)len;
	p->data_len = len;
	return true;
}

int
codec_reply_encode_mac(struct codec_reply *rep, const char *secret, struct codec_mac *mac,
		       const uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
	int r;

	if (rep->encoded)
		goto done;
	pthread_mutex_lock(&codec_lock);
	r = codec_reply_encode_locked(rep, secret, err, errlen);
	pthread_mutex_unlock(&codec_lock);
	if (r < 0)
		return r;
	if (rep->have_mppe && !mppe_append(rep, secret, mac)) {
		snprintf(err, errlen, "cannot add the MPPE keys to the reply");
		return -1;
	}
	if (!reply_sign(rep->packet->data, rep->packet->data_len, rep->original->vector, secret,
			mac)) {
		snprintf(err, errlen, "cannot sign reply (MD5 unavailable)");
		return -1;
	}
	rep->encoded = true;
done:
	*out = rep->packet->data;
	*outlen = rep->packet->data_len;
	return 0;
}

int
codec_reply_encode(struct codec_reply *rep, const char *secret, const uint8_t **out,
		   size_t *outlen, char *err, size_t errlen)
{
	return codec_reply_encode_mac(rep, secret, NULL, out, outlen, err, errlen);
}

struct codec_pairs *
codec_pairs_parse(TALLOC_CTX *ctx, const char *text, char *err, size_t errlen)
{
	struct codec_pairs *r;

	pthread_mutex_lock(&codec_lock);
	r = codec_pairs_parse_locked(ctx, text, err, errlen);
	pthread_mutex_unlock(&codec_lock);
	return r;
}

struct codec_out *
codec_out_new(TALLOC_CTX *ctx, int code, uint8_t id)
{
	struct codec_out *r;

	pthread_mutex_lock(&codec_lock);
	r = codec_out_new_locked(ctx, code, id);
	pthread_mutex_unlock(&codec_lock);
	return r;
}

int
codec_out_add(struct codec_out *o, unsigned attr, unsigned vendor, const void *data, size_t len)
{
	int r;

	pthread_mutex_lock(&codec_lock);
	r = codec_out_add_locked(o, attr, vendor, data, len);
	pthread_mutex_unlock(&codec_lock);
	return r;
}

int
codec_out_add_integer(struct codec_out *o, unsigned attr, uint32_t value)
{
	int r;

	pthread_mutex_lock(&codec_lock);
	r = codec_out_add_integer_locked(o, attr, value);
	pthread_mutex_unlock(&codec_lock);
	return r;
}

int
codec_out_encode(struct codec_out *o, const char *secret, const uint8_t **out, size_t *len,
		 char *err, size_t errlen)
{
	int r;

	pthread_mutex_lock(&codec_lock);
	r = codec_out_encode_locked(o, secret, out, len, err, errlen);
	pthread_mutex_unlock(&codec_lock);
	return r;
}

struct codec_request *
codec_reply_check(TALLOC_CTX *ctx, const struct codec_out *o, const uint8_t *buf, size_t len,
		  const char *secret, struct codec_mac *mac, char *err, size_t errlen)
{
	struct codec_request *r;
	size_t plen = reply_raw_check(o, buf, len, secret, mac, err, errlen);

	if (!plen)
		return NULL;
	pthread_mutex_lock(&codec_lock);
	r = reply_decode_locked(ctx, o, buf, plen, secret, err, errlen);
	pthread_mutex_unlock(&codec_lock);
	return r;
}
