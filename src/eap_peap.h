/*
 * eap_peap.h - PEAPv0 (MS-PEAP; draft-kamath-pppext-peapv0) with inner EAP-MSCHAPv2 and GTC.
 */
#ifndef KAGI_EAP_PEAP_H
#define KAGI_EAP_PEAP_H

#include "eap.h"

extern const struct eap_method eap_method_peap;

#endif
