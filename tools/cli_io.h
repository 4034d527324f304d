/* cli_io.h - output files of the `tessel` subcommands.
 *
 * Every file a subcommand writes goes through tsl_cli_write_file_atomic: the
 * bytes go to a temporary file next to the destination, which is renamed over
 * it only once everything was written and flushed, so a failure never leaves
 * a partial or truncated file behind.  Errors are printed here (tools/ only)
 * in the one-line format, naming the destination path.
 *
 * Not here: choosing file names, serializing content. */
#ifndef TESSEL_CLI_IO_H
#define TESSEL_CLI_IO_H

#include <stdbool.h>
#include <stddef.h>

/* Write data[0..len) to `path` atomically (mode 0666 minus umask).  On
 * failure prints "tessel: error: <path>: <reason>", removes the temporary
 * file and returns false; `path` is then untouched. */
bool tsl_cli_write_file_atomic(const char *path, const void *data, size_t len);

/* mkdir -p DIR (each missing component created 0777 & umask); false with
 * the error printed when a component cannot be created or is not a
 * directory. */
bool tsl_cli_make_dir(const char *dir);

#endif
