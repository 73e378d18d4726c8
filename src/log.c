/*
 * log.c - diagnostic log. The verbosity and destination are process-wide, set once in main()
 * before anything else runs, like hostapd's wpa_debug_level.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

static bool log_debug_on;
static bool log_to_syslog;

void
log_init(bool debug, bool use_syslog)
{
	log_debug_on = debug;
	log_to_syslog = use_syslog;
	if (use_syslog)
		openlog("kagid", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

bool
log_debug_enabled(void)
{
	return log_debug_on;
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *const names[] = {"Error", "Warning", "Info", "Debug"};
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);

	if (log_to_syslog) {
		syslog(prio[lvl], "%s", buf);
		return;
	}
	if (log_debug_on) {
		struct timespec ts;
		struct tm tm;
		char tbuf[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
		fprintf(stderr, "(%s.%03ld) %s: %s\n", tbuf, ts.tv_nsec / 1000000, names[lvl], buf);
	} else {
		fprintf(stderr, "%s: %s\n", names[lvl], buf);
	}
}
