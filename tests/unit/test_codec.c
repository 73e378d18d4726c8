/*
 * test_codec.c - unit tests for src/codec.c: the raw pre-check of requests (RFC 2865 §3 framing,
 * RFC 3579 §3.2 Message-Authenticator), decoding and accessors, reply encoding (RFC 2865 §3
 * Response Authenticator, Message-Authenticator first, RFC 2865 §5.33 Proxy-State, RFC 2548
 * §2.4.2/§2.4.3 MS-MPPE key encryption), attribute lists, and redaction in describe().
 *
 * Every packet is built by hand and every digest is computed here with OpenSSL, independently
 * of libfreeradius.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "codec.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <talloc.h>

#define SECRET "testing123-long-secret"

static const uint8_t req_auth[16] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
				     0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xf0, 0x01};

/* ---- helpers: a hand-made RADIUS packet ---- */

struct pkt {
	uint8_t b[CODEC_MAX_PACKET + 64];
	size_t len;
	size_t ma_off; /* offset of the Message-Authenticator attribute, 0 if none */
};

static void
pkt_init(struct pkt *p, uint8_t code, uint8_t id)
{
	memset(p, 0, sizeof(*p));
	p->b[0] = code;
	p->b[1] = id;
	memcpy(p->b + 4, req_auth, 16);
	p->len = 20;
}

static void
pkt_attr(struct pkt *p, uint8_t type, const void *data, size_t len)
{
	assert_true(len <= 253);
	p->b[p->len] = type;
	p->b[p->len + 1] = (uint8_t)(len + 2);
	memcpy(p->b + p->len + 2, data, len);
	p->len += len + 2;
}

static void
pkt_attr_str(struct pkt *p, uint8_t type, const char *s)
{
	pkt_attr(p, type, s, strlen(s));
}

/* A zeroed Message-Authenticator, filled in by pkt_sign. */
static void
pkt_ma(struct pkt *p)
{
	static const uint8_t zero[16];

	p->ma_off = p->len;
	pkt_attr(p, 80, zero, 16);
}

static void
hmac_md5(const uint8_t *data, size_t len, const char *key, uint8_t out[16])
{
	unsigned int olen = 0;

	assert_non_null(HMAC(EVP_md5(), key, (int)strlen(key), data, len, out, &olen));
	assert_int_equal(olen, 16);
}

static void
md5_parts(uint8_t out[16], const void *a, size_t alen, const void *b, size_t blen)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int olen = 0;

	assert_non_null(c);
	assert_int_equal(EVP_DigestInit_ex(c, EVP_md5(), NULL), 1);
	assert_int_equal(EVP_DigestUpdate(c, a, alen), 1);
	if (blen)
		assert_int_equal(EVP_DigestUpdate(c, b, blen), 1);
	assert_int_equal(EVP_DigestFinal_ex(c, out, &olen), 1);
	EVP_MD_CTX_free(c);
}

/* Set the Length field and compute the Message-Authenticator (RFC 3579 §3.2). */
static void
pkt_sign(struct pkt *p, const char *secret)
{
	uint8_t mac[16];

	p->b[2] = (uint8_t)(p->len >> 8);
	p->b[3] = (uint8_t)p->len;
	if (!p->ma_off)
		return;
	memset(p->b + p->ma_off + 2, 0, 16);
	hmac_md5(p->b, p->len, secret, mac);
	memcpy(p->b + p->ma_off + 2, mac, 16);
}

/* RFC 2865 §5.2 User-Password hiding, for a value up to 128 octets. */
static void
pkt_user_password(struct pkt *p, const char *secret, const char *pw)
{
	uint8_t plain[128] = {0}, out[128], b[16];
	size_t n = (strlen(pw) + 15) / 16 * 16, i, j;

	assert_true(n <= sizeof(plain));
	memcpy(plain, pw, strlen(pw));
	for (i = 0; i < n; i += 16) {
		md5_parts(b, secret, strlen(secret), i ? out + i - 16 : req_auth, 16);
		for (j = 0; j < 16; j++)
			out[i + j] = plain[i + j] ^ b[j];
	}
	pkt_attr(p, 2, out, n);
}

/* A minimal valid Access-Request: User-Name and Message-Authenticator. */
static void
pkt_basic(struct pkt *p)
{
	pkt_init(p, CODEC_ACCESS_REQUEST, 42);
	pkt_attr_str(p, 1, "alice@example.org");
	pkt_ma(p);
	pkt_sign(p, SECRET);
}

/* Find the n-th (0-based) attribute of a type in an encoded packet; returns its offset or 0. */
static size_t
find_attr(const uint8_t *b, size_t len, uint8_t type, unsigned nth)
{
	size_t off;

	for (off = 20; off + 2 <= len && b[off + 1] >= 2; off += b[off + 1])
		if (b[off] == type && nth-- == 0)
			return off;
	return 0;
}

/* Find a Microsoft (311) vendor attribute inside Vendor-Specific; offset of its value or 0. */
static size_t
find_ms_vsa(const uint8_t *b, size_t len, uint8_t vtype, size_t *vlen)
{
	size_t off;

	for (off = 20; off + 2 <= len && b[off + 1] >= 2; off += b[off + 1]) {
		if (b[off] != 26 || b[off + 1] < 8)
			continue;
		if (b[off + 2] != 0 || b[off + 3] != 0 || b[off + 4] != 0x01 || b[off + 5] != 0x37)
			continue;
		if (b[off + 6] == vtype) {
			*vlen = b[off + 7] - 2u;
			return off + 8;
		}
	}
	return 0;
}

/* ---- describe() capture ---- */

struct lines {
	char text[64][1200];
	unsigned n;
};

static void
capture_line(void *arg, const char *text)
{
	struct lines *l = arg;

	if (l->n < 64)
		snprintf(l->text[l->n++], sizeof(l->text[0]), "%s", text);
}

static bool
lines_contain(const struct lines *l, const char *needle)
{
	unsigned i;

	for (i = 0; i < l->n; i++)
		if (strcasestr(l->text[i], needle))
			return true;
	return false;
}

/* ---- setup ---- */

