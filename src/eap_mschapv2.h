/*
 * eap_mschapv2.h - EAP-MSCHAPv2 (draft-kamath-pppext-eap-mschapv2, RFC 2759), the inner
 * method of PEAP and of EAP-TTLS/EAP.
 */
#ifndef KAGI_EAP_MSCHAPV2_H
#define KAGI_EAP_MSCHAPV2_H

#include "eap.h"

extern const struct eap_method eap_method_mschapv2;

/* MS-CHAPv2 error codes (RFC 2759 §6). */
#define MSCHAP_E_AUTHENTICATION_FAILURE 691
#define MSCHAP_E_ACCT_DISABLED 647

#endif
