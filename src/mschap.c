/*
 * mschap.c - MS-CHAPv2 (RFC 2759) and MPPE keys (RFC 3079). See mschap.h.
 */
#include "mschap.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Set once by mschap_init() before any thread starts; read-only afterwards. */
static OSSL_LIB_CTX *des_libctx;
static OSSL_PROVIDER *des_legacy;
static OSSL_PROVIDER *des_default;
static EVP_CIPHER *des_ecb;
static EVP_MD *md4;

int
mschap_init(char *err, size_t errlen)
{
	if (des_ecb)
		return 0;
	des_libctx = OSSL_LIB_CTX_new();
	if (!des_libctx)
		goto fail;
	des_legacy = OSSL_PROVIDER_load(des_libctx, "legacy");
	des_default = OSSL_PROVIDER_load(des_libctx, "default");
	if (!des_legacy || !des_default)
		goto fail;
	des_ecb = EVP_CIPHER_fetch(des_libctx, "DES-ECB", NULL);
	md4 = EVP_MD_fetch(des_libctx, "MD4", NULL);
	if (!des_ecb || !md4)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "cannot load MD4 and DES from OpenSSL's legacy provider (needed "
			      "for MS-CHAPv2): is the legacy module installed?");
	mschap_free();
	return -1;
}

void
mschap_free(void)
{
	EVP_CIPHER_free(des_ecb);
	des_ecb = NULL;
	EVP_MD_free(md4);
	md4 = NULL;
	if (des_legacy)
		OSSL_PROVIDER_unload(des_legacy);
	if (des_default)
		OSSL_PROVIDER_unload(des_default);
	des_legacy = des_default = NULL;
	OSSL_LIB_CTX_free(des_libctx);
	des_libctx = NULL;
}

/*
 * MD4 from the legacy provider in our private library context. (libfreeradius's fr_md4_calc
 * silently returns zeros on OpenSSL 3 unless legacy is loaded into the default context, which
 * would make legacy algorithms available to everything else.)
 */
static int
md4_digest(uint8_t out[16], const uint8_t *in, size_t len)
{
	unsigned int n = 0;

	if (!md4 || EVP_Digest(in, len, out, &n, md4, NULL) != 1 || n != 16) {
		memset(out, 0, 16);
		return -1;
	}
	return 0;
}

/* SHA-1 over a list of (pointer, length) parts, terminated by a NULL pointer. */
static void
sha1_parts(uint8_t out[20], ...)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	va_list ap;
	const void *p;

	if (!c || EVP_DigestInit_ex(c, EVP_sha1(), NULL) != 1) {
		memset(out, 0, 20);
		EVP_MD_CTX_free(c);
		return;
	}
	va_start(ap, out);
	while ((p = va_arg(ap, const void *)) != NULL) {
		size_t len = va_arg(ap, size_t);

		EVP_DigestUpdate(c, p, len);
	}
	va_end(ap);
	EVP_DigestFinal_ex(c, out, NULL);
	EVP_MD_CTX_free(c);
}