static int
group_setup(void **state)
{
	char err[256] = "";

	(void)state;
	if (codec_init("/usr/share/freeradius", true, err, sizeof(err)) < 0) {
		fprintf(stderr, "codec_init: %s\n", err);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	codec_free();
	return 0;
}

static int
test_setup(void **state)
{
	*state = talloc_new(NULL);
	return *state ? 0 : -1;
}

static int
test_teardown(void **state)
{
	talloc_free(*state);
	return 0;
}

/* Decode a packet that must pass the raw check. */
static struct codec_request *
decode_ok(TALLOC_CTX *ctx, const struct pkt *p)
{
	char err[256] = "";
	size_t plen = 0;
	struct codec_request *req;

	assert_int_equal(codec_check_raw(p->b, p->len, SECRET, &plen), CODEC_RAW_OK);
	req = codec_request_decode(ctx, p->b, plen, SECRET, err, sizeof(err));
	if (!req)
		fail_msg("codec_request_decode: %s", err);
	return req;
}

/* ---- codec_check_raw ---- */

static void
test_raw_ok(void **state)
{
	struct pkt p;
	size_t plen = 0;

	(void)state;
	pkt_basic(&p);
	assert_int_equal(codec_check_raw(p.b, p.len, SECRET, &plen), CODEC_RAW_OK);
	assert_int_equal(plen, p.len);

	/* Status-Server (RFC 5997) is accepted too. */
	pkt_init(&p, CODEC_STATUS_SERVER, 7);
	pkt_ma(&p);
	pkt_sign(&p, SECRET);
	assert_int_equal(codec_check_raw(p.b, p.len, SECRET, &plen), CODEC_RAW_OK);

	/* MA anywhere in the list, not only first. */
	pkt_init(&p, CODEC_ACCESS_REQUEST, 8);
	pkt_ma(&p);
	pkt_attr_str(&p, 1, "bob");
	pkt_attr_str(&p, 31, "02-00-00-00-00-01");
	pkt_sign(&p, SECRET);
	assert_int_equal(codec_check_raw(p.b, p.len, SECRET, &plen), CODEC_RAW_OK);
	assert_string_equal(codec_raw_result_str(CODEC_RAW_OK), "ok");
}

/*
 * The reusable HMAC context gives the same verdicts as the one-shot path, packet after packet
 * and secret after secret (each check re-keys it: nothing of one packet's key or data leaks into
 * the next).
 */
static void
test_raw_mac_reuse(void **state)
{
	struct codec_mac *mac = codec_mac_new(*state);
	/* the context keeps its key while the secret stays the same: a prefix must not pass */
	static const char *const secrets[] = {SECRET, "another-secret-0123456789", "x", "xy", SECRET};
	struct pkt p;
	size_t plen = 0;
	unsigned i, j, k;

	assert_non_null(mac);
	for (i = 0; i < 5; i++) {
		for (k = 0; k < 3; k++) {
			pkt_init(&p, CODEC_ACCESS_REQUEST, (uint8_t)(i * 3 + k));
			pkt_ma(&p);
			pkt_attr_str(&p, 1, k ? "bob" : "alice@example.org");
			pkt_sign(&p, secrets[i]);
			assert_int_equal(codec_check_raw_mac(p.b, p.len, secrets[i], &plen, mac),
					 CODEC_RAW_OK);
			assert_int_equal(codec_check_raw(p.b, p.len, secrets[i], &plen), CODEC_RAW_OK);
			/* the wrong secret, then one flipped bit */
			/* every other secret, each after the right one keyed the context */
			for (j = 0; j < 5; j++) {
				if (strcmp(secrets[j], secrets[i]) == 0)
					continue;
				assert_int_equal(codec_check_raw_mac(p.b, p.len, secrets[j], &plen, mac),
						 CODEC_RAW_BAD_MA);
				assert_int_equal(codec_check_raw_mac(p.b, p.len, secrets[i], &plen, mac),
						 CODEC_RAW_OK);
			}
			p.b[p.len - 1] ^= 1;
			assert_int_equal(codec_check_raw_mac(p.b, p.len, secrets[i], &plen, mac),
					 CODEC_RAW_BAD_MA);
			p.b[p.len - 1] ^= 1;
			assert_int_equal(codec_check_raw_mac(p.b, p.len, secrets[i], &plen, mac),
					 CODEC_RAW_OK);
		}
	}
	/* NULL: the one-shot path */
	assert_int_equal(codec_check_raw_mac(p.b, p.len, SECRET, &plen, NULL), CODEC_RAW_OK);
}

static void
test_raw_no_ma(void **state)
{
	struct pkt p;
	size_t plen = 0;

	(void)state;
	pkt_init(&p, CODEC_ACCESS_REQUEST, 1);
	pkt_attr_str(&p, 1, "alice@example.org");
	pkt_sign(&p, SECRET);
	assert_int_equal(codec_check_raw(p.b, p.len, SECRET, &plen), CODEC_RAW_NO_MA);

	/* No attributes at all. */
	pkt_init(&p, CODEC_ACCESS_REQUEST, 1);
	pkt_sign(&p, SECRET);
	assert_int_equal(codec_check_raw(p.b, p.len, SECRET, &plen), CODEC_RAW_NO_MA);
}

static void
test_raw_bad_ma(void **state)
{
	struct pkt p;
	size_t plen = 0, i;

	(void)state;
	pkt_basic(&p);
	assert_int_equal(codec_check_raw(p.b, p.len, "wrong-secret", &plen), CODEC_RAW_BAD_MA);
	assert_int_equal(codec_check_raw(p.b, p.len, "", &plen), CODEC_RAW_BAD_MA);

	/* One bit flipped anywhere covered by the HMAC but outside the framing bytes. */
	for (i = 0; i < p.len; i++) {
		struct pkt q = p;

		if (i == 0 || i == 2 || i == 3 || i == 21)
			continue; /* code, Length, User-Name length: framing, not integrity */
		if (i == p.ma_off || i == p.ma_off + 1)
			continue; /* the MA type/length bytes */
		q.b[i] ^= 0x04;
		assert_int_equal(codec_check_raw(q.b, q.len, SECRET, &plen), CODEC_RAW_BAD_MA);
	}
}

static void
test_raw_malformed_length(void **state)
{
	struct pkt p;
	size_t plen = 0;

	(void)state;
	pkt_basic(&p);

	/* Length field larger than the datagram. */
	assert_int_equal(codec_check_raw(p.b, p.len - 1, SECRET, &plen), CODEC_RAW_MALFORMED);
	{
		struct pkt q = p;

		q.b[3]++;
		assert_int_equal(codec_check_raw(q.b, q.len, SECRET, &plen), CODEC_RAW_MALFORMED);
	}
	/* Length field smaller than the header. */
	{
		struct pkt q = p;

		q.b[2] = 0;
		q.b[3] = 19;
		assert_int_equal(codec_check_raw(q.b, q.len, SECRET, &plen), CODEC_RAW_MALFORMED);
		q.b[3] = 0;
		assert_int_equal(codec_check_raw(q.b, q.len, SECRET, &plen), CODEC_RAW_MALFORMED);
	}
	/* Datagram shorter than a header. */
	assert_int_equal(codec_check_raw(p.b, 19, SECRET, &plen), CODEC_RAW_MALFORMED);
	assert_int_equal(codec_check_raw(p.b, 0, SECRET, &plen), CODEC_RAW_MALFORMED);
	/* Length beyond the RADIUS maximum, even with a datagram that large. */
	{
		static struct pkt q;

		q = p;
		memset(q.b + q.len, 0, sizeof(q.b) - q.len);
		q.b[2] = (uint8_t)((CODEC_MAX_PACKET + 1) >> 8);
		q.b[3] = (uint8_t)(CODEC_MAX_PACKET + 1);
		assert_int_equal(codec_check_raw(q.b, CODEC_MAX_PACKET + 1, SECRET, &plen),
				 CODEC_RAW_MALFORMED);
	}
}

static void
test_raw_malformed_attrs(void **state)
{
	struct pkt p;
	size_t plen = 0;

	(void)state;
	/*
	 * Attribute length 0 and 1 (after a valid MA so the walk reaches it). The bytes after
	 * the bad one would frame correctly if a length of 0 or 1 were stepped over.
	 */
	for (uint8_t bad = 0; bad < 2; bad++) {
		pkt_init(&p, CODEC_ACCESS_REQUEST, 3);
		pkt_ma(&p);
		p.b[p.len] = 5;
		p.b[p.len + 1] = bad;
		p.b[p.len + 2] = 1;
		p.b[p.len + 3] = 2;
		p.len += 4;
		pkt_sign(&p, SECRET);
		assert_int_equal(codec_check_raw(p.b, p.len, SECRET, &plen), CODEC_RAW_MALFORMED);
	}
	/* Attribute overruns the Length. */
	pkt_init(&p, CODEC_ACCESS_REQUEST, 3);
	pkt_ma(&p);
	pkt_attr_str(&p, 1, "alice");
	p.b[p.len - 7 + 1] = 8; /* User-Name claims 8, only 7 present */
	pkt_sign(&p, SECRET);
	assert_int_equal(codec_check_raw(p.b, p.len, SECRET, &plen), CODEC_RAW_MALFORMED);
	/* A lone type octet at the end. */
	pkt_init(&p, CODEC_ACCESS_REQUEST, 3);
	pkt_ma(&p);
	p.b[p.len++] = 1;
	pkt_sign(&p, SECRET);
	assert_int_equal(codec_check_raw(p.b, p.len, SECRET, &plen), CODEC_RAW_MALFORMED);
	/* Two Message-Authenticators. */
	pkt_init(&p, CODEC_ACCESS_REQUEST, 3);
	pkt_ma(&p);
	pkt_attr_str(&p, 1, "alice");
	{
		static const uint8_t zero[16];

		pkt_attr(&p, 80, zero, 16);
	}
	pkt_sign(&p, SECRET);
	assert_int_equal(codec_check_raw(p.b, p.len, SECRET, &plen), CODEC_RAW_MALFORMED);
	/* Message-Authenticator with a wrong length. */
	pkt_init(&p, CODEC_ACCESS_REQUEST, 3);
	{
		static const uint8_t z[15];

		pkt_attr(&p, 80, z, sizeof(z));
	}
	pkt_sign(&p, SECRET);
	assert_int_equal(codec_check_raw(p.b, p.len, SECRET, &plen), CODEC_RAW_MALFORMED);
}

static void
test_raw_bad_code(void **state)
{
	struct pkt p;
	size_t plen = 0;
	static const uint8_t codes[] = {4, 2, 3, 11, 0, 255, 40};

	(void)state;
	for (size_t i = 0; i < sizeof(codes); i++) {
		pkt_init(&p, codes[i], 9);
		pkt_attr_str(&p, 1, "alice");
		pkt_ma(&p);
		pkt_sign(&p, SECRET);
		assert_int_equal(codec_check_raw(p.b, p.len, SECRET, &plen), CODEC_RAW_BAD_CODE);
	}
}

static void
test_raw_padding(void **state)
{
	struct pkt p;
	size_t plen = 0, real;

	(void)state;
	pkt_basic(&p);
	real = p.len;
	/* RFC 2865 §3: octets beyond Length are padding, ignored. */
	memset(p.b + real, 0xAB, 37);
	assert_int_equal(codec_check_raw(p.b, real + 37, SECRET, &plen), CODEC_RAW_OK);
	assert_int_equal(plen, real);
}

/* ---- decode + accessors ---- */

static void
test_decode_accessors(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct pkt p;
	struct codec_request *req;
	uint8_t eap[400], st[16];
	const uint8_t *v;
	size_t len = 0, i;
	char buf[256];
	uint8_t mtu[4] = {0, 0, 0x05, 0x78}; /* 1400 */

	for (i = 0; i < sizeof(eap); i++)
		eap[i] = (uint8_t)(i * 7 + 3);
	/* An EAP-Response/TLS header claiming the total length. */
	eap[0] = 2;
	eap[1] = 5;
	eap[2] = (uint8_t)(sizeof(eap) >> 8);
	eap[3] = (uint8_t)sizeof(eap);
	for (i = 0; i < 16; i++)
		st[i] = (uint8_t)(0xF0 ^ i);

	pkt_init(&p, CODEC_ACCESS_REQUEST, 77);
	pkt_attr_str(&p, 1, "alice@example.org");
	pkt_attr(&p, 12, mtu, 4);
	pkt_attr_str(&p, 31, "02-00-00-00-00-01");
	pkt_attr(&p, 79, eap, 253);
	pkt_attr(&p, 79, eap + 253, sizeof(eap) - 253);
	pkt_attr(&p, 24, st, sizeof(st));
	pkt_ma(&p);
	pkt_sign(&p, SECRET);

	req = decode_ok(ctx, &p);
	assert_int_equal(codec_request_code(req), CODEC_ACCESS_REQUEST);
	assert_int_equal(codec_request_id(req), 77);

	assert_true(codec_request_string(req, CODEC_ATTR_USER_NAME, buf, sizeof(buf)));
	assert_string_equal(buf, "alice@example.org");
	/* Truncation to the buffer, still terminated. */
	assert_true(codec_request_string(req, CODEC_ATTR_USER_NAME, buf, 6));
	assert_string_equal(buf, "alice");

	v = codec_request_attr(req, CODEC_ATTR_EAP_MESSAGE, &len);
	assert_non_null(v);
	assert_int_equal(len, sizeof(eap));
	assert_memory_equal(v, eap, sizeof(eap));

	v = codec_request_attr(req, CODEC_ATTR_STATE, &len);
	assert_non_null(v);
	assert_int_equal(len, 16);
	assert_memory_equal(v, st, 16);

	assert_int_equal(codec_request_integer(req, CODEC_ATTR_FRAMED_MTU, 0), 1400);
	/* Absent integer: the default. A string attribute is not an integer. */
	assert_int_equal(codec_request_integer(req, 27, 99), 99);
	assert_int_equal(codec_request_integer(req, CODEC_ATTR_USER_NAME, 5), 5);

	assert_true(codec_request_string(req, CODEC_ATTR_CALLING_STATION_ID, buf, sizeof(buf)));
	assert_string_equal(buf, "02-00-00-00-00-01");

	assert_true(codec_request_has(req, CODEC_ATTR_STATE));
	assert_false(codec_request_has(req, CODEC_ATTR_EAP_KEY_NAME));
	assert_null(codec_request_attr(req, CODEC_ATTR_EAP_KEY_NAME, &len));
	assert_false(codec_request_string(req, CODEC_ATTR_EAP_KEY_NAME, buf, sizeof(buf)));

	/* describe shows EAP-Message as a length only, and the State in full. */
	{
		static struct lines l;
		unsigned j;

		memset(&l, 0, sizeof(l));
		codec_request_describe(req, capture_line, &l);
		assert_true(lines_contain(&l, "EAP-Message = <400 bytes>"));
		assert_true(lines_contain(&l, "Framed-MTU = 1400"));
		assert_true(lines_contain(&l, "Message-Authenticator = <hidden>"));
		for (j = 0; j < l.n; j++)
			assert_null(strstr(l.text[j], "0x0205")); /* no EAP bytes in hex */
	}
}

/* ---- replies ---- */

/* A request with two Proxy-State attributes and an EAP-Message. */
static struct codec_request *
request_with_proxy_state(TALLOC_CTX *ctx)
{
	struct pkt p;
	static const uint8_t eap[] = {2, 1, 0, 10, 1, 'a', 'l', 'i', 'c', 'e'};

	pkt_init(&p, CODEC_ACCESS_REQUEST, 200);
	pkt_attr_str(&p, 1, "alice");
	pkt_attr_str(&p, 33, "proxy-one");
	pkt_attr(&p, 79, eap, sizeof(eap));
	pkt_attr_str(&p, 33, "proxy-two\x01\x02");
	pkt_ma(&p);
	pkt_sign(&p, SECRET);
	return decode_ok(ctx, &p);
}

/*
 * The NAS side (kagi test, kagi bench): a reply to our request passes codec_reply_check only
 * with the right secret and an intact Message-Authenticator, with or without the reusable
 * contexts, and with one context kept across secrets.
 */
static void
test_reply_check(void **state)
{
	TALLOC_CTX *ctx = *state;
	static const uint8_t eap[] = {2, 7, 0, 6, 13, 0};
	static const uint8_t eap_req[] = {1, 8, 0, 6, 13, 0x20};
	struct codec_mac *m = codec_mac_new(ctx);
	const char *other = "another-secret-0123456789";
	unsigned round;

	assert_non_null(m);
	for (round = 0; round < 6; round++) {
		/* rounds 0-1: one-shot; 2-5: the same context, its key changing in round 4 */
		struct codec_mac *mac = round < 2 ? NULL : m;
		const char *secret = round == 4 ? other : SECRET;
		struct codec_out *o = codec_out_new(ctx, CODEC_ACCESS_REQUEST, (uint8_t)(round + 1));
		struct codec_request *req;
		struct codec_reply *rep;
		const uint8_t *out = NULL, *rout = NULL;
		uint8_t copy[CODEC_MAX_PACKET];
		size_t outlen = 0, routlen = 0, plen = 0, ma;
		char err[256] = "";

		assert_non_null(o);
		assert_int_equal(codec_out_add(o, 1, 0, "alice", 5), 0);
		assert_int_equal(codec_out_add(o, CODEC_ATTR_EAP_MESSAGE, 0, eap, sizeof(eap)), 0);
		assert_int_equal(codec_out_encode(o, secret, &out, &outlen, err, sizeof(err)), 0);
		assert_int_equal(codec_check_raw(out, outlen, secret, &plen), CODEC_RAW_OK);
		req = codec_request_decode(ctx, out, plen, secret, err, sizeof(err));
		assert_non_null(req);
		rep = codec_reply_new(ctx, req, CODEC_ACCESS_CHALLENGE);
		assert_non_null(rep);
		assert_int_equal(codec_reply_add(rep, CODEC_ATTR_EAP_MESSAGE, 0, eap_req,
						 sizeof(eap_req)),
				 0);
		assert_int_equal(codec_reply_encode(rep, secret, &rout, &routlen, err, sizeof(err)),
				 0);
		memcpy(copy, rout, routlen);

		assert_non_null(codec_reply_check(ctx, o, copy, routlen, secret, mac, err,
						  sizeof(err)));
		assert_null(codec_reply_check(ctx, o, copy, routlen,
					      strcmp(secret, SECRET) ? SECRET : other, mac, err,
					      sizeof(err)));
		assert_non_null(strstr(err, "Response Authenticator"));
		/* A Message-Authenticator changed, the Response Authenticator made to match. */
		ma = find_attr(copy, routlen, 80, 0);
		assert_true(ma > 0);
		copy[ma + 2] ^= 1;
		memcpy(copy + 4, codec_out_vector(o), 16);
		md5_parts(copy + 4, copy, routlen, secret, strlen(secret));
		assert_null(codec_reply_check(ctx, o, copy, routlen, secret, mac, err, sizeof(err)));
		assert_non_null(strstr(err, "Message-Authenticator"));
		/* and the context still gives the right answer after refusing */
		assert_non_null(codec_reply_check(ctx, o, rout, routlen, secret, mac, err,
						  sizeof(err)));
	}
}

static void
test_reply_signing(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct codec_request *req = request_with_proxy_state(ctx);
	struct codec_reply *rep;
	static const uint8_t eap[] = {1, 2, 0, 6, 13, 0x20};
	uint8_t st[16], copy[CODEC_MAX_PACKET], mac[16], ra[16];
	const uint8_t *out = NULL;
	size_t outlen = 0, ma, ps;
	char err[256] = "";

	memset(st, 0x5A, sizeof(st));
	rep = codec_reply_new(ctx, req, CODEC_ACCESS_CHALLENGE);
	assert_non_null(rep);
	assert_int_equal(codec_reply_code(rep), CODEC_ACCESS_CHALLENGE);
	assert_int_equal(codec_reply_add(rep, CODEC_ATTR_EAP_MESSAGE, 0, eap, sizeof(eap)), 0);
	assert_int_equal(codec_reply_add(rep, CODEC_ATTR_STATE, 0, st, sizeof(st)), 0);
	assert_int_equal(codec_reply_encode(rep, SECRET, &out, &outlen, err, sizeof(err)), 0);
	assert_non_null(out);
	{
		/* A worker's reusable contexts sign exactly the same bytes (no random salt here). */
		struct codec_mac *m = codec_mac_new(ctx);
		uint8_t first[CODEC_MAX_PACKET];
		size_t firstlen = outlen;

		assert_non_null(m);
		memcpy(first, out, outlen);
		assert_int_equal(codec_reply_encode_mac(rep, SECRET, m, &out, &outlen, err,
							sizeof(err)),
				 0);
		assert_int_equal(outlen, firstlen);
		assert_memory_equal(out, first, outlen);
	}

	/* Header. */
	assert_true(outlen >= 20 + 18);
	assert_int_equal(out[0], CODEC_ACCESS_CHALLENGE);
	assert_int_equal(out[1], 200);
	assert_int_equal(((size_t)out[2] << 8) | out[3], outlen);

	/* Message-Authenticator is the first attribute. */
	assert_int_equal(out[20], 80);
	assert_int_equal(out[21], 18);
	ma = 20;
	assert_int_equal(find_attr(out, outlen, 80, 1), 0); /* and the only one */

	/* RFC 3579 §3.2: HMAC over the reply with the Request Authenticator in place. */
	memcpy(copy, out, outlen);
	memcpy(copy + 4, req_auth, 16);
	memset(copy + ma + 2, 0, 16);
	hmac_md5(copy, outlen, SECRET, mac);
	assert_memory_equal(mac, out + ma + 2, 16);

	/* RFC 2865 §3: MD5(Code|Id|Length|RequestAuth|Attributes|Secret). */
	memcpy(copy, out, outlen);
	memcpy(copy + 4, req_auth, 16);
	md5_parts(ra, copy, outlen, SECRET, strlen(SECRET));
	assert_memory_equal(ra, out + 4, 16);

	/* Proxy-State copied unmodified, in order; exactly two. */
	ps = find_attr(out, outlen, 33, 0);
	assert_true(ps > 0);
	assert_int_equal(out[ps + 1], 2 + 9);
	assert_memory_equal(out + ps + 2, "proxy-one", 9);
	ps = find_attr(out, outlen, 33, 1);
	assert_true(ps > 0);
	assert_int_equal(out[ps + 1], 2 + 11);
	assert_memory_equal(out + ps + 2, "proxy-two\x01\x02", 11);
	assert_int_equal(find_attr(out, outlen, 33, 2), 0);

	/* The attributes added are there. */
	ps = find_attr(out, outlen, 79, 0);
	assert_true(ps > 0);
	assert_int_equal(out[ps + 1], 2 + sizeof(eap));
	assert_memory_equal(out + ps + 2, eap, sizeof(eap));
	ps = find_attr(out, outlen, 24, 0);
	assert_true(ps > 0);
	assert_memory_equal(out + ps + 2, st, 16);

	/* A wrong secret gives different signatures (the secret is really used). */
	{
		struct codec_reply *rep2 = codec_reply_new(ctx, req, CODEC_ACCESS_CHALLENGE);
		const uint8_t *out2 = NULL;
		size_t outlen2 = 0;

		assert_non_null(rep2);
		assert_int_equal(codec_reply_add(rep2, CODEC_ATTR_EAP_MESSAGE, 0, eap, sizeof(eap)),
				 0);
		assert_int_equal(codec_reply_add(rep2, CODEC_ATTR_STATE, 0, st, sizeof(st)), 0);
		assert_int_equal(
			codec_reply_encode(rep2, "other-secret", &out2, &outlen2, err, sizeof(err)),
			0);
		assert_int_equal(outlen2, outlen);
		assert_memory_not_equal(out2 + 4, out + 4, 16);
		assert_memory_not_equal(out2 + 22, out + 22, 16);
	}
}

/* A reply to a request without Proxy-State carries none; reject and accept codes are kept. */
static void
test_reply_codes(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct pkt p;
	struct codec_request *req;
	static const int codes[] = {CODEC_ACCESS_ACCEPT, CODEC_ACCESS_REJECT};

	pkt_basic(&p);
	req = decode_ok(ctx, &p);
	for (size_t i = 0; i < 2; i++) {
		struct codec_reply *rep = codec_reply_new(ctx, req, codes[i]);
		const uint8_t *out = NULL;
		size_t outlen = 0;
		char err[256];

		assert_non_null(rep);
		assert_int_equal(codec_reply_encode(rep, SECRET, &out, &outlen, err, sizeof(err)),
				 0);
		assert_int_equal(out[0], codes[i]);
		assert_int_equal(out[1], 42);
		assert_int_equal(outlen, 20 + 18);
		assert_int_equal(out[20], 80);
		assert_int_equal(find_attr(out, outlen, 33, 0), 0);
	}
}

/* RFC 2548 §2.4.2: decrypt a salt-encrypted MS-MPPE key value. */
static void
mppe_decrypt(const uint8_t *v, size_t vlen, const char *secret, const uint8_t *auth,
	     uint8_t *plain, size_t *plen)
{
	uint8_t b[16], first[18];
	size_t i, j, n;

	assert_true(vlen > 2);
	n = vlen - 2;
	assert_int_equal(n % 16, 0);
	/* b(1) = MD5(S + R + A); b(i) = MD5(S + c(i-1)). */
	memcpy(first, auth, 16);
	memcpy(first + 16, v, 2);
	for (i = 0; i < n; i += 16) {
		if (i == 0)
			md5_parts(b, secret, strlen(secret), first, 18);
		else
			md5_parts(b, secret, strlen(secret), v + 2 + i - 16, 16);
		for (j = 0; j < 16; j++)
			plain[i + j] = v[2 + i + j] ^ b[j];
	}
	*plen = n;
}

static void
test_reply_mppe(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct pkt p;
	struct codec_request *req;
	struct codec_reply *rep;
	uint8_t recv_key[32], send_key[32], plain[64];
	const uint8_t *out = NULL;
	size_t outlen = 0, off, vlen = 0, plen = 0, i;
	char err[256] = "";
	uint8_t salt_send[2], salt_recv[2];

	for (i = 0; i < 32; i++) {
		recv_key[i] = (uint8_t)(0xA0 + i);
		send_key[i] = (uint8_t)(0x30 + 3 * i);
	}
	pkt_basic(&p);
	req = decode_ok(ctx, &p);
	rep = codec_reply_new(ctx, req, CODEC_ACCESS_ACCEPT);
	assert_non_null(rep);
	assert_int_equal(codec_reply_add_mppe(rep, recv_key, send_key), 0);
	assert_int_equal(codec_reply_encode(rep, SECRET, &out, &outlen, err, sizeof(err)), 0);

	/* MS-MPPE-Recv-Key = 17. */
	off = find_ms_vsa(out, outlen, 17, &vlen);
	assert_true(off > 0);
	assert_int_equal(vlen, 2 + 48); /* salt + (length octet + 32 + padding to 48) */
	assert_true(out[off] & 0x80);	/* RFC 2548: the salt's high bit is set */
	memcpy(salt_recv, out + off, 2);
	mppe_decrypt(out + off, vlen, SECRET, req_auth, plain, &plen);
	assert_int_equal(plain[0], 32);
	assert_memory_equal(plain + 1, recv_key, 32);

	/* MS-MPPE-Send-Key = 16. */
	off = find_ms_vsa(out, outlen, 16, &vlen);
	assert_true(off > 0);
	assert_int_equal(vlen, 2 + 48);
	assert_true(out[off] & 0x80);
	memcpy(salt_send, out + off, 2);
	mppe_decrypt(out + off, vlen, SECRET, req_auth, plain, &plen);
	assert_int_equal(plain[0], 32);
	assert_memory_equal(plain + 1, send_key, 32);

	/* The two salts must differ (RFC 2548: unique per attribute in a packet). */
	assert_memory_not_equal(salt_recv, salt_send, 2);
	/* The plaintext keys are nowhere in the packet. */
	assert_null(memmem(out, outlen, recv_key, 16));
	assert_null(memmem(out, outlen, send_key, 16));
}

static void
test_reply_large_eap_split(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct pkt p;
	struct codec_request *req;
	struct codec_reply *rep;
	uint8_t eap[1500], joined[1500];
	const uint8_t *out = NULL;
	size_t outlen = 0, n = 0, i, off;
	unsigned k;
	char err[256] = "";

	for (i = 0; i < sizeof(eap); i++)
		eap[i] = (uint8_t)(i ^ (i >> 8));
	pkt_basic(&p);
	req = decode_ok(ctx, &p);
	rep = codec_reply_new(ctx, req, CODEC_ACCESS_CHALLENGE);
	assert_non_null(rep);
	assert_int_equal(codec_reply_add(rep, CODEC_ATTR_EAP_MESSAGE, 0, eap, sizeof(eap)), 0);
	assert_int_equal(codec_reply_encode(rep, SECRET, &out, &outlen, err, sizeof(err)), 0);
	/* RFC 3579 §3.1: split over several EAP-Message attributes, nothing lost. */
	for (k = 0; (off = find_attr(out, outlen, 79, k)) != 0; k++) {
		size_t l = out[off + 1] - 2u;

		assert_true(n + l <= sizeof(joined));
		memcpy(joined + n, out + off + 2, l);
		n += l;
	}
	assert_true(k >= 6);
	assert_int_equal(n, sizeof(eap));
	assert_memory_equal(joined, eap, sizeof(eap));
	assert_int_equal(out[20], 80);
}

static void
test_reply_oversized(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct pkt p;
	struct codec_request *req;
	struct codec_reply *rep;
	uint8_t *big;
	const uint8_t *out = NULL;
	size_t outlen = 0;
	char err[256] = "";

	big = talloc_array(ctx, uint8_t, 5000);
	assert_non_null(big);
	memset(big, 0x42, 5000);
	pkt_basic(&p);
	req = decode_ok(ctx, &p);
	rep = codec_reply_new(ctx, req, CODEC_ACCESS_CHALLENGE);
	assert_non_null(rep);
	assert_int_equal(codec_reply_add(rep, CODEC_ATTR_EAP_MESSAGE, 0, big, 5000), 0);
	assert_int_equal(codec_reply_encode(rep, SECRET, &out, &outlen, err, sizeof(err)), -1);
	assert_true(err[0] != '\0');

	/* Many attributes that together overflow: refused too, not silently dropped. */
	rep = codec_reply_new(ctx, req, CODEC_ACCESS_ACCEPT);
	assert_non_null(rep);
	for (int i = 0; i < 20; i++)
		assert_int_equal(codec_reply_add(rep, 18 /* Reply-Message */, 0, big, 250), 0);
	err[0] = '\0';
	assert_int_equal(codec_reply_encode(rep, SECRET, &out, &outlen, err, sizeof(err)), -1);
	assert_true(err[0] != '\0');
}

/*
 * RFC 2865 §5: an attribute holds at most 253 octets. A longer value for an attribute that is
 * not split like EAP-Message (here Reply-Message, 300 octets) must be refused, by
 * codec_reply_add or codec_reply_encode, not cut to 253 octets on the wire.
 */
static void
test_reply_long_attribute_refused(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct pkt p;
	struct codec_request *req;
	struct codec_reply *rep;
	char msg[300];
	const uint8_t *out = NULL;
	size_t outlen = 0;
	char err[256] = "";
	int added, encoded = -1;

	memset(msg, 'A', sizeof(msg));
	pkt_basic(&p);
	req = decode_ok(ctx, &p);
	rep = codec_reply_new(ctx, req, CODEC_ACCESS_ACCEPT);
	assert_non_null(rep);
	added = codec_reply_add(rep, 18 /* Reply-Message */, 0, msg, sizeof(msg));
	if (added == 0)
		encoded = codec_reply_encode(rep, SECRET, &out, &outlen, err, sizeof(err));
	if (added == 0 && encoded == 0) {
		size_t off = find_attr(out, outlen, 18, 0);

		fail_msg("a %zu-octet Reply-Message was accepted and encoded as %u octets",
			 sizeof(msg), off ? out[off + 1] - 2u : 0u);
	}
}

/*
 * An oversized reply made of many small attributes (210 Framed-IPv6-Prefix, 20 octets each on
 * the wire: 4238 octets in all) must be refused, not sent with some attributes left out.
 */
static void
test_reply_many_attributes_not_dropped(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct pkt p;
	struct codec_request *req;
	struct codec_reply *rep;
	struct codec_pairs *pairs;
	char *text = talloc_strdup(ctx, "");
	const uint8_t *out = NULL;
	size_t outlen = 0;
	char err[256] = "";
	unsigned i, n = 0;

	for (i = 0; i < 210; i++)
		text = talloc_asprintf_append(text, "%sFramed-IPv6-Prefix = 2001:db8:%x::/64",
					      i ? ", " : "", i);
	assert_non_null(text);
	pairs = codec_pairs_parse(ctx, text, err, sizeof(err));
	if (!pairs)
		fail_msg("codec_pairs_parse: %s", err);
	pkt_basic(&p);
	req = decode_ok(ctx, &p);
	rep = codec_reply_new(ctx, req, CODEC_ACCESS_ACCEPT);
	assert_non_null(rep);
	assert_int_equal(codec_reply_add_pairs(rep, pairs), 0);
	if (codec_reply_encode(rep, SECRET, &out, &outlen, err, sizeof(err)) < 0)
		return; /* refused: right */
	while (find_attr(out, outlen, 97, n))
		n++;
	if (n != 210)
		fail_msg("codec_reply_encode returned 0 but the %zu-octet reply carries %u of 210 "
			 "Framed-IPv6-Prefix attributes",
			 outlen, n);
}

/* ---- attribute lists ---- */

static void
test_pairs_parse(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct codec_pairs *pairs, *empty;
	struct pkt p;
	struct codec_request *req;
	struct codec_reply *rep;
	const uint8_t *out = NULL;
	size_t outlen = 0, off;
	char err[256] = "";

	pairs = codec_pairs_parse(ctx, "Tunnel-Type = VLAN, Tunnel-Private-Group-Id = \"10\"", err,
				  sizeof(err));
	if (!pairs)
		fail_msg("codec_pairs_parse: %s", err);

	err[0] = '\0';
	assert_null(codec_pairs_parse(ctx, "No-Such-Attr = 1", err, sizeof(err)));
	assert_true(err[0] != '\0');
	err[0] = '\0';
	assert_null(codec_pairs_parse(ctx, "Tunnel-Type = NoSuchValue", err, sizeof(err)));
	assert_true(err[0] != '\0');
	/* What kagid puts in replies itself cannot be configured (a second one breaks them). */
	{
		static const char *const own[] = {
			"Message-Authenticator = 0x00000000000000000000000000000000",
			"EAP-Message = 0x03010004",
			"State = 0x0102",
			"Filter-Id = \"x\", Proxy-State = 0x01",
			"EAP-Key-Name = 0x01",
			"MS-MPPE-Send-Key = 0x0102",
			"MS-MPPE-Recv-Key = 0x0102",
		};
		for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
			err[0] = '\0';
			assert_null(codec_pairs_parse(ctx, own[i], err, sizeof(err)));
			if (!strstr(err, "kagid sets it itself"))
				fail_msg("%s: %s", own[i], err);
		}
		assert_non_null(codec_pairs_parse(ctx, "User-Name = \"u\", Class = 0x01", err,
						  sizeof(err)));
	}

	empty = codec_pairs_parse(ctx, "", err, sizeof(err));
	assert_non_null(empty);

	/* The parsed pairs go into a reply. */
	pkt_basic(&p);
	req = decode_ok(ctx, &p);
	rep = codec_reply_new(ctx, req, CODEC_ACCESS_ACCEPT);
	assert_non_null(rep);
	assert_int_equal(codec_reply_add_pairs(rep, empty), 0);
	assert_int_equal(codec_reply_add_pairs(rep, NULL), 0);
	assert_int_equal(codec_reply_add_pairs(rep, pairs), 0);
	assert_int_equal(codec_reply_encode(rep, SECRET, &out, &outlen, err, sizeof(err)), 0);
	off = find_attr(out, outlen, 64, 0); /* Tunnel-Type: tag octet + 24-bit value */
	assert_true(off > 0);
	assert_int_equal(out[off + 1], 6);
	assert_int_equal(out[off + 3], 0);
	assert_int_equal(out[off + 4], 0);
	assert_int_equal(out[off + 5], 13); /* VLAN */
	off = find_attr(out, outlen, 81, 0); /* Tunnel-Private-Group-Id */
	assert_true(off > 0);
	assert_true(out[off + 1] >= 4);
	assert_memory_equal(out + off + out[off + 1] - 2, "10", 2);
	/* Pairs are copied, not moved: a second reply gets them too. */
	rep = codec_reply_new(ctx, req, CODEC_ACCESS_ACCEPT);
	assert_non_null(rep);
	assert_int_equal(codec_reply_add_pairs(rep, pairs), 0);
	assert_int_equal(codec_reply_encode(rep, SECRET, &out, &outlen, err, sizeof(err)), 0);
	assert_true(find_attr(out, outlen, 64, 0) > 0);
	assert_true(find_attr(out, outlen, 81, 0) > 0);
}

