/*
 * eap_ttls.h - EAP-TTLSv0 (RFC 5281; RFC 9427 for TLS 1.3) with inner PAP, MS-CHAPv2 and EAP.
 */
#ifndef KAGI_EAP_TTLS_H
#define KAGI_EAP_TTLS_H

#include "eap.h"

extern const struct eap_method eap_method_ttls;

#endif
