/*
 * eap_tls.h - the EAP-TLS method (RFC 5216; RFC 9190 for TLS 1.3).
 */
#ifndef KAGI_EAP_TLS_H
#define KAGI_EAP_TLS_H

#include "eap.h"

extern const struct eap_method eap_method_tls;

#endif
