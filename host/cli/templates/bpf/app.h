/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef {{IDENT}}_H
#define {{IDENT}}_H

#define TASK_COMM_LEN 16
#define MAX_FILENAME_LEN 127

/* One exec(2), as the kernel half sends it to user space. */
struct event {
	int pid;
	int ppid;
	char comm[TASK_COMM_LEN];
	char filename[MAX_FILENAME_LEN];
};

#endif /* {{IDENT}}_H */