/* ---- describe: no secrets ---- */

static void
test_describe_request_redacts(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct pkt p;
	struct codec_request *req;
	static struct lines l;
	unsigned i;

	pkt_init(&p, CODEC_ACCESS_REQUEST, 5);
	pkt_attr_str(&p, 1, "alice@example.org");
	pkt_user_password(&p, SECRET, "Hunter2-PlainPassword");
	pkt_attr_str(&p, 31, "02-00-00-00-00-01");
	pkt_ma(&p);
	pkt_sign(&p, SECRET);
	req = decode_ok(ctx, &p);

	/* The password really decoded (so redaction is what hides it). */
	{
		char pw[64];

		assert_true(codec_request_string(req, 2, pw, sizeof(pw)));
		assert_string_equal(pw, "Hunter2-PlainPassword");
	}
	memset(&l, 0, sizeof(l));
	codec_request_describe(req, capture_line, &l);
	assert_true(l.n >= 4);
	assert_true(lines_contain(&l, "alice@example.org"));
	assert_true(lines_contain(&l, "02-00-00-00-00-01"));
	assert_true(lines_contain(&l, "User-Password = <hidden>"));
	for (i = 0; i < l.n; i++) {
		assert_null(strcasestr(l.text[i], "Hunter2"));
		assert_null(strcasestr(l.text[i], "PlainPassword"));
		assert_null(strstr(l.text[i], SECRET));
	}
}

