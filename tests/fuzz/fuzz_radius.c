/*
 * fuzz_radius.c - libFuzzer target: arbitrary datagrams through the receive-side codec
 * (frame check, Message-Authenticator, decode, attribute accessors). When the input has a
 * well-formed Message-Authenticator slot, the fuzzer fixes it up so the decoder is reached. The
 * same input is also tried as a reply to a request of ours (fuzz_reply).
 */
#include "codec.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#define SECRET "fuzz-secret-0123456789"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fix_ma(uint8_t *buf, size_t len)
{
	size_t off = 20, plen;
	unsigned int mdlen = 16;

	if (len < 20)
		return;
	plen = ((size_t)buf[2] << 8) | buf[3];
	if (plen > len)
		return;
	while (off + 2 <= plen) {
		size_t alen = buf[off + 1];

		if (alen < 2 || off + alen > plen)
			return;
		if (buf[off] == 80 && alen == 18) {
			memset(buf + off + 2, 0, 16);
			HMAC(EVP_md5(), SECRET, strlen(SECRET), buf, plen, buf + off + 2, &mdlen);
			return;
		}
		off += alen;
	}
}

/*
 * Every top-level attribute the decoder reports must be one the packet carries at an attribute
 * boundary: a decoder that loses its place (libfreeradius 3.2.1 after an empty
 * NAS-Filter-Rule) reports attributes spelled by another attribute's value.
 */
static void
check_no_smuggled(const struct codec_request *req, const uint8_t *buf, size_t plen)
{
	bool present[256] = {false};
	size_t off;
	unsigned a;

	for (off = 20; off + 2 <= plen && buf[off + 1] >= 2; off += buf[off + 1])
		present[buf[off]] = true;
	for (a = 1; a < 256; a++)
		if (codec_request_has(req, a) && !present[a])
			abort();
}

/*
 * The NAS side (kagi test, kagi bench facing a hostile server): the input as a reply to one
 * request of ours, its Identifier, Message-Authenticator and Response Authenticator fixed up
 * so that the decoder and the MPPE key parser are reached.
 */
static void
fuzz_reply(const uint8_t *data, size_t size)
{
	static struct codec_out *o;
	uint8_t buf[CODEC_MAX_PACKET], keys[2][32];
	const uint8_t *out;
	unsigned int mdlen = 16;
	size_t plen, outlen;
	char err[256];
	TALLOC_CTX *ctx;
	struct codec_request *r;
	EVP_MD_CTX *md;

	if (!o) {
		o = codec_out_new(NULL, CODEC_ACCESS_REQUEST, 7);
		if (!o || codec_out_add(o, 1, 0, "alice", 5) < 0 ||
		    codec_out_encode(o, SECRET, &out, &outlen, err, sizeof(err)) < 0)
			abort();
	}
	if (size < 20 || size > sizeof(buf))
		return;
	memcpy(buf, data, size);
	plen = ((size_t)buf[2] << 8) | buf[3];
	if (plen < 20 || plen > size)
		return;
	buf[1] = 7;
	memcpy(buf + 4, codec_out_vector(o), 16);
	fix_ma(buf, plen);
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestInit_ex(md, EVP_md5(), NULL) != 1 ||
	    EVP_DigestUpdate(md, buf, plen) != 1 ||
	    EVP_DigestUpdate(md, SECRET, strlen(SECRET)) != 1 ||
	    EVP_DigestFinal_ex(md, buf + 4, &mdlen) != 1)
		abort();
	EVP_MD_CTX_free(md);
	ctx = talloc_new(NULL);
	r = codec_reply_check(ctx, o, buf, plen, SECRET, NULL, err, sizeof(err));
	if (r) {
		check_no_smuggled(r, buf, plen);
		codec_reply_mppe(buf, plen, o, SECRET, keys[0], keys[1]);
	}
	talloc_free(ctx);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	uint8_t buf[CODEC_MAX_PACKET];
	char err[256];
	size_t plen = 0, n;
	TALLOC_CTX *ctx;
	struct codec_request *req;

	if (!ready) {
		if (codec_init("/usr/share/freeradius", false, err, sizeof(err)) < 0)
			abort();
		ready = 1;
	}
	if (size > sizeof(buf))
		return 0;
	fuzz_reply(data, size);
	memcpy(buf, data, size);
	codec_check_raw(buf, size, SECRET, &plen);
	fix_ma(buf, size);
	if (codec_check_raw(buf, size, SECRET, &plen) != CODEC_RAW_OK)
		return 0;
	ctx = talloc_new(NULL);
	req = codec_request_decode(ctx, buf, plen, SECRET, err, sizeof(err));
	if (req) {
		char s[64];
		struct codec_reply *rep;
		const uint8_t *out;
		size_t outlen;

		codec_request_attr(req, 79, &n);
		codec_request_string(req, 1, s, sizeof(s));
		codec_request_integer(req, 12, 0);
		check_no_smuggled(req, buf, plen);
		rep = codec_reply_new(ctx, req, 11);
		if (rep)
			codec_reply_encode(rep, SECRET, &out, &outlen, err, sizeof(err));
	}
	talloc_free(ctx);
	return 0;
}
