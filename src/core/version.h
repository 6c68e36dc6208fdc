/* version.h - the version studiod reports (studiod version, /metrics). */
#ifndef STUDIOD_VERSION_H
#define STUDIOD_VERSION_H

#ifndef STUDIOD_VERSION
#define STUDIOD_VERSION "0.1.0"
#endif

#endif
