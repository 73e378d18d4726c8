/* Empty: Debian ships no automask.h, but freeradius/autoconf.h includes it. */