static void
test_describe_reply_redacts(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct pkt p;
	struct codec_request *req;
	struct codec_reply *rep;
	static struct lines l;
	uint8_t recv_key[32], send_key[32];
	const uint8_t *out;
	size_t outlen, i;
	char err[256];
	unsigned j;

	for (i = 0; i < 32; i++) {
		recv_key[i] = (uint8_t)(0xC3 ^ i);
		send_key[i] = (uint8_t)(0x5E + i);
	}
	pkt_basic(&p);
	req = decode_ok(ctx, &p);
	rep = codec_reply_new(ctx, req, CODEC_ACCESS_ACCEPT);
	assert_non_null(rep);
	assert_int_equal(codec_reply_add_string(rep, CODEC_ATTR_USER_NAME, "alice@example.org"), 0);
	assert_int_equal(codec_reply_add_mppe(rep, recv_key, send_key), 0);

	for (int pass = 0; pass < 2; pass++) {
		/* Before and after encoding (encoding must not leak the keys into describe). */
		memset(&l, 0, sizeof(l));
		codec_reply_describe(rep, capture_line, &l);
		assert_true(lines_contain(&l, "alice@example.org"));
		assert_true(lines_contain(&l, "MS-MPPE-Recv-Key"));
		assert_true(lines_contain(&l, "MS-MPPE-Send-Key"));
		for (j = 0; j < l.n; j++) {
			if (strstr(l.text[j], "MS-MPPE"))
				assert_non_null(strstr(l.text[j], "<hidden>"));
			/* Hex prefixes of both keys, as vp_prints would render them. */
			assert_null(strcasestr(l.text[j], "c3c2c1c0c7c6"));
			assert_null(strcasestr(l.text[j], "5e5f60616263"));
			assert_null(strstr(l.text[j], SECRET));
		}
		if (pass == 0)
			assert_int_equal(
				codec_reply_encode(rep, SECRET, &out, &outlen, err, sizeof(err)), 0);
	}
}

