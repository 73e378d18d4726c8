/*
 * fuzz_tls_frame.c - libFuzzer target: a sequence of EAP-TLS Responses (each prefixed by a
 * 2-byte length) through EAP packet checks and the RFC 5216 fragment reassembly, with a small
 * message cap. Checks the invariants: never more buffered than the cap or the announced length.
 */
#include "eap.h"
#include "eap_tls_common.h"

#include <stdlib.h>
#include <talloc.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct tls_frame f;
	size_t off = 0;
	unsigned rounds = 0;

	tls_frame_init(&f, 1024, 0, 8192);
	while (off + 2 <= size && rounds++ < 100) {
		size_t len = ((size_t)data[off] << 8) | data[off + 1], elen;
		const char *reason = NULL;
		uint8_t flags;
		enum frame_rx rx;

		off += 2;
		if (len > size - off)
			len = size - off;
		if (eap_packet_check(data + off, len, &elen) == NULL) {
			rx = tls_frame_receive(ctx, &f, data + off + 5, elen - 5, &flags, &reason);
			if (f.in_len > f.max_msg || (f.in_total && f.in_len > f.in_total))
				abort();
			if (rx == FRAME_RX_ERROR && !reason)
				abort();
			if (rx == FRAME_RX_COMPLETE)
				tls_frame_consumed(&f);
			if (rx == FRAME_RX_ERROR)
				break;
		}
		off += len;
	}
	talloc_free(ctx);
	return 0;
}
