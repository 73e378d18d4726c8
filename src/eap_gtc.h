/*
 * eap_gtc.h - EAP-GTC (RFC 3748 §5.6) carrying a password, inside PEAP or TTLS only.
 */
#ifndef KAGI_EAP_GTC_H
#define KAGI_EAP_GTC_H

#include "eap.h"

extern const struct eap_method eap_method_gtc;

#endif