/*
 * A request that is well framed (passes codec_check_raw) but that the decoder must refuse:
 * User-Password together with EAP-Message (RFC 3579 §3.3 forbids the mix).
 */
static void
test_decode_rejects_mixed_auth(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct pkt p;
	size_t plen = 0;
	char err[256] = "";
	static const uint8_t eap[] = {2, 1, 0, 10, 1, 'a', 'l', 'i', 'c', 'e'};

	pkt_init(&p, CODEC_ACCESS_REQUEST, 3);
	pkt_attr_str(&p, 1, "alice");
	pkt_user_password(&p, SECRET, "pw");
	pkt_attr(&p, 79, eap, sizeof(eap));
	pkt_ma(&p);
	pkt_sign(&p, SECRET);
	assert_int_equal(codec_check_raw(p.b, p.len, SECRET, &plen), CODEC_RAW_OK);
	assert_null(codec_request_decode(ctx, p.b, plen, SECRET, err, sizeof(err)));
	assert_true(err[0] != '\0');
}

/*
 * Each attribute is decoded within its own bounds. libfreeradius 3.2.1's rad_decode, after an
 * empty NAS-Filter-Rule, lost the attributes that followed or resumed inside one of them and
 * decoded what its value spelled (found by tests/fuzz/fuzz_radius, with a leak on the way).
 * Here a User-Name value is made of octets that parse as attributes wherever decoding resumes.
 */
