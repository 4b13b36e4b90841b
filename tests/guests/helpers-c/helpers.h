/* What helpers.bpf.c and helpers.c share. */
#ifndef __HELPERS_H
#define __HELPERS_H

#define MAX_ENTRIES 1024

#endif
