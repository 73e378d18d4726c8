/*
 * log.h - the daemon's diagnostic log (stderr in the foreground, syslog as a daemon).
 *
 * Only the server layer logs; library layers return error strings. The authentication log
 * (one JSON line per authentication) is separate: see auth_log.h.
 */
#ifndef KAGI_LOG_H
#define KAGI_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LVL_ERROR,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

/* log_init - choose the destination and verbosity once at start-up. */
void log_init(bool debug, bool use_syslog);
bool log_debug_enabled(void);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_debug_enabled())                                                           \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__);                                       \
	} while (0)

#endif