int
mschap_nt_hash(const char *password, uint8_t hash[16])
{
	/* Passwords are at most 256 characters (RFC 2759 §5). */
	uint8_t u16[2 * 2 * 256];
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)password;
	int n;

	while (*p) {
		uint32_t cp;

		if (p[0] < 0x80) {
			cp = p[0];
			n = 1;
		} else if ((p[0] & 0xe0) == 0xc0 && (p[1] & 0xc0) == 0x80) {
			cp = ((uint32_t)(p[0] & 0x1f) << 6) | (p[1] & 0x3f);
			n = 2;
		} else if ((p[0] & 0xf0) == 0xe0 && (p[1] & 0xc0) == 0x80 &&
			   (p[2] & 0xc0) == 0x80) {
			cp = ((uint32_t)(p[0] & 0x0f) << 12) | ((uint32_t)(p[1] & 0x3f) << 6) |
			     (p[2] & 0x3f);
			n = 3;
		} else if ((p[0] & 0xf8) == 0xf0 && (p[1] & 0xc0) == 0x80 &&
			   (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80) {
			cp = ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3f) << 12) |
			     ((uint32_t)(p[2] & 0x3f) << 6) | (p[3] & 0x3f);
			n = 4;
		} else {
			OPENSSL_cleanse(u16, sizeof(u16));
			return -1;
		}
		/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
		if ((n == 2 && cp < 0x80) || (n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
			OPENSSL_cleanse(u16, sizeof(u16));
			return -1;
		}
		if (o + 4 > sizeof(u16)) {
			OPENSSL_cleanse(u16, sizeof(u16));
			return -1;
		}
		if (cp >= 0x10000) {
			cp -= 0x10000;
			u16[o++] = (uint8_t)((0xd800 | (cp >> 10)) & 0xff);
			u16[o++] = (uint8_t)((0xd800 | (cp >> 10)) >> 8);
			u16[o++] = (uint8_t)((0xdc00 | (cp & 0x3ff)) & 0xff);
			u16[o++] = (uint8_t)((0xdc00 | (cp & 0x3ff)) >> 8);
		} else {
			u16[o++] = (uint8_t)(cp & 0xff);
			u16[o++] = (uint8_t)(cp >> 8);
		}
		p += n;
	}
	n = md4_digest(hash, u16, o);
	OPENSSL_cleanse(u16, sizeof(u16));
	return n;
}

void
mschap_challenge_hash(const uint8_t peer_challenge[16], const uint8_t auth_challenge[16],
		      const char *username, uint8_t out[8])
{
	uint8_t md[SHA_DIGEST_LENGTH];
	const char *user = strrchr(username, '\\');

	/* RFC 2759 §8.2: only the user name, without any domain. */
	user = user ? user + 1 : username;
	sha1_parts(md, peer_challenge, (size_t)16, auth_challenge, (size_t)16, user, strlen(user),
		   (void *)NULL);
	memcpy(out, md, 8);
}

/* DES-encrypt 8 bytes with a 7-byte key expanded to 8 with parity slots (RFC 2759 §8.6). */
static int
des_encrypt(const uint8_t clear[8], const uint8_t key7[7], uint8_t out[8])
{
	uint8_t key[8];
	EVP_CIPHER_CTX *ctx;
	int len = 0, ok;

	key[0] = key7[0];
	key[1] = (uint8_t)(key7[0] << 7 | key7[1] >> 1);
	key[2] = (uint8_t)(key7[1] << 6 | key7[2] >> 2);
	key[3] = (uint8_t)(key7[2] << 5 | key7[3] >> 3);
	key[4] = (uint8_t)(key7[3] << 4 | key7[4] >> 4);
	key[5] = (uint8_t)(key7[4] << 3 | key7[5] >> 5);
	key[6] = (uint8_t)(key7[5] << 2 | key7[6] >> 6);
	key[7] = (uint8_t)(key7[6] << 1);
	if (!des_ecb)
		return -1;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -1;
	ok = EVP_EncryptInit_ex(ctx, des_ecb, NULL, key, NULL) == 1 &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	     EVP_EncryptUpdate(ctx, out, &len, clear, 8) == 1 && len == 8;
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_cleanse(key, sizeof(key));
	return ok ? 0 : -1;
}

int
mschap_nt_response(const uint8_t auth_challenge[16], const uint8_t peer_challenge[16],
		   const char *username, const uint8_t nt_hash[16], uint8_t response[24])
{
	uint8_t challenge[8], z[21];
	int r;

	mschap_challenge_hash(peer_challenge, auth_challenge, username, challenge);
	memset(z, 0, sizeof(z));
	memcpy(z, nt_hash, 16);
	r = des_encrypt(challenge, z, response) | des_encrypt(challenge, z + 7, response + 8) |
	    des_encrypt(challenge, z + 14, response + 16);
	OPENSSL_cleanse(z, sizeof(z));
	return r ? -1 : 0;
}