static void
test_decode_bounded_attributes(void **state)
{
	TALLOC_CTX *ctx = *state;
	static const uint8_t frag1[] = {2, 9, 0, 14, 13, 0x80, 0, 0, 0, 4};
	static const uint8_t frag2[] = {1, 2, 3, 4};
	uint8_t hidden[200];
	struct pkt p;
	struct codec_request *req;
	const uint8_t *v;
	size_t plen = 0, len = 0, i;
	char err[256] = "", buf[256];

	for (i = 0; i < sizeof(hidden); i++)
		hidden[i] = 11; /* Filter-Id, length 11, value 11... from any offset */

	/* Reply side too: a reply with an empty NAS-Filter-Rule before a User-Name. */
	for (i = 0; i < 2; i++) {
		pkt_init(&p, CODEC_ACCESS_REQUEST, 5);
		if (i == 1)
			pkt_attr(&p, 92, "", 0);
		pkt_attr(&p, 1, hidden, sizeof(hidden));
		pkt_ma(&p);
		pkt_sign(&p, SECRET);
		assert_int_equal(codec_check_raw(p.b, p.len, SECRET, &plen), CODEC_RAW_OK);
		req = codec_request_decode(ctx, p.b, plen, SECRET, err, sizeof(err));
		if (i == 0) {
			assert_non_null(req);
			v = codec_request_attr(req, CODEC_ATTR_USER_NAME, &len);
			assert_non_null(v);
			assert_int_equal(len, sizeof(hidden));
			assert_false(codec_request_has(req, 11));
			continue;
		}
		if (req)
			fail_msg("an empty NAS-Filter-Rule before the User-Name decoded (User-Name %s, "
				 "Filter-Id %s)",
				 codec_request_has(req, CODEC_ATTR_USER_NAME) ? "present" : "lost",
				 codec_request_has(req, 11) ? "smuggled in" : "absent");
		assert_non_null(strstr(err, "attribute 92"));
	}

	/* What the library joins still joins: EAP-Message fragments, NAS-Filter-Rule lines. */
	pkt_init(&p, CODEC_ACCESS_REQUEST, 6);
	pkt_attr(&p, 79, frag1, sizeof(frag1));
	pkt_attr(&p, 79, frag2, sizeof(frag2));
	pkt_attr_str(&p, 1, "alice");
	pkt_attr_str(&p, 92, "permit in ip from any to any");
	pkt_attr_str(&p, 92, " 80");
	pkt_attr_str(&p, 33, "ps");
	pkt_ma(&p);
	pkt_sign(&p, SECRET);
	req = decode_ok(ctx, &p);
	v = codec_request_attr(req, CODEC_ATTR_EAP_MESSAGE, &len);
	assert_non_null(v);
	assert_int_equal(len, sizeof(frag1) + sizeof(frag2));
	assert_memory_equal(v, frag1, sizeof(frag1));
	assert_memory_equal(v + sizeof(frag1), frag2, sizeof(frag2));
	assert_true(codec_request_string(req, CODEC_ATTR_USER_NAME, buf, sizeof(buf)));
	assert_string_equal(buf, "alice");
	assert_true(codec_request_string(req, 92, buf, sizeof(buf)));
	assert_string_equal(buf, "permit in ip from any to any 80");
	assert_true(codec_request_has(req, 33));

	/* EAP-Start (RFC 3579 §2.1): an EAP-Message of length 2; what follows is kept. */
	pkt_init(&p, CODEC_ACCESS_REQUEST, 7);
	pkt_attr(&p, 79, "", 0);
	pkt_attr_str(&p, 1, "bob");
	pkt_ma(&p);
	pkt_sign(&p, SECRET);
	req = decode_ok(ctx, &p);
	assert_true(codec_request_string(req, CODEC_ATTR_USER_NAME, buf, sizeof(buf)));
	assert_string_equal(buf, "bob");
}

