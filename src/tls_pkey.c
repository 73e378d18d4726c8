/*
 * tls_pkey.c - decode the public keys in received certificates without OpenSSL 3.0's decoder
 * search. See tls_pkey.h.
 *
 * Why: every d2i_X509 in OpenSSL 3.0 opportunistically decodes the certificate's public key, and
 * unless an ENGINE claims the key type it does so with OSSL_DECODER_CTX_new_for_pkey, which walks
 * every key manager and decoder of the library context on each call (3.2 caches this; 3.0 does
 * not). In kagid that search was 15% of the CPU of a full EAP-TLS handshake (perf, RSA-2048,
 * TLS 1.2): more than the ECDHE key exchange and the certificate-chain check together.
 *
 * How: OpenSSL's x509_pubkey_decode takes its older, direct path (the key type's own
 * SubjectPublicKeyInfo decoder) when an ENGINE is registered for the key type. We register one
 * that implements RSA and EC with OpenSSL's own built-in EVP_PKEY_METHODs, so no algorithm changes
 * hands: RSA and EC keys decoded from then on (the server's own key too) are OpenSSL's "legacy"
 * keys, whose methods call the same RSA/EC code as the default provider (blinding and
 * constant-time paths included) - only the decoder search is skipped.
 *
 * ENGINE is deprecated in OpenSSL 3, hence the warning suppression below; the function is a no-op
 * where OpenSSL has no ENGINE support or already caches decoders.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "tls_pkey.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#ifndef OPENSSL_NO_ENGINE
#include <openssl/engine.h>
#endif
#include <pthread.h>

#ifndef OPENSSL_NO_ENGINE
static const int pkey_nids[] = {EVP_PKEY_RSA, EVP_PKEY_EC};
#define PKEY_NIDS ((int)(sizeof(pkey_nids) / sizeof(pkey_nids[0])))

/* ENGINE_PKEY_METHS_PTR: list our key types, or give OpenSSL's built-in method for one. */
static int
pkey_meths(ENGINE *e, EVP_PKEY_METHOD **pmeth, const int **nids, int nid)
{
	(void)e;
	if (pmeth == NULL) {
		*nids = pkey_nids;
		return PKEY_NIDS;
	}
	for (int i = 0; i < PKEY_NIDS; i++) {
		if (nid == pkey_nids[i]) {
			*pmeth = (EVP_PKEY_METHOD *)EVP_PKEY_meth_find(nid);
			return *pmeth != NULL;
		}
	}
	*pmeth = NULL;
	return 0;
}

static bool registered;

static void
register_once(void)
{
	/* 3.2 and later cache the decoder search: nothing to gain there. */
	if (OPENSSL_version_major() != 3 || OPENSSL_version_minor() >= 2)
		return;
	for (int i = 0; i < PKEY_NIDS; i++) {
		if (EVP_PKEY_meth_find(pkey_nids[i]) == NULL)
			return;
	}
	ENGINE *e = ENGINE_new();
	if (e == NULL)
		return;
	/* ENGINE_add keeps the engine alive in OpenSSL's list; the table refers to it. */
	if (ENGINE_set_id(e, "kagi-pkey") && ENGINE_set_name(e, "kagi: built-in RSA/EC methods") &&
	    ENGINE_set_pkey_meths(e, pkey_meths) && ENGINE_add(e) && ENGINE_register_pkey_meths(e))
		registered = true;
	ENGINE_free(e);
}
#endif

bool
tls_pkey_fast_decode(void)
{
#ifndef OPENSSL_NO_ENGINE
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, register_once);
	return registered;
#else
	return false;
#endif
}
