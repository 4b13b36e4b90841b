/* The component's entry point. A C guest is a WASI reactor (a command's
 * exports would run its constructors and destructors around every call);
 * this export runs the program's own main() once, as a command would. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "bpf_app.h"

/* wasi-libc's: reads the arguments and calls main(), whichever signature
 * main() has. */
int __main_void(void);

bool exports_wasi_cli_run_run(void)
{
	/* Line by line, as on a terminal: wasi-libc buffers a file or pipe
	 * fully, and a guest stopped at the end of its grace period would
	 * lose all it printed. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* exit() flushes stdio and reports the status to the host. */
	exit(__main_void());
}