/*
 * A Vendor-Specific with the reserved Vendor-Id 0 carries no attribute of ours: libfreeradius
 * would read what it holds as standard attributes (a User-Name, an EAP-Message) ahead of the
 * real ones. Found by tests/fuzz/fuzz_radius.
 */
static void
test_decode_vendor_zero(void **state)
{
	TALLOC_CTX *ctx = *state;
	static const uint8_t vsa[] = {0,   0,   0,	 0,   1,   9,	'm', 'a', 'l',
				      'l', 'o', 'r', 'y', 79,  6,   2,	 1,   0,   4};
	static const uint8_t eap[] = {2, 9, 0, 10, 1, 'a', 'l', 'i', 'c', 'e'};
	struct pkt p;
	struct codec_request *req;
	const uint8_t *v;
	size_t len = 0;
	char buf[64];

	pkt_init(&p, CODEC_ACCESS_REQUEST, 8);
	pkt_attr(&p, 26, vsa, sizeof(vsa));
	pkt_attr_str(&p, 1, "alice");
	pkt_attr(&p, 79, eap, sizeof(eap));
	pkt_ma(&p);
	pkt_sign(&p, SECRET);
	req = decode_ok(ctx, &p);
	assert_true(codec_request_string(req, CODEC_ATTR_USER_NAME, buf, sizeof(buf)));
	assert_string_equal(buf, "alice");
	v = codec_request_attr(req, CODEC_ATTR_EAP_MESSAGE, &len);
	assert_non_null(v);
	assert_int_equal(len, sizeof(eap));
	assert_memory_equal(v, eap, sizeof(eap));

	pkt_init(&p, CODEC_ACCESS_REQUEST, 9);
	pkt_attr(&p, 26, vsa, sizeof(vsa));
	pkt_ma(&p);
	pkt_sign(&p, SECRET);
	req = decode_ok(ctx, &p);
	assert_false(codec_request_has(req, CODEC_ATTR_USER_NAME));
	assert_false(codec_request_has(req, CODEC_ATTR_EAP_MESSAGE));
}

