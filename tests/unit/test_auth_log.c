/*
 * test_auth_log.c - unit tests for src/auth_log.c: every line is one JSON object that parses back
 * to the record's values, in field order, whatever bytes the record carries (invalid UTF-8,
 * control characters, quotes) and however long it is (lines beyond the stack buffer).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth_log.h"

#include <jansson.h>
#include <string.h>
#include <talloc.h>

static struct auth_record
sample(void)
{
	struct auth_record r = {
		.client = "ap1",
		.nas = "192.0.2.7",
		.calling_station_id = "02-00-00-00-00-01",
		.identity = "alice@example.org",
		.method = "TLS",
		.tls_version = "TLSv1.3",
		.resumed = true,
		.cert_subject = "CN=alice@example.org,O=Example",
		.cert_issuer = "CN=Example CA",
		.cert_serial = "1A2B",
		.result = "accept",
		.reason = "client certificate valid",
		.rounds = 4,
		.ms = 17,
	};

	return r;
}

static json_t *
parse(const char *line)
{
	json_error_t e;
	json_t *o;

	assert_non_null(line);
	assert_null(strchr(line, '\n'));
	o = json_loads(line, 0, &e);
	if (!o)
		fail_msg("not JSON (%s): %s", e.text, line);
	assert_true(json_is_object(o));
	return o;
}

static const char *
field(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		fail_msg("no field %s", key);
	return json_is_null(v) ? NULL : json_string_value(v);
}

static void
test_format_fields(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct auth_record r = sample();
	char *line = auth_log_format(ctx, &r);
	json_t *o = parse(line);
	const char *key;
	json_t *v;
	size_t i = 0;
	static const char *const order[] = {"time",	 "client",	 "nas",
					    "calling_station_id",	 "identity",
					    "method",	 "tls_version",	 "resumed",
					    "cert_subject", "cert_issuer", "cert_serial",
					    "result",	 "reason",	 "rounds",
					    "ms"};

	(void)state;
	/* Compact, in the documented order, nothing extra (no outer or inner method here). */
	assert_null(strstr(line, ": "));
	json_object_foreach (o, key, v) {
		assert_true(i < sizeof(order) / sizeof(order[0]));
		assert_string_equal(key, order[i]);
		i++;
	}
	assert_int_equal(i, sizeof(order) / sizeof(order[0]));
	assert_string_equal(field(o, "identity"), "alice@example.org");
	assert_string_equal(field(o, "cert_subject"), "CN=alice@example.org,O=Example");
	assert_true(json_is_true(json_object_get(o, "resumed")));
	assert_int_equal(json_integer_value(json_object_get(o, "rounds")), 4);
	assert_int_equal(json_integer_value(json_object_get(o, "ms")), 17);
	/* 2026-12-03T17:06:40.123Z */
	assert_int_equal(strlen(field(o, "time")), 24);
	assert_int_equal(field(o, "time")[23], 'Z');
	json_decref(o);

	/* Absent values are null; the optional fields appear when set. */
	r.calling_station_id = NULL;
	r.outer_identity = "anonymous@example.org";
	r.inner_method = "MSCHAPv2";
	r.resumed = false;
	line = auth_log_format(ctx, &r);
	o = parse(line);
	assert_true(json_is_null(json_object_get(o, "calling_station_id")));
	assert_string_equal(field(o, "outer_identity"), "anonymous@example.org");
	assert_string_equal(field(o, "inner_method"), "MSCHAPv2");
	assert_true(json_is_false(json_object_get(o, "resumed")));
	json_decref(o);
	talloc_free(ctx);
}

static void
test_format_hostile_bytes(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct auth_record r = sample();
	json_t *o;

	(void)state;
	/* Invalid UTF-8 is escaped as text; quotes and control characters by JSON itself. */
	r.identity = "bob\xff\xfe@example.org";
	r.reason = "say \"hi\"\nnext line\tand a tab";
	r.cert_subject = "CN=\xc3\xa9milie"; /* valid UTF-8 stays as is */
	o = parse(auth_log_format(ctx, &r));
	assert_string_equal(field(o, "identity"), "bob\\xff\\xfe@example.org");
	assert_string_equal(field(o, "reason"), "say \"hi\"\nnext line\tand a tab");
	assert_string_equal(field(o, "cert_subject"), "CN=\xc3\xa9milie");
	json_decref(o);
	talloc_free(ctx);
}

static void
test_format_long_line(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct auth_record r = sample();
	char *subject = talloc_array(ctx, char, 3001), *issuer = talloc_array(ctx, char, 1501);
	char *line;
	json_t *o;

	(void)state;
	/* Longer than any stack buffer a formatter might use: still whole and exact. */
	memset(subject, 'S', 3000);
	subject[3000] = '\0';
	memset(issuer, '"', 1500); /* each one escaped: 3000 octets of output */
	issuer[1500] = '\0';
	r.cert_subject = subject;
	r.cert_issuer = issuer;
	line = auth_log_format(ctx, &r);
	assert_true(strlen(line) > 6000);
	o = parse(line);
	assert_string_equal(field(o, "cert_subject"), subject);
	assert_string_equal(field(o, "cert_issuer"), issuer);
	assert_string_equal(field(o, "result"), "accept");
	json_decref(o);
	assert_ptr_equal(talloc_parent(line), ctx);
	talloc_free(ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_fields),
		cmocka_unit_test(test_format_hostile_bytes),
		cmocka_unit_test(test_format_long_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
