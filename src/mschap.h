/*
 * mschap.h - MS-CHAPv2 (RFC 2759) server-side computations and the MPPE key derivation of
 * RFC 3079, for PEAP/EAP-MSCHAPv2 and EAP-TTLS. Pure functions over byte buffers.
 *
 * MD4 comes from libfreeradius (OpenSSL 3's default provider has none); DES from OpenSSL's
 * legacy provider, loaded into a private library context by mschap_init().
 */
#ifndef KAGI_MSCHAP_H
#define KAGI_MSCHAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* mschap_init - load the DES implementation once at start-up. 0, or -1 with err set. */
int mschap_init(char *err, size_t errlen);
void mschap_free(void);

/* NtPasswordHash: MD4 of the UTF-16LE password (RFC 2759 §8.3). -1 if not valid UTF-8. */
int mschap_nt_hash(const char *password, uint8_t hash[16]);

/* ChallengeHash (RFC 2759 §8.2): SHA1(PeerChallenge|AuthenticatorChallenge|UserName)[0..7]. */
void mschap_challenge_hash(const uint8_t peer_challenge[16], const uint8_t auth_challenge[16],
			   const char *username, uint8_t out[8]);

/* GenerateNTResponse from the NT hash (RFC 2759 §8.1). 0 or -1. */
int mschap_nt_response(const uint8_t auth_challenge[16], const uint8_t peer_challenge[16],
		       const char *username, const uint8_t nt_hash[16], uint8_t response[24]);

/*
 * mschap_verify - check a peer's NT-Response against the NT hash (constant time). On success
 * fills the 42-character authenticator response "S=..." (RFC 2759 §8.7, NUL-terminated).
 */
bool mschap_verify(const uint8_t auth_challenge[16], const uint8_t peer_challenge[16],
		   const char *username, const uint8_t nt_hash[16], const uint8_t response[24],
		   char auth_response[43]);

/* mschap_auth_response - GenerateAuthenticatorResponse (RFC 2759 §8.7), "S=<40 hex>". */
void mschap_auth_response(const uint8_t nt_hash[16], const uint8_t nt_response[24],
			  const uint8_t peer_challenge[16], const uint8_t auth_challenge[16],
			  const char *username, char out[43]);

/*
 * mschap_mppe_keys - RFC 3079 §3.4 128-bit server keys: send_key and recv_key as seen by the
 * authenticator (IsServer = TRUE), 16 bytes each.
 */
void mschap_mppe_keys(const uint8_t nt_hash[16], const uint8_t nt_response[24],
		      uint8_t send_key[16], uint8_t recv_key[16]);

/* Internal steps, exposed for the RFC test vectors. */
void mschap_master_key(const uint8_t password_hash_hash[16], const uint8_t nt_response[24],
		       uint8_t master_key[16]);
void mschap_asymmetric_start_key(const uint8_t master_key[16], uint8_t *key, size_t keylen,
				 bool is_send, bool is_server);

#endif
