/* POSIX calls libbpf-tools make that wasi-libc leaves out, declared by the
 * SDK's <unistd.h>, <stdlib.h> and <stdio.h>; pause() is in stop.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int getpagesize(void)
{
	return 65536;
}

int mkostemp(char *template, int flags)
{
	static const char letters[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	size_t len = template ? strlen(template) : 0;
	unsigned char random[6];
	int attempt, fd, i;

	if (len < 6 || memcmp(template + len - 6, "XXXXXX", 6)) {
		errno = EINVAL;
		return -1;
	}
	for (attempt = 0; attempt < 100; attempt++) {
		if (getentropy(random, sizeof(random)))
			return -1;
		for (i = 0; i < 6; i++)
			template[len - 6 + i] = letters[random[i] % (sizeof(letters) - 1)];
		fd = open(template, O_RDWR | O_CREAT | O_EXCL | flags, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	memcpy(template + len - 6, "XXXXXX", 6);
	return -1;
}

int mkstemp(char *template)
{
	return mkostemp(template, 0);
}

FILE *popen(const char *command, const char *type)
{
	(void)command;
	(void)type;
	errno = ENOSYS;
	return NULL;
}

int pclose(FILE *stream)
{
	(void)stream;
	errno = EINVAL;
	return -1;
}