/* The same bound on the NAS side: a signed reply with an empty NAS-Filter-Rule is refused. */
static void
test_reply_bounded_attributes(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct codec_out *o = codec_out_new(ctx, CODEC_ACCESS_REQUEST, 9);
	const uint8_t *out = NULL;
	uint8_t hidden[200];
	size_t outlen = 0, i;
	char err[256] = "";
	struct pkt p;

	for (i = 0; i < sizeof(hidden); i++)
		hidden[i] = 11;
	assert_non_null(o);
	assert_int_equal(codec_out_add(o, 1, 0, "alice", 5), 0);
	assert_int_equal(codec_out_encode(o, SECRET, &out, &outlen, err, sizeof(err)), 0);
	for (i = 0; i < 2; i++) {
		struct codec_request *r;

		pkt_init(&p, CODEC_ACCESS_ACCEPT, 9);
		memcpy(p.b + 4, codec_out_vector(o), 16);
		if (i == 1)
			pkt_attr(&p, 92, "", 0);
		pkt_attr(&p, 18, hidden, sizeof(hidden)); /* Reply-Message */
		pkt_ma(&p);
		pkt_sign(&p, SECRET);
		md5_parts(p.b + 4, p.b, p.len, SECRET, strlen(SECRET));
		r = codec_reply_check(ctx, o, p.b, p.len, SECRET, NULL, err, sizeof(err));
		if (i == 0) {
			if (!r)
				fail_msg("codec_reply_check: %s", err);
			assert_true(codec_request_has(r, 18));
			assert_false(codec_request_has(r, 11));
		} else {
			assert_null(r);
			assert_non_null(strstr(err, "attribute 92"));
		}
	}
}

/* Tunnel-Password (RFC 2868, salt-encrypted on the wire) is a password: never described. */
static void
test_describe_reply_tunnel_password(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct pkt p;
	struct codec_request *req;
	struct codec_reply *rep;
	struct codec_pairs *pairs;
	static struct lines l;
	char err[256] = "";
	unsigned i;

	pairs = codec_pairs_parse(ctx, "Tunnel-Password = \"Tunnel-Pw-9f3a\", Filter-Id = \"staff\"",
				  err, sizeof(err));
	if (!pairs)
		fail_msg("codec_pairs_parse: %s", err);
	pkt_basic(&p);
	req = decode_ok(ctx, &p);
	rep = codec_reply_new(ctx, req, CODEC_ACCESS_ACCEPT);
	assert_non_null(rep);
	assert_int_equal(codec_reply_add_pairs(rep, pairs), 0);
	memset(&l, 0, sizeof(l));
	codec_reply_describe(rep, capture_line, &l);
	assert_true(lines_contain(&l, "staff"));
	assert_true(lines_contain(&l, "Tunnel-Password"));
	for (i = 0; i < l.n; i++)
		if (strcasestr(l.text[i], "Tunnel-Pw-9f3a"))
			fail_msg("codec_reply_describe printed a Tunnel-Password value: \"%s\"",
				 l.text[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw_ok),
		cmocka_unit_test_setup_teardown(test_raw_mac_reuse, test_setup, test_teardown),
		cmocka_unit_test(test_raw_no_ma),
		cmocka_unit_test(test_raw_bad_ma),
		cmocka_unit_test(test_raw_malformed_length),
		cmocka_unit_test(test_raw_malformed_attrs),
		cmocka_unit_test(test_raw_bad_code),
		cmocka_unit_test(test_raw_padding),
		cmocka_unit_test_setup_teardown(test_decode_accessors, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_decode_bounded_attributes, test_setup,
						test_teardown),
		cmocka_unit_test_setup_teardown(test_reply_bounded_attributes, test_setup,
						test_teardown),
		cmocka_unit_test_setup_teardown(test_decode_vendor_zero, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_decode_rejects_mixed_auth, test_setup,
						test_teardown),
		cmocka_unit_test_setup_teardown(test_reply_check, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_reply_signing, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_reply_codes, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_reply_mppe, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_reply_large_eap_split, test_setup,
						test_teardown),
		cmocka_unit_test_setup_teardown(test_reply_oversized, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_reply_long_attribute_refused, test_setup,
						test_teardown),
		cmocka_unit_test_setup_teardown(test_reply_many_attributes_not_dropped, test_setup,
						test_teardown),
		cmocka_unit_test_setup_teardown(test_pairs_parse, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_describe_request_redacts, test_setup,
						test_teardown),
		cmocka_unit_test_setup_teardown(test_describe_reply_redacts, test_setup,
						test_teardown),
		cmocka_unit_test_setup_teardown(test_describe_reply_tunnel_password, test_setup,
						test_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