void
mschap_auth_response(const uint8_t nt_hash[16], const uint8_t nt_response[24],
	      const uint8_t peer_challenge[16], const uint8_t auth_challenge[16],
	      const char *username, char out[43])
{
	static const uint8_t magic1[39] = "Magic server to client signing constant";
	static const uint8_t magic2[41] = "Pad to make it do more than one iteration";
	uint8_t hh[16], digest[SHA_DIGEST_LENGTH], challenge[8];
	int i;

	md4_digest(hh, nt_hash, 16);
	sha1_parts(digest, hh, (size_t)16, nt_response, (size_t)24, magic1, sizeof(magic1),
		   (void *)NULL);
	mschap_challenge_hash(peer_challenge, auth_challenge, username, challenge);
	sha1_parts(digest, digest, sizeof(digest), challenge, (size_t)8, magic2, sizeof(magic2),
		   (void *)NULL);
	out[0] = 'S';
	out[1] = '=';
	for (i = 0; i < 20; i++)
		snprintf(out + 2 + 2 * i, 3, "%02X", digest[i]);
	OPENSSL_cleanse(hh, sizeof(hh));
}

bool
mschap_verify(const uint8_t auth_challenge[16], const uint8_t peer_challenge[16],
	      const char *username, const uint8_t nt_hash[16], const uint8_t response[24],
	      char auth_resp[43])
{
	uint8_t expected[24];
	bool ok;

	if (mschap_nt_response(auth_challenge, peer_challenge, username, nt_hash, expected) < 0)
		return false;
	ok = CRYPTO_memcmp(expected, response, 24) == 0;
	OPENSSL_cleanse(expected, sizeof(expected));
	if (ok)
		mschap_auth_response(nt_hash, response, peer_challenge, auth_challenge, username,
				     auth_resp);
	return ok;
}

void
mschap_master_key(const uint8_t password_hash_hash[16], const uint8_t nt_response[24],
		  uint8_t master_key[16])
{
	static const uint8_t magic1[27] = "This is the MPPE Master Key";
	uint8_t digest[SHA_DIGEST_LENGTH];

	sha1_parts(digest, password_hash_hash, (size_t)16, nt_response, (size_t)24, magic1,
		   sizeof(magic1), (void *)NULL);
	memcpy(master_key, digest, 16);
	OPENSSL_cleanse(digest, sizeof(digest));
}

void
mschap_asymmetric_start_key(const uint8_t master_key[16], uint8_t *key, size_t keylen,
			    bool is_send, bool is_server)
{
	static const uint8_t magic2[84] =
		"On the client side, this is the send key; on the server side, it is the "
		"receive key.";
	static const uint8_t magic3[84] =
		"On the client side, this is the receive key; on the server side, it is the "
		"send key.";
	uint8_t pad1[40], pad2[40], digest[SHA_DIGEST_LENGTH];
	const uint8_t *s;

	memset(pad1, 0x00, sizeof(pad1));
	memset(pad2, 0xf2, sizeof(pad2));
	if (is_send)
		s = is_server ? magic3 : magic2;
	else
		s = is_server ? magic2 : magic3;
	sha1_parts(digest, master_key, (size_t)16, pad1, sizeof(pad1), s, (size_t)84, pad2,
		   sizeof(pad2), (void *)NULL);
	memcpy(key, digest, keylen > sizeof(digest) ? sizeof(digest) : keylen);
	OPENSSL_cleanse(digest, sizeof(digest));
}

void
mschap_mppe_keys(const uint8_t nt_hash[16], const uint8_t nt_response[24], uint8_t send_key[16],
		 uint8_t recv_key[16])
{
	uint8_t hh[16], master[16];

	md4_digest(hh, nt_hash, 16);
	mschap_master_key(hh, nt_response, master);
	mschap_asymmetric_start_key(master, send_key, 16, true, true);
	mschap_asymmetric_start_key(master, recv_key, 16, false, true);
	OPENSSL_cleanse(hh, sizeof(hh));
	OPENSSL_cleanse(master, sizeof(master));
}
